"""Every event of every service, kept by the people it concerns: what an auditor reads when
asked for one person's whole history (``GET /audit/subjects/{id}``).

Built from the topics alone, like every view here. Personal data stays as it travelled:
sealed. It is never decrypted here; the answer says only that a value is encrypted, or, once
the person was erased, that it is erased (their key no longer exists anywhere).
"""

from __future__ import annotations

import base64
import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

import shared.contracts
from shared.contracts.base import Event
from shared.contracts.catalog import CATALOG
from shared.contracts.registry import MigrantErased
from shared.errors import Invalid
from shared.messaging.consumer import Projector
from shared.messaging.envelope import Envelope

TRAIL = "audit_trail"
ERASED = "audit_erased"
PERSON_FIELDS = ("migrant_id", "survivor_id", "absorbed_id")
"""Fields of an event's data that name a person it concerns, besides its subject."""
PEOPLE_LIST_FIELDS = ("subjects", "migrant_ids")
SEALED_KEYS = frozenset({"alg", "kid", "iv", "ct"})

for _module in pkgutil.iter_modules(shared.contracts.__path__):  # every type, registered
    importlib.import_module(f"{shared.contracts.__name__}.{_module.name}")


@dataclass(frozen=True)
class TrailPage:
    events: list[dict[str, Any]]
    erased: bool
    next_cursor: str | None


class AuditTrail:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._trail = client[database][TRAIL]
        self._erased = client[database][ERASED]

    async def ensure_indexes(self) -> None:
        await self._trail.create_index([("people", ASCENDING), ("_id", ASCENDING)])

    def projectors(self) -> dict[str, Projector]:
        """One for every published event type: an auditor's history leaves nothing out."""
        return {event_class.ce_type(): self.on_event for event_class in CATALOG}

    async def on_event(self, envelope: Envelope, event: Event, session: AsyncClientSession) -> None:
        await self._trail.insert_one(
            {
                "_id": envelope.id,
                "people": sorted(people_in(envelope)),
                "subject": envelope.subject,
                "type": envelope.type,
                "source": envelope.source,
                "time": envelope.time,
                "sequence": envelope.sequence,
                "actor": envelope.actor,
                "site": envelope.site,
                "correlation_id": envelope.correlation_id,
                "data": envelope.data,
            },
            session=session,
        )
        if isinstance(event, MigrantErased):
            await self._erased.update_one(
                {"_id": event.migrant_id}, {"$set": {"at": event.erased_at}}, upsert=True
            )

    async def history(self, person: str, *, limit: int, cursor: str | None) -> TrailPage:
        query: dict[str, Any] = {"people": person}
        if cursor is not None:
            query["_id"] = {"$gt": _unpack(cursor)}
        docs = await self._trail.find(query, sort=[("_id", ASCENDING)], limit=limit + 1).to_list()
        erased_ids = {doc["_id"] async for doc in self._erased.find({}, {"_id": 1})}
        shown = [_shown(doc, erased_ids) for doc in docs[:limit]]
        more = len(docs) > limit
        return TrailPage(
            events=shown,
            erased=person in erased_ids,
            next_cursor=_pack(docs[limit - 1]["_id"]) if more else None,
        )


def people_in(envelope: Envelope) -> set[str]:
    people = {envelope.subject}
    for name in PERSON_FIELDS:
        if isinstance(value := envelope.data.get(name), str):
            people.add(value)
    for name in PEOPLE_LIST_FIELDS:
        values = envelope.data.get(name)
        if isinstance(values, list):
            people.update(v for v in values if isinstance(v, str))
    return people


def _shown(doc: dict[str, Any], erased_ids: set[str]) -> dict[str, Any]:
    return {
        "event_id": doc["_id"],
        "type": doc["type"],
        "service": doc["source"].rsplit("/", 1)[-1],
        "time": doc["time"],
        "version": doc["sequence"],
        "subject": doc["subject"],
        "actor": doc["actor"],
        "site": doc["site"],
        "correlation_id": doc["correlation_id"],
        "data": _masked(doc["data"], erased_ids),
    }


def _masked(value: Any, erased_ids: set[str]) -> Any:
    """Sealed values as encrypted or erased, never their ciphertext; the rest as it was."""
    if isinstance(value, dict):
        if value.keys() == SEALED_KEYS:
            state = "erased" if value["kid"] in erased_ids else "encrypted"
            return {"personal_data": state, "kid": value["kid"]}
        return {key: _masked(item, erased_ids) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item, erased_ids) for item in value]
    return value


def _pack(event_id: str) -> str:
    return base64.urlsafe_b64encode(event_id.encode()).decode()


def _unpack(cursor: str) -> str:
    try:
        event_id = base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        event_id = ""
    if not event_id:
        raise Invalid("cursor is not one this service gave: start again without it")
    return event_id
