"""A tiny test domain for the messaging guarantees: one event type, a counting projection."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer
from pydantic import Field
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.catalog import EventCatalog
from shared.eventstore.model import EventMetadata, PendingEvent
from shared.messaging.envelope import Envelope

TEST_CATALOG = EventCatalog()


@TEST_CATALOG.register
class ThingCounted(Event):
    producer: ClassVar[str] = "testing"
    event_type: ClassVar[str] = "ThingCounted"
    event_version: ClassVar[int] = 1

    n: int = Field(description="Which thing, in the subject's own order.")
    poison: bool = Field(default=False, description="The projection refuses this one.")


META = EventMetadata(actor="tester", site="Seenu Atoll")


def things(count: int, *, start: int = 0, poison_at: int | None = None) -> list[PendingEvent]:
    return [
        PendingEvent(
            type=ThingCounted.ce_type(),
            data=ThingCounted(n=start + i, poison=(start + i == poison_at)).to_data(),
        )
        for i in range(count)
    ]


class CountingProjection:
    """Appends each applied ``n`` to its subject's document: duplicates and disorder show."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        self.collection = client[database]["things"]

    async def apply(self, envelope: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, ThingCounted)
        if event.poison:
            raise ValueError("this thing cannot be counted")
        await self.collection.update_one(
            {"_id": envelope.subject},
            {"$push": {"seen": event.n}, "$inc": {"count": 1}},
            upsert=True,
            session=session,
        )

    async def seen(self) -> dict[str, list[int]]:
        return {doc["_id"]: doc["seen"] async for doc in self.collection.find({})}

    async def total(self) -> int:
        return sum(len(v) for v in (await self.seen()).values())


async def read_topic(
    bootstrap: str, topic: str, *, expect: int, timeout_ms: int = 20_000
) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"reader-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + timeout_ms / 1000
        while len(records) < expect and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for messages in batch.values():
                records.extend(messages)
    finally:
        await consumer.stop()
    return records


def by_subject(records: Sequence[Any]) -> dict[str, list[int]]:
    grouped: dict[str, list[int]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        grouped.setdefault(record.key.decode(), []).append(json.loads(record.value)["n"])
    return grouped
