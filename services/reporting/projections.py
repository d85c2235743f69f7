"""Read models built from the event stream alone; each projection answers one query.

Every write goes through the consumer's session, in the same transaction as its tracking
record, so a redelivered event changes nothing.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.registry import (
    MigrantDetailsCorrected,
    MigrantRegistered,
    MigrantsMerged,
    MigrantsUnmerged,
)
from shared.messaging.envelope import Envelope

REGISTRATIONS = "registrations_by_site_sex"
PEOPLE = "people_attributes"


class RegistrationCounts:
    """How many people are registered, by site and sex: one person counts once.

    Keeps each person's clear reporting attributes (never personal data), so that a merge
    stops counting the absorbed record, an unmerge counts it again, and a corrected site or
    sex moves the person between cells. Erasure changes no count.
    """

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._cells = client[database][REGISTRATIONS]
        self._people = client[database][PEOPLE]

    def projectors(self) -> dict[str, Any]:
        return {
            MigrantRegistered.ce_type(): self.on_registered,
            MigrantsMerged.ce_type(): self.on_merged,
            MigrantsUnmerged.ce_type(): self.on_unmerged,
            MigrantDetailsCorrected.ce_type(): self.on_corrected,
        }

    async def on_registered(
        self, envelope: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, MigrantRegistered)
        await self._people.insert_one(
            {"_id": event.migrant_id, "site": event.site, "sex": event.sex, "counted": True},
            session=session,
        )
        await self._add(event.site, event.sex, 1, session)

    async def on_merged(
        self, envelope: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, MigrantsMerged)
        await self._set_counted(event.absorbed_id, counted=False, session=session)

    async def on_unmerged(
        self, envelope: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, MigrantsUnmerged)
        await self._set_counted(event.absorbed_id, counted=True, session=session)

    async def on_corrected(
        self, envelope: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, MigrantDetailsCorrected)
        if event.site is None and event.sex is None:
            return
        person = await self._people.find_one({"_id": event.migrant_id}, session=session)
        if person is None:
            raise KeyError(f"correction for {event.migrant_id} before their registration")
        site, sex = event.site or person["site"], event.sex or person["sex"]
        if person["counted"]:
            await self._add(person["site"], person["sex"], -1, session)
            await self._add(site, sex, 1, session)
        await self._people.update_one(
            {"_id": event.migrant_id}, {"$set": {"site": site, "sex": sex}}, session=session
        )

    async def _set_counted(
        self, migrant_id: str, *, counted: bool, session: AsyncClientSession
    ) -> None:
        person = await self._people.find_one({"_id": migrant_id}, session=session)
        if person is None:
            raise KeyError(f"{migrant_id} is unknown to reporting")
        if person["counted"] == counted:
            return
        await self._people.update_one(
            {"_id": migrant_id}, {"$set": {"counted": counted}}, session=session
        )
        await self._add(person["site"], person["sex"], 1 if counted else -1, session)

    async def _add(self, site: str, sex: str, delta: int, session: AsyncClientSession) -> None:
        await self._cells.update_one(
            {"_id": f"{site}|{sex}"},
            {"$inc": {"count": delta}, "$setOnInsert": {"site": site, "sex": sex}},
            upsert=True,
            session=session,
        )

    async def rows(self, site: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"count": {"$gt": 0}}
        if site is not None:
            query["site"] = site
        cursor = self._cells.find(query, sort=[("site", 1), ("sex", 1)])
        return [{"site": d["site"], "sex": d["sex"], "count": d["count"]} async for d in cursor]
