"""Consumer throughput: the idempotent consumer behind FastStream against a bare aiokafka reader.

Both read the same topic of BenSys events, published beforehand by the relay. The BenSys side
does what a service's projection does: decode the CloudEvent, check the tracking record, and
commit the tracking record with one ``$inc`` upsert in a MongoDB transaction, then commit the
offset. The raw side only fetches. Their ratio is what exactly-once application costs.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from bench.relay_bench import (
    BENCH_CATALOG,
    BenchRecorded,
    Document,
    append_all,
    drain,
    plan_commands,
)
from bench.servers import BenchServers, Timing, since, snapshot
from shared.contracts.base import Event
from shared.eventstore.mongo import MongoEventStore
from shared.messaging.consumer import IdempotentConsumer, Outcome
from shared.messaging.envelope import Envelope
from shared.messaging.faststream_wiring import FastStreamDeadLetters, subscribe
from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.relay import OutboxRelay
from shared.messaging.topics import dead_letter_topic, ensure_topics

POLL_SECONDS = 0.01


class PersonCounts:
    """The smallest real projection: one ``$inc`` upsert per event on its person's document."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self.collection = client[database]["person_counts"]

    async def apply(self, envelope: Envelope, event: Event, session: AsyncClientSession) -> None:
        if not isinstance(event, BenchRecorded):
            raise TypeError(f"unexpected {type(event).__name__}")
        await self.collection.update_one(
            {"_id": envelope.subject}, {"$inc": {"count": 1}}, upsert=True, session=session
        )

    async def total(self) -> int:
        cursor = await self.collection.aggregate(
            [{"$group": {"_id": None, "total": {"$sum": "$count"}}}]
        )
        rows: list[dict[str, Any]] = await cursor.to_list()
        return int(rows[0]["total"]) if rows else 0


@dataclass(frozen=True)
class ConsumerFigures:
    events: int
    streams: int
    partitions: int
    applied: Timing
    first_applied_seconds: float
    raw_consume: Timing
    raw_joined_seconds: float

    @property
    def applied_rate(self) -> float:
        return self.events / self.applied.seconds

    @property
    def raw_consume_rate(self) -> float:
        return self.events / self.raw_consume.seconds

    @property
    def ratio(self) -> float:
        return self.applied_rate / self.raw_consume_rate

    @property
    def applied_rate_after_join(self) -> float:
        """Once the group is joined: the steady rate, which the join hides at small N."""
        return (self.events - 1) / (self.applied.seconds - self.first_applied_seconds)

    @property
    def raw_consume_rate_after_join(self) -> float:
        return self.events / (self.raw_consume.seconds - self.raw_joined_seconds)

    @property
    def ratio_after_join(self) -> float:
        return self.applied_rate_after_join / self.raw_consume_rate_after_join


async def run_consumer_bench(
    servers: BenchServers,
    *,
    events: int,
    streams: int,
    partitions: int,
    deadline_seconds: float,
    access_log_level: int = logging.DEBUG,
) -> ConsumerFigures:
    run = uuid.uuid4().hex[:8]
    database = f"bench_consumer_{run}"
    topic = f"bench.consumer-{run}.v1"
    await ensure_topics(
        servers.kafka_bootstrap, [topic, dead_letter_topic(topic)], partitions=partitions
    )
    client: AsyncMongoClient[Document] = AsyncMongoClient(servers.mongo_url)
    try:
        print(f"  publishing {events} events through the store and the relay ...", flush=True)
        await seed(servers, client, database, topic, events=events, streams=streams)
        print("  raw aiokafka getmany ...", flush=True)
        raw, joined = await raw_consume(
            servers, topic, events=events, deadline_seconds=deadline_seconds
        )
        print("  idempotent consumer behind FastStream ...", flush=True)
        applied, first = await consume_with_bensys(
            servers,
            client,
            database,
            topic,
            events=events,
            deadline_seconds=deadline_seconds,
            access_log_level=access_log_level,
        )
    finally:
        await client.close()
    return ConsumerFigures(
        events=events,
        streams=streams,
        partitions=partitions,
        applied=applied,
        first_applied_seconds=first,
        raw_consume=raw,
        raw_joined_seconds=joined,
    )


