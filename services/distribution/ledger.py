"""The distribution service's own read model: every delivery, and each person's stream version.

Written inline, in the transaction that appends the events (ARCHITECTURE §3): an entitlement
check reads a person's past deliveries from here, and the version it appends at comes from
here too, so a delivery racing another for the same person loses with a 409 rather than
slipping past the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from services.distribution.domain import Past
from shared.contracts.catalog import CATALOG
from shared.contracts.distribution import DeliveryVoided, GroupActivityRecorded, ServiceDelivered
from shared.eventstore.model import StoredEvent

DELIVERIES = "deliveries"
STREAMS = "stream_versions"
Document = dict[str, Any]


class Ledger:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._deliveries = client[database][DELIVERIES]
        self._streams = client[database][STREAMS]

    async def ensure_indexes(self) -> None:
        await self._deliveries.create_index(
            [("migrant_id", ASCENDING), ("service", ASCENDING), ("delivered_at", ASCENDING)]
        )
        await self._deliveries.create_index(
            [("migrant_id", ASCENDING), ("delivered_at", DESCENDING), ("_id", DESCENDING)]
        )
        await self._deliveries.create_index([("site", ASCENDING), ("delivered_at", DESCENDING)])

    async def project(self, session: AsyncClientSession | None, stored: list[StoredEvent]) -> None:
        """The inline projection: pass as ``inline=`` to the event store's append."""
        for record in stored:
            event = CATALOG.decode(record.type, record.data)
            if isinstance(event, ServiceDelivered):
                await self._deliveries.insert_one(_delivery(event, record), session=session)
            elif isinstance(event, GroupActivityRecorded):
                await self._deliveries.insert_one(_activity(event, record), session=session)
            elif isinstance(event, DeliveryVoided):
                await self._deliveries.update_one(
                    {"_id": event.delivery_id},
                    {"$set": {"voided": True, "void_reason": event.reason}},
                    session=session,
                )
        last = stored[-1]
        await self._streams.update_one(
            {"_id": last.stream_id},
            {"$set": {"version": last.version}},
            upsert=True,
            session=session,
        )

    async def version(self, stream_id: str) -> int:
        doc = await self._streams.find_one({"_id": stream_id})
        return 0 if doc is None else int(doc["version"])

    async def delivery(self, delivery_id: str) -> Document | None:
        return await self._deliveries.find_one({"_id": delivery_id})

    async def around(
        self, migrant_id: str, service: str, at: datetime, days: int
    ) -> Sequence[Past]:
        """The person's deliveries of ``service`` within ``days`` either side of ``at``.

        Voids are left out here rather than in the query: the server uses the compound index
        only when the filter is exactly its fields, and a person with 500 past deliveries
        would otherwise have every one of them read (bench/RESULTS.md, issue 5).
        """
        window = timedelta(days=days)
        cursor = self._deliveries.find(
            {
                "migrant_id": migrant_id,
                "service": service,
                "delivered_at": {"$gt": at - window, "$lt": at + window},
            },
            {"quantity": 1, "delivered_at": 1, "voided": 1},
        )
        return [
            Past(doc["_id"], doc["quantity"], _utc(doc["delivered_at"]))
            async for doc in cursor
            if not doc["voided"]
        ]

    async def history(
        self, migrant_id: str, *, limit: int, before: tuple[datetime, str] | None
    ) -> list[Document]:
        """Newest first, ``limit`` at a time; ``before`` is the last item of the previous page."""
        query: Document = {"migrant_id": migrant_id}
        if before is not None:
            at, delivery_id = before
            query["$or"] = [
                {"delivered_at": {"$lt": at}},
                {"delivered_at": at, "_id": {"$lt": delivery_id}},
            ]
        cursor = self._deliveries.find(query).sort([("delivered_at", -1), ("_id", -1)])
        return await cursor.limit(limit).to_list()


def _delivery(event: ServiceDelivered, record: StoredEvent) -> Document:
    return {
        "_id": event.delivery_id,
        "kind": "delivery",
        "stream_id": record.stream_id,
        "client_id": event.client_id,
        "migrant_id": event.migrant_id,
        "card_number": event.card_number,
        "organisation": event.organisation,
        "service": event.service,
        "quantity": event.quantity,
        "unit": event.unit,
        "site": event.site,
        "delivered_at": event.delivered_at,
        "delivered_by": event.delivered_by,
        "override": None if event.override is None else event.override.model_dump(),
        "voided": False,
    }


def _activity(event: GroupActivityRecorded, record: StoredEvent) -> Document:
    return {
        "_id": event.activity_id,
        "kind": "group_activity",
        "stream_id": record.stream_id,
        "client_id": event.client_id,
        "migrant_id": None,
        "organisation": event.organisation,
        "service": event.service,
        "quantity": event.people_reached,
        "people_reached": event.people_reached,
        "female": event.female,
        "male": event.male,
        "language": event.language,
        "site": event.site,
        "delivered_at": event.held_at,
        "delivered_by": event.recorded_by,
        "voided": False,
    }


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
