"""Relay throughput: append through the event store, drain the outbox to Kafka, and compare.

Each BenSys rate is divided by what the same servers do, in the same run, for the plainest
client: ``insert_many`` of the same documents into a plain collection, and aiokafka sending
the same records fire-and-flush. Absolute rates describe the machine; the ratio describes
what the event store's guarantees (one transaction per append, in-order batches per partition,
marks kept in the store) cost on it.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from aiokafka import AIOKafkaProducer
from pydantic import Field
from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from bench.servers import BenchServers, Timing, since, snapshot
from shared.contracts.base import Event
from shared.contracts.catalog import EventCatalog
from shared.eventstore.model import EventMetadata, PendingEvent, StoredEvent
from shared.eventstore.mongo import MongoEventStore
from shared.messaging.envelope import KafkaRecord, to_kafka_record
from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.relay import OutboxRelay
from shared.messaging.topics import ensure_topics

Document = dict[str, Any]

BENCH_CATALOG = EventCatalog()
BODY_BYTES = 300
META = EventMetadata(actor="bench", site="Seenu Atoll")
RAW_INSERT_BATCH = 1000
READ_OUTBOX = "read the outbox (find published=false)"
PUBLISH = "publish to Kafka (batches per partition)"
MARK_PUBLISHED = "mark published (update_many by _id)"
BROKER_MARKS = "check and save the broker marks"
COMMAND_SIZES = (1, 2, 3, 4)
"""Events per append, in turn: registering a person writes several, most commands one or two."""
_FILLER = "abcdefghijklmnopqrstuvwxyz0123456789 "


@BENCH_CATALOG.register
class BenchRecorded(Event):
    """A stand-in for a registry event: a few fields and free text, about 300 bytes of JSON."""

    producer: ClassVar[str] = "bench"
    event_type: ClassVar[str] = "BenchRecorded"
    event_version: ClassVar[int] = 1

    n: int = Field(description="Which event of its person, counting from 0.")
    household: str = Field(description="A household reference, as registry events carry.")
    note: str = Field(description="Free text padding the body to the benchmark's size.")


def bench_event(stream: int, n: int) -> PendingEvent:
    """One event whose JSON body is ``BODY_BYTES`` long, the size the brief asks for."""
    household = f"hh-{stream:05d}"
    bare = BenchRecorded(n=n, household=household, note="").to_data()
    missing = max(BODY_BYTES - len(json.dumps(bare, separators=(",", ":"))), 0)
    note = (_FILLER * (missing // len(_FILLER) + 1))[:missing]
    data = BenchRecorded(n=n, household=household, note=note).to_data()
    return PendingEvent(type=BenchRecorded.ce_type(), data=data)


def stream_id(stream: int) -> str:
    return f"person-{stream:05d}"


@dataclass(frozen=True)
class Command:
    """One command's worth of events for one person, at the version its handler loaded."""

    stream: int
    expected_version: int
    events: list[PendingEvent]


def plan_commands(
    events: int, streams: int, *, sizes: Sequence[int] = COMMAND_SIZES
) -> list[Command]:
    """Spread ``events`` over ``streams`` people in commands of ``sizes`` events, in turn.

    Commands go round the people so consecutive appends touch different streams, as
    concurrent users would, rather than writing one person's history in one go.
    """
    per_stream = [events // streams + (1 if s < events % streams else 0) for s in range(streams)]
    queues: list[list[Command]] = []
    for stream, total in enumerate(per_stream):
        commands: list[Command] = []
        version = 0
        while version < total:
            take = min(sizes[len(commands) % len(sizes)], total - version)
            batch = [bench_event(stream, version + i) for i in range(take)]
            commands.append(Command(stream, version, batch))
            version += take
        queues.append(commands)
    rounds = max((len(q) for q in queues), default=0)
    return [q[r] for r in range(rounds) for q in queues if r < len(q)]


async def append_all(store: MongoEventStore, commands: Sequence[Command], concurrency: int) -> None:
    """Append every command, ``concurrency`` at a time; one person's commands stay in order."""

    async def worker(lane: int) -> None:
        for command in commands:
            if command.stream % concurrency == lane:
                await store.append(
                    stream_id(command.stream), command.expected_version, command.events, META
                )

    await asyncio.gather(*(worker(lane) for lane in range(concurrency)))


async def drain(relay: OutboxRelay) -> int:
    """Publish until the outbox is empty, the way the relay's loop does under backlog."""
    total = 0
    while published := await relay.publish_pending():
        total += published
    return total


async def stored_events(store: MongoEventStore) -> list[StoredEvent]:
    events: list[StoredEvent] = []
    while page := await store.read_all(after_position=events[-1].position if events else 0):
        events.extend(page)
    return events


class Stopwatches:
    """Seconds spent per named step, summed: where the relay's time goes, from the run itself."""

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)

    @contextmanager
    def timing(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] += time.perf_counter() - started


class TimedEventStore(MongoEventStore):
    """The real store, timing the calls the relay makes on it."""

    def __init__(
        self, client: AsyncMongoClient[Document], database: str, watches: Stopwatches
    ) -> None:
        super().__init__(client, database)
        self._watches = watches

    async def unpublished(self, limit: int) -> list[StoredEvent]:
        with self._watches.timing(READ_OUTBOX):
            return await super().unpublished(limit)

    async def mark_published(self, event_ids: Sequence[str]) -> None:
        with self._watches.timing(MARK_PUBLISHED):
            await super().mark_published(event_ids)

    async def load_broker_marks(self, topic: str) -> dict[int, int]:
        with self._watches.timing(BROKER_MARKS):
            return await super().load_broker_marks(topic)

    async def save_broker_marks(self, topic: str, marks: dict[int, int]) -> None:
        with self._watches.timing(BROKER_MARKS):
            await super().save_broker_marks(topic, marks)


