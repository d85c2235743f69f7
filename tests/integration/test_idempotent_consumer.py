"""The idempotent consumer on a real broker and database: duplicates, poison, restarts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from faststream.kafka import KafkaBroker
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from pymongo import AsyncMongoClient

from bensys.embedded import ManagedProcess
from shared.eventstore.model import EventMetadata
from shared.eventstore.mongo import MongoEventStore
from shared.messaging.consumer import IdempotentConsumer, Outcome
from shared.messaging.envelope import to_kafka_record
from shared.messaging.faststream_wiring import FastStreamDeadLetters, subscribe
from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.relay import OutboxRelay
from shared.messaging.topics import dead_letter_topic, ensure_topics, topic_name
from shared.observability.tracing import configure_tracing, current_traceparent
from tests.integration.messaging_fixtures import (
    META,
    TEST_CATALOG,
    CountingProjection,
    ThingCounted,
    read_topic,
    things,
)
from tests.support import eventually

pytestmark = pytest.mark.integration


class Harness:
    """A store with its relay, and a consumer group projecting the topic: one service's worth."""

    def __init__(
        self,
        client: AsyncMongoClient[dict[str, Any]],
        db: str,
        bootstrap: str,
        topic: str,
        *,
        batches: bool = False,
    ) -> None:
        self.store = MongoEventStore(client, db)
        self.projection = CountingProjection(client, db)
        self.publisher = AiokafkaOutboxPublisher(bootstrap, request_timeout_ms=3000)
        self.relay = OutboxRelay(
            self.store,
            self.publisher,
            service="testing",
            topic=topic,
            broker_check_seconds=0.2,
            refill_grace_seconds=3,
        )
        self.broker = KafkaBroker(bootstrap)
        self.outcomes: list[Outcome] = []
        self.consumer = IdempotentConsumer(
            client=client,
            database=db,
            group=f"counter-{db}",
            projectors={ThingCounted.ce_type(): self.projection.apply},
            catalog=TEST_CATALOG,
            dead_letters=FastStreamDeadLetters(self.broker),
            max_attempts=2,
            retry_backoff_seconds=0.01,
            on_outcome=lambda _type, outcome: self.outcomes.append(outcome),
            batches=batches,
        )
        subscribe(self.broker, self.consumer, topic)


@pytest.fixture(params=[False, True], ids=["one-by-one", "in-batches"])
async def harness(
    request: pytest.FixtureRequest,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    db_name: str,
    kafka_bootstrap: str,
    namespace: str,
) -> AsyncIterator[Harness]:
    topic = topic_name(namespace, "testing")
    await ensure_topics(kafka_bootstrap, [topic, dead_letter_topic(topic)], partitions=3)
    h = Harness(mongo_client, db_name, kafka_bootstrap, topic, batches=request.param)
    await h.store.ensure_indexes()
    await h.publisher.start()
    await h.broker.start()
    try:
        yield h
    finally:
        await h.broker.stop()
        await h.publisher.stop()


async def test_the_same_event_delivered_twice_is_applied_once(harness: Harness) -> None:
    # Given events published once by the relay
    await harness.store.append("p1", 0, things(3), META)
    await harness.relay.publish_pending()
    # When every one of them is delivered again (a relay that died before marking)
    records = [to_kafka_record(e, service="testing") for e in await harness.store.load("p1")]
    await harness.publisher.publish(_topic(harness), records)
    # Then each was applied exactly once, and the second deliveries were seen as duplicates
    await eventually(
        lambda: _async(harness.outcomes.count(Outcome.DUPLICATE)), lambda n: n == 3, what="dupes"
    )
    assert await harness.projection.seen() == {"p1": [0, 1, 2]}


