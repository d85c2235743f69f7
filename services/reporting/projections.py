"""Read models built from the event stream alone; each projection answers one query.

Every write goes through the consumer's session, in the same transaction as its tracking
record, so a redelivered event changes nothing.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.registry import MigrantRegistered
from shared.messaging.envelope import Envelope

REGISTRATIONS = "registrations_by_site_sex"


class RegistrationCounts:
    """How many people registered, by site and sex."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._collection = client[database][REGISTRATIONS]

    async def on_migrant_registered(
        self, envelope: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, MigrantRegistered)
        await self._collection.update_one(
            {"_id": f"{event.site}|{event.sex}"},
            {"$inc": {"count": 1}, "$setOnInsert": {"site": event.site, "sex": event.sex}},
            upsert=True,
            session=session,
        )

    async def rows(self, site: str | None = None) -> list[dict[str, Any]]:
        query = {} if site is None else {"site": site}
        cursor = self._collection.find(query, sort=[("site", 1), ("sex", 1)])
        return [{"site": d["site"], "sex": d["sex"], "count": d["count"]} async for d in cursor]