class TimedPublisher(AiokafkaOutboxPublisher):
    """The real publisher, timing the produce and the broker check separately."""

    def __init__(self, bootstrap: str, watches: Stopwatches) -> None:
        super().__init__(bootstrap, client_id="bench-relay")
        self._watches = watches

    async def publish(self, topic: str, records: Sequence[KafkaRecord]) -> dict[int, int]:
        with self._watches.timing(PUBLISH):
            return await super().publish(topic, records)

    async def end_offsets(self, topic: str) -> dict[int, int]:
        with self._watches.timing(BROKER_MARKS):
            return await super().end_offsets(topic)


@dataclass(frozen=True)
class RelayFigures:
    events: int
    streams: int
    partitions: int
    commands: int
    concurrency: int
    append: Timing
    relay: Timing
    raw_insert: Timing
    raw_produce: Timing
    relay_steps: dict[str, float]
    """Seconds of the relay phase per step; what no step claims is building the envelopes."""

    @property
    def append_rate(self) -> float:
        return self.events / self.append.seconds

    @property
    def relay_rate(self) -> float:
        return self.events / self.relay.seconds

    @property
    def end_to_end_rate(self) -> float:
        return self.events / (self.append.seconds + self.relay.seconds)

    @property
    def raw_insert_rate(self) -> float:
        return self.events / self.raw_insert.seconds

    @property
    def raw_produce_rate(self) -> float:
        return self.events / self.raw_produce.seconds

    @property
    def relay_ratio(self) -> float:
        return self.relay_rate / self.raw_produce_rate

    @property
    def append_ratio(self) -> float:
        return self.append_rate / self.raw_insert_rate

    @property
    def end_to_end_ratio(self) -> float:
        return self.end_to_end_rate / min(self.raw_insert_rate, self.raw_produce_rate)


async def run_relay_bench(
    servers: BenchServers, *, events: int, streams: int, partitions: int, concurrency: int
) -> RelayFigures:
    """BenSys first, then the raw limits on the documents and records BenSys produced."""
    run = uuid.uuid4().hex[:8]
    database = f"bench_relay_{run}"
    topic, raw_topic = f"bench.relay-{run}.v1", f"bench.raw-{run}.v1"
    await ensure_topics(servers.kafka_bootstrap, [topic, raw_topic], partitions=partitions)
    commands = plan_commands(events, streams)
    client: AsyncMongoClient[Document] = AsyncMongoClient(servers.mongo_url)
    watches = Stopwatches()
    publisher = TimedPublisher(servers.kafka_bootstrap, watches)
    try:
        await client.admin.command("ping")
        store = TimedEventStore(client, database, watches)
        await store.ensure_indexes()
        await publisher.start()
        await publisher.end_offsets(topic)  # metadata fetched before the clock starts
        watches.seconds.clear()

        print(f"  appending {events} events in {len(commands)} commands ...", flush=True)
        before = snapshot(servers)
        await append_all(store, commands, concurrency)
        append = since(before, servers)

        print("  relaying the outbox ...", flush=True)
        relay = OutboxRelay(store, publisher, service="bench", topic=topic)
        before = snapshot(servers)
        published = await drain(relay)
        relayed = since(before, servers)
        steps = dict(watches.seconds)
        if published != events:
            raise RuntimeError(f"the relay published {published} events, expected {events}")

        documents = await store_documents(client, database)
        print(f"  raw insert_many of the same {len(documents)} documents ...", flush=True)
        raw_inserted = await raw_insert(servers, client[f"bench_raw_{run}"]["plain"], documents)
        records = [to_kafka_record(event, service="bench") for event in await stored_events(store)]
        print(f"  raw aiokafka send of the same {len(records)} records ...", flush=True)
        raw_produced = await raw_produce(servers, raw_topic, records)
    finally:
        await publisher.stop()
        await client.close()
    return RelayFigures(
        events=events,
        streams=streams,
        partitions=partitions,
        commands=len(commands),
        concurrency=concurrency,
        append=append,
        relay=relayed,
        raw_insert=raw_inserted,
        raw_produce=raw_produced,
        relay_steps=steps,
    )


async def store_documents(client: AsyncMongoClient[Document], database: str) -> list[Document]:
    """The event store's own documents, so the raw insert writes byte-for-byte the same."""
    cursor = client[database]["events"].find({}, sort=[("position", ASCENDING)])
    return [doc async for doc in cursor]


async def raw_insert(
    servers: BenchServers, collection: AsyncCollection[Document], documents: Sequence[Document]
) -> Timing:
    """``insert_many`` in batches of 1,000 into a collection with only its ``_id`` index."""
    before = snapshot(servers)
    for i in range(0, len(documents), RAW_INSERT_BATCH):
        await collection.insert_many(documents[i : i + RAW_INSERT_BATCH])
    return since(before, servers)


async def raw_produce(servers: BenchServers, topic: str, records: Sequence[KafkaRecord]) -> Timing:
    """Every record handed to aiokafka at once, then flushed: the client's own pipelining.

    Same settings as the relay's producer (``acks=all``, no idempotence, ``linger_ms=0``),
    so the difference is how the relay uses the client, not how it is configured.
    """
    producer = AIOKafkaProducer(
        bootstrap_servers=servers.kafka_bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=0,
        client_id="bench-raw-producer",
    )
    await producer.start()
    try:
        await producer.partitions_for(topic)  # metadata fetched before the clock starts
        before = snapshot(servers)
        futures = [
            await producer.send(topic, value=r.value, key=r.key, headers=r.headers) for r in records
        ]
        await producer.flush()
        await asyncio.gather(*futures)
        return since(before, servers)
    finally:
        await producer.stop()
