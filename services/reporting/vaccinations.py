"""People vaccinated, from the cards service's ``DoseRecorded`` events alone.

Counted as the events arrive rather than aggregated at read time: a person counts once as
vaccinated (at least one dose of anything), once per vaccine they had a dose of, and once per
vaccine whose course they completed, however many doses and redeliveries follow.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.cards import DoseRecorded
from shared.messaging.envelope import Envelope

COURSES = "vaccination_courses"
"""One document per person and vaccine: the dose numbers they had."""
CELLS = "vaccination_counts"
"""Counters by site: ``people`` (any dose), and per vaccine ``with_dose`` and ``complete``."""
ANY_VACCINE = "*"


class VaccinationCounts:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self._courses = client[database][COURSES]
        self._cells = client[database][CELLS]

    def projectors(self) -> dict[str, Any]:
        return {DoseRecorded.ce_type(): self.on_dose}

    async def on_dose(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, DoseRecorded)
        first_of_any = await self._courses.find_one(
            {"migrant_id": event.migrant_id}, {"_id": 1}, session=session
        )
        course_id = f"{event.migrant_id}|{event.vaccine}"
        before = await self._courses.find_one({"_id": course_id}, session=session)
        doses = set() if before is None else set(before["doses"])
        if event.dose_number in doses:
            return
        await self._courses.update_one(
            {"_id": course_id},
            {
                "$addToSet": {"doses": event.dose_number},
                "$set": {"migrant_id": event.migrant_id, "vaccine": event.vaccine},
            },
            upsert=True,
            session=session,
        )
        if first_of_any is None:
            await self._add(event.site, ANY_VACCINE, "people", session)
        if before is None:
            await self._add(event.site, event.vaccine, "with_dose", session)
        if len(doses) < event.course_doses <= len(doses) + 1:
            await self._add(event.site, event.vaccine, "complete", session)

    async def _add(
        self, site: str, vaccine: str, counter: str, session: AsyncClientSession
    ) -> None:
        await self._cells.update_one(
            {"_id": f"{site}|{vaccine}"},
            {"$inc": {counter: 1}, "$setOnInsert": {"site": site, "vaccine": vaccine}},
            upsert=True,
            session=session,
        )

    async def summary(self, site: str | None = None) -> dict[str, Any]:
        query: dict[str, Any] = {} if site is None else {"site": site}
        people = 0
        vaccines: dict[str, dict[str, int]] = {}
        async for cell in self._cells.find(query):
            if cell["vaccine"] == ANY_VACCINE:
                people += cell.get("people", 0)
                continue
            row = vaccines.setdefault(cell["vaccine"], {"with_dose": 0, "complete": 0})
            row["with_dose"] += cell.get("with_dose", 0)
            row["complete"] += cell.get("complete", 0)
        return {
            "people_vaccinated": people,
            "by_vaccine": [
                {
                    "vaccine": name,
                    "people_with_a_dose": row["with_dose"],
                    "people_complete": row["complete"],
                }
                for name, row in sorted(vaccines.items())
            ],
        }