async def test_a_poison_message_goes_to_the_dead_letter_topic_and_the_consumer_goes_on(
    harness: Harness, kafka_bootstrap: str
) -> None:
    # Given a good event, one the projection always refuses, a message that is no CloudEvent,
    # and more good events after them, all for one person
    await harness.store.append("p1", 0, things(3, poison_at=1), META)
    await harness.relay.publish_pending()
    await harness.broker.publish(b"not an event", _topic(harness), key=b"p1")
    await harness.store.append("p1", 3, things(2, start=3), META)
    await harness.relay.publish_pending()

    # Then the good events are applied, in order, around the two bad ones
    await eventually(harness.projection.seen, lambda s: s.get("p1") == [0, 2, 3, 4], what="good")
    # And both bad messages are on the dead-letter topic, with the reason
    dead = await read_topic(kafka_bootstrap, dead_letter_topic(_topic(harness)), expect=2)
    reasons = sorted(dict(r.headers)["bensys_dlq_reason"].decode() for r in dead)
    assert len(dead) == 2
    assert "cannot be counted" in reasons[0]
    assert "malformed envelope" in reasons[1]
    assert all(dict(r.headers)["bensys_dlq_group"] == harness.consumer.group.encode() for r in dead)


async def test_a_consumer_across_a_broker_restarted_empty_misses_nothing_and_doubles_nothing(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    db_name: str,
    namespace: str,
    private_broker: ManagedProcess,
) -> None:
    server = private_broker
    bootstrap = f"127.0.0.1:{server.port}"
    topic = topic_name(namespace, "testing")
    await ensure_topics(bootstrap, [topic, dead_letter_topic(topic)], partitions=3)
    h = Harness(mongo_client, db_name, bootstrap, topic)
    await h.store.ensure_indexes()
    await h.publisher.start()
    await h.broker.start()
    relay = asyncio.create_task(h.relay.run())
    try:
        await h.store.append("p1", 0, things(10), META)
        h.relay.notify()
        await eventually(h.projection.total, lambda n: n == 10, within=60, what="first ten")

        # When the broker dies and comes back empty while more events are appended
        server.kill()
        await h.store.append("p1", 10, things(10, start=10), META)
        await h.store.append("p2", 0, things(5), META)
        server.start()
        await ensure_topics(bootstrap, [topic, dead_letter_topic(topic)], partitions=3)
        h.relay.notify()

        # Then every event is applied exactly once, in each person's order
        await eventually(h.projection.total, lambda n: n >= 25, within=90, what="all applied")
        assert await h.projection.seen() == {"p1": list(range(20)), "p2": list(range(5))}
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        await h.broker.stop()
        await h.publisher.stop()


def _topic(harness: Harness) -> str:
    return harness.relay._topic


async def _async(value: int) -> int:
    return value


async def test_the_trace_of_a_command_continues_in_the_consumer(harness: Harness) -> None:
    # Given a command handled inside a span, its traceparent stored with the event
    exporter = InMemorySpanExporter()
    configure_tracing("test", exporter=exporter)
    with trace.get_tracer("test").start_as_current_span("POST /migrants") as command_span:
        metadata = EventMetadata(actor="tester", traceparent=current_traceparent())
        await harness.store.append("p-traced", 0, things(1), metadata)
    # When the relay publishes it and the consumer applies it
    await harness.relay.publish_pending()

    def consumer_spans() -> list[ReadableSpan]:
        return [s for s in exporter.get_finished_spans() if s.kind is trace.SpanKind.CONSUMER]

    spans = await eventually(lambda: _async_spans(consumer_spans()), bool, what="consumer span")
    # Then the relay's producer span is a child of the command's span
    command = command_span.get_span_context()
    [producer] = [s for s in exporter.get_finished_spans() if s.kind is trace.SpanKind.PRODUCER]
    assert producer.context is not None
    assert producer.parent is not None
    assert producer.parent.span_id == command.span_id
    # And the consumer's span a child of the relay's, through the Kafka header
    assert spans[0].context is not None
    assert spans[0].context.trace_id == command.trace_id
    assert spans[0].parent is not None
    assert spans[0].parent.span_id == producer.context.span_id


async def _async_spans(spans: list[ReadableSpan]) -> list[ReadableSpan]:
    return spans
