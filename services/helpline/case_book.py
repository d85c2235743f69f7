"""The referrals and follow-ups read models, written inline in the transaction of the append.

Each event is applied with the domain's own ``evolve`` to the state rebuilt from the stored
document, and the document keeps the events' own data, so a referral or follow-up read here is
the one its stream folds to. Beside that data sit the fields the lists filter and page on.
Lists page by keyset (the sort key and ``_id`` of the last item, in an opaque cursor) so a page
costs the same on the thousandth page as on the first, and an item added meanwhile is neither
skipped nor shown twice.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.helpline import follow_ups, referrals
from services.helpline.follow_ups import FollowUp
from services.helpline.referrals import Answer, Referral
from shared.contracts.catalog import CATALOG
from shared.contracts.helpline import (
    FollowUpCompleted,
    FollowUpScheduled,
    ReferralClosed,
    ReferralMade,
)
from shared.errors import Invalid
from shared.eventstore.model import StoredEvent

REFERRALS = "referrals"
FOLLOW_UPS = "follow_ups"
NEWEST_FIRST = [("referred_at", DESCENDING), ("_id", DESCENDING)]
SOONEST_DUE_FIRST = [("due_on", ASCENDING), ("_id", ASCENDING)]
Document = dict[str, Any]
T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


class Referrals:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._docs = client[database][REFERRALS]

    async def ensure_indexes(self) -> None:
        await self._docs.create_index(NEWEST_FIRST)
        for field in ("partner", "status", "open", "migrant_id"):
            await self._docs.create_index([(field, ASCENDING), *NEWEST_FIRST])

    async def project(self, session: AsyncClientSession | None, stored: list[StoredEvent]) -> None:
        """The inline projection: pass as ``inline=`` to the event store's append."""
        for record in stored:
            event = CATALOG.decode(record.type, record.data)
            if not isinstance(event, ReferralMade | ReferralClosed):
                continue
            doc = await self._docs.find_one({"_id": event.referral_id}, session=session)
            referral = referrals.evolve(None if doc is None else _referral(doc), event)
            made = referral.made
            await self._docs.replace_one(
                {"_id": referral.referral_id},
                {
                    "made": made.to_data(),
                    "answers": [
                        {"outcome": a.outcome, "at": a.at, "by": a.by} for a in referral.answers
                    ],
                    "partner": made.partner,
                    "migrant_id": made.migrant_id,
                    "status": referral.status,
                    "open": referral.is_open,
                    "referred_at": made.referred_at,
                    "version": referral.version,
                },
                upsert=True,
                session=session,
            )

    async def referral(self, referral_id: str) -> Referral | None:
        doc = await self._docs.find_one({"_id": referral_id})
        return None if doc is None else _referral(doc)

    async def page(
        self,
        *,
        partner: str | None = None,
        status: str | None = None,
        is_open: bool | None = None,
        migrant_id: str | None = None,
        limit: int,
        cursor: str | None = None,
    ) -> Page[Referral]:
        """Newest referral first; ``cursor`` is the ``next_cursor`` of the previous page."""
        given = {"partner": partner, "status": status, "open": is_open, "migrant_id": migrant_id}
        query = {field: value for field, value in given.items() if value is not None}
        found, more = await _keyset(self._docs, [query], NEWEST_FIRST, limit, cursor)
        return Page([_referral(doc) for doc in found], more)


