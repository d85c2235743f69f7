"""The helpline's call log: one document per call, written inline in the append's transaction.

Written with the events (ARCHITECTURE §3), so a call the API has just answered for is already
listed, and a link is refused or accepted on what the events say. The phone number and notes
stay sealed here as in the event: erasing the caller's key makes them unreadable in this
collection too, while the counts the programme reports on (direction, answered, language,
categories, services) stay readable.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.catalog import CATALOG
from shared.contracts.helpline import CallLinked, CallLogged
from shared.errors import Invalid
from shared.eventstore.model import StoredEvent

CALLS = "calls"
NEWEST_FIRST = [("started_at", DESCENDING), ("_id", DESCENDING)]
Document = dict[str, Any]


@dataclass(frozen=True)
class Page:
    items: list[Document]
    next_cursor: str | None


class CallLog:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._calls = client[database][CALLS]

    async def ensure_indexes(self) -> None:
        await self._calls.create_index(NEWEST_FIRST)
        await self._calls.create_index([("migrant_id", ASCENDING), *NEWEST_FIRST])
        await self._calls.create_index([("categories", ASCENDING), *NEWEST_FIRST])
        await self._calls.create_index([("language", ASCENDING), *NEWEST_FIRST])
        await self._calls.create_index([("stream_id", ASCENDING), ("stream_version", DESCENDING)])

    async def project(self, session: AsyncClientSession | None, stored: list[StoredEvent]) -> None:
        """The inline projection: pass as ``inline=`` to the event store's append."""
        for record in stored:
            event = CATALOG.decode(record.type, record.data)
            if isinstance(event, CallLogged):
                await self._calls.insert_one(_document(event, record), session=session)
            elif isinstance(event, CallLinked):
                await self._calls.update_one(
                    {"_id": event.call_id},
                    {
                        "$set": {
                            "migrant_id": event.migrant_id,
                            "linked_by": event.linked_by,
                            "linked_at": event.linked_at,
                            "stream_version": record.version,
                        }
                    },
                    session=session,
                )

    async def call(self, call_id: str) -> Document | None:
        return await self._calls.find_one({"_id": call_id})

    async def last_version(self, stream_id: str) -> int:
        """The stream's version when this log last wrote for it: where to start reading it."""
        doc = await self._calls.find_one(
            {"stream_id": stream_id}, {"stream_version": 1}, sort=[("stream_version", -1)]
        )
        return 0 if doc is None else int(doc["stream_version"])

    async def page(
        self,
        *,
        limit: int,
        cursor: str | None = None,
        migrant_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        category: str | None = None,
        language: str | None = None,
        direction: str | None = None,
    ) -> Page:
        """Newest call first; ``cursor`` is the ``next_cursor`` of the previous page."""
        given = {
            "migrant_id": migrant_id,
            "categories": category,
            "language": language,
            "direction": direction,
        }
        query: Document = {field: value for field, value in given.items() if value is not None}
        started: Document = {}
        if since is not None:
            started["$gte"] = since
        if until is not None:
            started["$lt"] = until
        if started:
            query["started_at"] = started
        if cursor is not None:
            at, call_id = _decode(cursor)
            query["$or"] = [
                {"started_at": {"$lt": at}},
                {"started_at": at, "_id": {"$lt": call_id}},
            ]
        found = await self._calls.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()
        items = found[:limit]
        return Page(items, _encode(items[-1]) if len(found) > limit else None)


def _document(event: CallLogged, record: StoredEvent) -> Document:
    return {
        "_id": event.call_id,
        "client_id": event.client_id,
        "subject": record.subject,
        "stream_id": record.stream_id,
        "stream_version": record.version,
        "direction": event.direction,
        "started_at": event.started_at,
        "duration_seconds": event.duration_seconds,
        "answered": event.answered,
        "language": event.language,
        "caller": event.caller,
        "migrant_id": event.migrant_id,
        "card_number": event.card_number,
        "phone": None if event.phone is None else event.phone.model_dump(),
        "categories": list(event.categories),
        "services_requested": list(event.services_requested),
        "services_provided": list(event.services_provided),
        "information_given": event.information_given,
        "notes": None if event.notes is None else event.notes.model_dump(),
        "follow_up_needed": event.follow_up_needed,
        "site": event.site,
        "logged_by": event.logged_by,
        "logged_at": record.occurred_at,
        "linked_by": None,
        "linked_at": None,
    }


def _encode(doc: Document) -> str:
    at = utc(doc["started_at"])
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{doc['_id']}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, call_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), call_id
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this service gave: start again without it") from None


def utc(moment: datetime) -> datetime:
    """MongoDB hands datetimes back without a zone; they were stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