async def seed(
    servers: BenchServers,
    client: AsyncMongoClient[Document],
    database: str,
    topic: str,
    *,
    events: int,
    streams: int,
) -> None:
    """Untimed set-up: one append per person, so the fewest transactions are spent on it."""
    store = MongoEventStore(client, database)
    await store.ensure_indexes()
    await append_all(store, plan_commands(events, streams, sizes=(events,)), 1)
    publisher = AiokafkaOutboxPublisher(servers.kafka_bootstrap, client_id="bench-seed")
    await publisher.start()
    try:
        published = await drain(OutboxRelay(store, publisher, service="bench", topic=topic))
    finally:
        await publisher.stop()
    if published != events:
        raise RuntimeError(f"the relay published {published} events, expected {events}")


async def raw_consume(
    servers: BenchServers, topic: str, *, events: int, deadline_seconds: float
) -> tuple[Timing, float]:
    """A fresh group from the earliest offset, ``getmany`` until every message is in hand.

    The clock starts before ``start()``, as it does for the broker below, so both pay for
    joining the group; how long the join took is returned too.
    """
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers.kafka_bootstrap,
        group_id=f"bench-raw-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    before = snapshot(servers)
    await consumer.start()
    try:
        deadline = time.monotonic() + deadline_seconds
        while not consumer.assignment():
            if time.monotonic() > deadline:
                raise TimeoutError("the raw consumer was never assigned a partition")
            await asyncio.sleep(POLL_SECONDS)
        joined = time.perf_counter() - before.wall
        received = 0
        while received < events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"raw consumer read {received} of {events} messages")
            batch = await consumer.getmany(timeout_ms=200)
            received += sum(len(messages) for messages in batch.values())
        return since(before, servers), joined
    finally:
        await consumer.stop()


async def consume_with_bensys(
    servers: BenchServers,
    client: AsyncMongoClient[Document],
    database: str,
    topic: str,
    *,
    events: int,
    deadline_seconds: float,
    access_log_level: int,
) -> tuple[Timing, float]:
    """From ``broker.start()`` until the projection holds all N events; and the first one.

    Waiting polls the consumer's own outcome counter (each outcome is reported after its
    transaction committed) and then reads the projection once to confirm. Polling the projection
    itself every few milliseconds would be an aggregation on the same single database process,
    slowing the very thing being timed.
    """
    projection = PersonCounts(client, database)
    outcomes: Counter[Outcome] = Counter()
    first: list[float] = []

    def count(_type: str, outcome: Outcome) -> None:
        if not first:
            first.append(time.perf_counter())
        outcomes.update([outcome])

    broker = KafkaBroker(
        servers.kafka_bootstrap, client_id="bench-consumer", log_level=access_log_level
    )
    consumer = IdempotentConsumer(
        client=client,
        database=database,
        group=f"bench-projection-{uuid.uuid4().hex[:8]}",
        projectors={BenchRecorded.ce_type(): projection.apply},
        catalog=BENCH_CATALOG,
        dead_letters=FastStreamDeadLetters(broker),
        on_outcome=count,
    )
    subscribe(broker, consumer, topic)
    before = snapshot(servers)
    await broker.start()
    try:
        deadline = time.monotonic() + deadline_seconds
        while sum(outcomes.values()) < events:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the consumer handled {dict(outcomes)} of {events} events")
            await asyncio.sleep(POLL_SECONDS)
        total = await projection.total()
        timing = since(before, servers)
    finally:
        await broker.stop()
    if outcomes[Outcome.APPLIED] != events or total != events:
        raise RuntimeError(f"expected {events} applied, got {dict(outcomes)}; projection {total}")
    return timing, first[0] - before.wall
