"""Every read model of reporting, in one database: a generation of views.

The live generation is the one reports read and the consumer writes; a rebuild fills a new
generation from the topics and then swaps it in (:mod:`services.reporting.rebuild`). Keeping a
generation to one database makes the swap one pointer and its tracking records part of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.reporting import activity_facts, audit_trail, deliveries, vaccinations
from services.reporting.activity_facts import ActivityFacts
from services.reporting.audit_trail import AuditTrail
from services.reporting.deliveries import DeliveryCounts
from services.reporting.projections import PEOPLE, REGISTRATIONS, RegistrationCounts
from services.reporting.vaccinations import VaccinationCounts
from shared.contracts.base import Event
from shared.messaging.consumer import Projector
from shared.messaging.envelope import Envelope

POINTER = "views_generation"
"""In the service's own database: which database holds the live generation."""
COLLECTIONS = (
    REGISTRATIONS,
    PEOPLE,
    vaccinations.COURSES,
    vaccinations.CELLS,
    deliveries.FACTS,
    activity_facts.FACTS,
    audit_trail.TRAIL,
    audit_trail.ERASED,
    "consumer_tracking",
)
"""Every collection of a generation: what retiring one drops from the service's database,
where the event store's collections live too."""


@dataclass(frozen=True)
class ReportingViews:
    database: str
    registrations: RegistrationCounts
    vaccinations: VaccinationCounts
    deliveries: DeliveryCounts
    activities: ActivityFacts
    trail: AuditTrail

    @classmethod
    def on(
        cls, client: AsyncMongoClient[dict[str, Any]], database: str, zone: ZoneInfo
    ) -> ReportingViews:
        return cls(
            database=database,
            registrations=RegistrationCounts(client, database),
            vaccinations=VaccinationCounts(client, database),
            deliveries=DeliveryCounts(client, database, zone),
            activities=ActivityFacts(client, database, zone),
            trail=AuditTrail(client, database),
        )

    def projectors(self) -> dict[str, Projector]:
        return merge_projectors(
            self.registrations.projectors(),
            self.vaccinations.projectors(),
            self.deliveries.projectors(),
            self.activities.projectors(),
            self.trail.projectors(),
        )

    async def ensure_indexes(self) -> None:
        await self.deliveries.ensure_indexes()
        await self.activities.ensure_indexes()
        await self.trail.ensure_indexes()


def merge_projectors(*groups: Mapping[str, Projector]) -> dict[str, Projector]:
    """One handler per event type, calling every projection's in turn (same transaction)."""
    handlers: dict[str, list[Projector]] = {}
    for group in groups:
        for event_type, handler in group.items():
            handlers.setdefault(event_type, []).append(handler)

    def chained(chain: list[Projector]) -> Projector:
        async def handle(envelope: Envelope, event: Event, session: AsyncClientSession) -> None:
            for handler in chain:
                await handler(envelope, event, session)

        return handle

    return {t: chain[0] if len(chain) == 1 else chained(chain) for t, chain in handlers.items()}


async def live_database(client: AsyncMongoClient[dict[str, Any]], base: str) -> str:
    """The live generation's database; the service's own until a first rebuild."""
    pointer = await client[base][POINTER].find_one({"_id": "live"})
    return base if pointer is None else str(pointer["database"])


async def point_to(client: AsyncMongoClient[dict[str, Any]], base: str, database: str) -> None:
    """One document written: the swap is atomic for every reader."""
    await client[base][POINTER].update_one(
        {"_id": "live"}, {"$set": {"database": database}}, upsert=True
    )
