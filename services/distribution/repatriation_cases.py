"""The repatriation cases read model: written inline, in the transaction that appends the step.

Each event is applied with the domain's own :func:`evolve`, so a case here is the case its
stream folds to. While a case is open it carries ``open_for`` (the migrant id) under a sparse
unique index: two requests racing to open a second case for one person cannot both commit,
which the handler's look-up alone could not promise.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import DuplicateKeyError

from services.distribution.repatriation import Case, StepTaken, already_open, evolve
from shared.contracts.catalog import CATALOG
from shared.contracts.distribution import RepatriationRequested, RepatriationStepRecorded
from shared.errors import Invalid
from shared.eventstore.model import StoredEvent

CASES = "repatriation_cases"
NEWEST_FIRST = [("updated_at", DESCENDING), ("_id", DESCENDING)]
Document = dict[str, Any]


@dataclass(frozen=True)
class Page:
    items: list[Case]
    next_cursor: str | None


class RepatriationCases:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._cases = client[database][CASES]

    async def ensure_indexes(self) -> None:
        await self._cases.create_index([("migrant_id", ASCENDING), *NEWEST_FIRST])
        await self._cases.create_index([("status", ASCENDING), ("site", ASCENDING), *NEWEST_FIRST])
        await self._cases.create_index("open_for", unique=True, sparse=True)

    async def project(self, session: AsyncClientSession | None, stored: list[StoredEvent]) -> None:
        """The inline projection: pass as ``inline=`` to the event store's append."""
        for record in stored:
            event = CATALOG.decode(record.type, record.data)
            if not isinstance(event, RepatriationRequested | RepatriationStepRecorded):
                continue
            doc = await self._cases.find_one({"_id": event.case_id}, session=session)
            case = evolve(None if doc is None else _case(doc), event)
            try:
                await self._cases.replace_one(
                    {"_id": case.case_id}, _document(case), upsert=True, session=session
                )
            except DuplicateKeyError:
                # Another open case for this person committed first. The transaction is
                # aborted, so look outside it to name that case to the caller.
                open_case = await self.open_case_of(case.migrant_id)
                if open_case is None:
                    raise
                raise already_open(open_case) from None

    async def open_case_of(self, migrant_id: str) -> Case | None:
        doc = await self._cases.find_one({"open_for": migrant_id})
        return None if doc is None else _case(doc)

    async def case(self, case_id: str) -> Case | None:
        doc = await self._cases.find_one({"_id": case_id})
        return None if doc is None else _case(doc)

    async def page(
        self,
        *,
        status: str | None = None,
        site: str | None = None,
        migrant_id: str | None = None,
        limit: int,
        cursor: str | None = None,
    ) -> Page:
        """Newest update first; ``cursor`` is the ``next_cursor`` of the previous page."""
        given = {"status": status, "site": site, "migrant_id": migrant_id}
        query: Document = {field: value for field, value in given.items() if value is not None}
        if cursor is not None:
            at, case_id = _decode(cursor)
            query["$or"] = [
                {"updated_at": {"$lt": at}},
                {"updated_at": at, "_id": {"$lt": case_id}},
            ]
        found = await self._cases.find(query).sort(NEWEST_FIRST).limit(limit + 1).to_list()
        items = [_case(doc) for doc in found[:limit]]
        more = len(found) > limit
        return Page(items, _encode(items[-1]) if more else None)


def _document(case: Case) -> Document:
    doc: Document = {
        "migrant_id": case.migrant_id,
        "destination_country": case.destination_country,
        "site": case.site,
        "status": case.status,
        "steps": [
            {
                "step": s.step,
                "at": s.at,
                "by": s.by,
                "with_authority": s.with_authority,
                "reason": s.reason,
            }
            for s in case.steps
        ],
        "opened_at": case.opened_at,
        "updated_at": case.updated_at,
        "version": case.version,
    }
    if case.is_open:
        doc["open_for"] = case.migrant_id
    return doc


def _case(doc: Document) -> Case:
    steps = tuple(
        StepTaken(s["step"], _utc(s["at"]), s["by"], s["with_authority"], s["reason"])
        for s in doc["steps"]
    )
    return Case(
        doc["_id"],
        doc["migrant_id"],
        doc["destination_country"],
        doc["site"],
        steps,
        doc["version"],
    )


def _encode(case: Case) -> str:
    return base64.urlsafe_b64encode(
        f"{case.updated_at.isoformat()}|{case.case_id}".encode()
    ).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, case_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), case_id
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this service gave: start again without it") from None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
