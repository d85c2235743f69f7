"""Relief delivered, from the distribution service's events alone: what was given, to how many.

Each delivery and group activity is kept as one small fact (no personal data: a person is
their id), so a void simply marks its fact and every later count leaves it out. Counts are
made at read time over the facts of the period asked for; the monthly report's aggregates
(issue 7) will replace this scan when the volume calls for it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.reporting.activity_facts import local_day
from shared.contracts.base import Event
from shared.contracts.distribution import DeliveryVoided, GroupActivityRecorded, ServiceDelivered
from shared.messaging.envelope import Envelope

FACTS = "delivery_facts"


class DeliveryCounts:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str, zone: ZoneInfo):
        self._facts = client[database][FACTS]
        self._zone = zone

    async def ensure_indexes(self) -> None:
        await self._facts.create_index([("day", ASCENDING), ("site", ASCENDING)])

    def projectors(self) -> dict[str, Any]:
        return {
            ServiceDelivered.ce_type(): self.on_delivered,
            GroupActivityRecorded.ce_type(): self.on_group,
            DeliveryVoided.ce_type(): self.on_voided,
        }

    async def on_delivered(
        self, envelope: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, ServiceDelivered)
        await self._facts.insert_one(
            {
                "_id": event.delivery_id,
                "at": envelope.time,
                "service": event.service,
                "site": event.site,
                "day": local_day(event.delivered_at, self._zone),
                "migrant_id": event.migrant_id,
                "organisation": event.organisation,
                "quantity": event.quantity,
                "people_reached": 0,
                "overridden": event.override is not None,
                "voided": False,
            },
            session=session,
        )

    async def on_group(self, envelope: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, GroupActivityRecorded)
        await self._facts.insert_one(
            {
                "_id": event.activity_id,
                "at": envelope.time,
                "service": event.service,
                "site": event.site,
                "day": local_day(event.held_at, self._zone),
                "migrant_id": None,
                "organisation": event.organisation,
                "quantity": 1,
                "people_reached": event.people_reached,
                "overridden": False,
                "voided": False,
            },
            session=session,
        )

    async def on_voided(
        self, envelope: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, DeliveryVoided)
        await self._facts.update_one(
            {"_id": event.delivery_id},
            {"$set": {"voided": True, "voided_at": envelope.time}},
            session=session,
        )

    async def facts_between(
        self, start: date, end: date, site: str | None, as_of: datetime | None = None
    ) -> list[dict[str, Any]]:
        """Every delivery and group activity dated ``start`` to ``end`` inclusive, voids too;
        with ``as_of``, only those recorded by then, and voided only if voided by then."""
        query: dict[str, Any] = {"day": {"$gte": start.isoformat(), "$lte": end.isoformat()}}
        if site is not None:
            query["site"] = site
        if as_of is None:
            return await self._facts.find(query).to_list()
        query["at"] = {"$lte": as_of}
        facts = await self._facts.find(query).to_list()
        for fact in facts:
            voided_at = fact.get("voided_at")
            if voided_at is not None and voided_at.replace(tzinfo=UTC) > as_of:
                fact["voided"] = False
        return facts

    async def summary(
        self, start: date, end: date, site: str | None, as_of: datetime | None = None
    ) -> dict[str, Any]:
        """Deliveries of each service from ``start`` to ``end`` inclusive; voids left out."""
        rows: dict[str, dict[str, Any]] = {}
        voided = overridden = 0
        for fact in await self.facts_between(start, end, site, as_of):
            if fact["voided"]:
                voided += 1
                continue
            overridden += fact["overridden"]
            row = rows.setdefault(
                fact["service"],
                {"deliveries": 0, "units": 0, "people": set(), "group_reach": 0},
            )
            row["deliveries"] += 1
            row["units"] += fact["quantity"] if not fact["people_reached"] else 0
            row["group_reach"] += fact["people_reached"]
            if fact["migrant_id"] is not None:
                row["people"].add(fact["migrant_id"])
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "by_service": [
                {
                    "service": service,
                    "deliveries": row["deliveries"],
                    "units": row["units"],
                    "unique_people": len(row["people"]),
                    "people_reached_in_groups": row["group_reach"],
                }
                for service, row in sorted(rows.items())
            ],
            "voided": voided,
            "overridden": overridden,
        }


def default_period(today: date) -> tuple[date, date]:
    """The last 30 days up to today: what a programme officer opens the report for."""
    return today - timedelta(days=29), today