class FollowUps:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._docs = client[database][FOLLOW_UPS]

    async def ensure_indexes(self) -> None:
        await self._docs.create_index(SOONEST_DUE_FIRST)
        await self._docs.create_index([("status", ASCENDING), *SOONEST_DUE_FIRST])  # overdue
        await self._docs.create_index(
            [("assignee", ASCENDING), ("status", ASCENDING), *SOONEST_DUE_FIRST]
        )
        await self._docs.create_index([("migrant_id", ASCENDING), *SOONEST_DUE_FIRST])

    async def project(self, session: AsyncClientSession | None, stored: list[StoredEvent]) -> None:
        """The inline projection: pass as ``inline=`` to the event store's append."""
        for record in stored:
            event = CATALOG.decode(record.type, record.data)
            if not isinstance(event, FollowUpScheduled | FollowUpCompleted):
                continue
            doc = await self._docs.find_one({"_id": event.follow_up_id}, session=session)
            follow_up = follow_ups.evolve(None if doc is None else _follow_up(doc), event)
            scheduled, completed = follow_up.scheduled, follow_up.completed
            await self._docs.replace_one(
                {"_id": follow_up.follow_up_id},
                {
                    "scheduled": scheduled.to_data(),
                    "completed": None if completed is None else completed.to_data(),
                    "assignee": scheduled.assignee,
                    "migrant_id": scheduled.migrant_id,
                    "due_on": _midnight(scheduled.due_on),
                    "status": "open" if follow_up.is_open else "completed",
                    "version": follow_up.version,
                },
                upsert=True,
                session=session,
            )

    async def follow_up(self, follow_up_id: str) -> FollowUp | None:
        doc = await self._docs.find_one({"_id": follow_up_id})
        return None if doc is None else _follow_up(doc)

    async def page(
        self,
        *,
        today: date,
        overdue: bool | None = None,
        is_open: bool | None = None,
        assignee: str | None = None,
        limit: int,
        cursor: str | None = None,
    ) -> Page[FollowUp]:
        """Soonest due first. Overdue: open, due before ``today`` (the caller's UTC day)."""
        conditions: list[Document] = [{} if assignee is None else {"assignee": assignee}]
        if is_open is not None:
            conditions.append({"status": "open" if is_open else "completed"})
        start_of_today = _midnight(today)
        if overdue is True:
            conditions.append({"status": "open", "due_on": {"$lt": start_of_today}})
        elif overdue is False:
            conditions.append(
                {"$or": [{"status": "completed"}, {"due_on": {"$gte": start_of_today}}]}
            )
        found, more = await _keyset(self._docs, conditions, SOONEST_DUE_FIRST, limit, cursor)
        return Page([_follow_up(doc) for doc in found], more)


async def _keyset(
    docs: AsyncCollection[Document],
    conditions: list[Document],
    order: list[tuple[str, int]],
    limit: int,
    cursor: str | None,
) -> tuple[list[Document], str | None]:
    """One page in ``order`` (a key, then ``_id``, one direction) after ``cursor``."""
    (key, direction), _ = order
    if cursor is not None:
        at, last_id = _decode(cursor)
        after = "$gt" if direction == ASCENDING else "$lt"
        conditions = [
            *conditions,
            {"$or": [{key: {after: at}}, {key: at, "_id": {after: last_id}}]},
        ]
    query = conditions[0] if len(conditions) == 1 else {"$and": conditions}
    found = await docs.find(query).sort(order).limit(limit + 1).to_list()
    if len(found) <= limit:
        return found, None
    last = found[limit - 1]
    return found[:limit], _encode(_utc(last[key]), last["_id"])


def _referral(doc: Document) -> Referral:
    answers = tuple(Answer(a["outcome"], _utc(a["at"]), a["by"]) for a in doc["answers"])
    return Referral(ReferralMade.model_validate(doc["made"]), answers, doc["version"])


def _follow_up(doc: Document) -> FollowUp:
    completed = doc["completed"]
    return FollowUp(
        FollowUpScheduled.model_validate(doc["scheduled"]),
        None if completed is None else FollowUpCompleted.model_validate(completed),
        doc["version"],
    )


def _midnight(day: date) -> datetime:
    """BSON has no date type: a day is stored as its first instant in UTC."""
    return datetime.combine(day, time(), tzinfo=UTC)


def _encode(at: datetime, item_id: str) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{item_id}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, item_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return _utc(datetime.fromisoformat(at)), item_id
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this service gave: start again without it") from None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
