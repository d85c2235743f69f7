"""The outbox relay: in order per person, at least once, and a broker that forgets is refilled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from bensys.embedded import ManagedProcess
from shared.eventstore.mongo import MongoEventStore
from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.relay import OutboxRelay
from shared.messaging.topics import ensure_topics, topic_name
from tests.integration.messaging_fixtures import META, by_subject, read_topic, things
from tests.support import eventually

pytestmark = pytest.mark.integration


@pytest.fixture
async def store(mongo_client: AsyncMongoClient[dict[str, Any]], db_name: str) -> MongoEventStore:
    store = MongoEventStore(mongo_client, db_name)
    await store.ensure_indexes()
    return store


async def test_events_reach_the_topic_in_each_persons_order(
    kafka_bootstrap: str, store: MongoEventStore, namespace: str
) -> None:
    # Given three people with five events each, appended in interleaved commands
    topic = topic_name(namespace, "registry")
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    for round_ in range(5):
        for person in ("p1", "p2", "p3"):
            await store.append(person, round_, things(1, start=round_), META)
    publisher = AiokafkaOutboxPublisher(kafka_bootstrap)
    await publisher.start()
    try:
        # When the relay drains the outbox
        relay = OutboxRelay(store, publisher, service="registry", topic=topic, batch_size=4)
        while await relay.publish_pending():
            pass
    finally:
        await publisher.stop()
    # Then every event is there once, in each person's order, and the outbox is empty
    records = await read_topic(kafka_bootstrap, topic, expect=15)
    assert by_subject(records) == {p: [0, 1, 2, 3, 4] for p in ("p1", "p2", "p3")}
    assert await store.unpublished(100) == []


class CrashBeforeMark(MongoEventStore):
    """The relay's process dies after the broker confirmed, before the store heard of it."""

    async def mark_published(self, event_ids: Sequence[str]) -> None:
        raise SystemExit("relay killed between publish and mark")


async def test_a_relay_killed_between_publish_and_mark_publishes_again_and_loses_nothing(
    kafka_bootstrap: str,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    db_name: str,
    namespace: str,
) -> None:
    topic = topic_name(namespace, "registry")
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    crashing = CrashBeforeMark(mongo_client, db_name)
    await crashing.ensure_indexes()
    await crashing.append("p1", 0, things(3), META)
    publisher = AiokafkaOutboxPublisher(kafka_bootstrap)
    await publisher.start()
    try:
        with pytest.raises(SystemExit):
            await OutboxRelay(
                crashing, publisher, service="registry", topic=topic
            ).publish_pending()
        # When a new relay starts on the same store
        store = MongoEventStore(mongo_client, db_name)
        assert (
            await OutboxRelay(store, publisher, service="registry", topic=topic).publish_pending()
            == 3
        )
    finally:
        await publisher.stop()
    # Then the topic holds the events twice (at least once), in order both times
    records = await read_topic(kafka_bootstrap, topic, expect=6)
    assert by_subject(records) == {"p1": [0, 1, 2, 0, 1, 2]}
    assert await store.unpublished(10) == []


async def test_a_broker_restarted_empty_mid_stream_is_refilled_with_everything(
    store: MongoEventStore, namespace: str, private_broker: ManagedProcess
) -> None:
    # Given a broker of this test's own and a running relay
    broker = private_broker
    bootstrap = f"127.0.0.1:{broker.port}"
    topic = topic_name(namespace, "registry")
    await ensure_topics(bootstrap, [topic], partitions=3)
    publisher = AiokafkaOutboxPublisher(bootstrap, request_timeout_ms=3000)
    await publisher.start()
    relay = OutboxRelay(
        store,
        publisher,
        service="registry",
        topic=topic,
        broker_check_seconds=0.2,
        max_backoff_seconds=0.5,
    )
    running = asyncio.create_task(relay.run())
    try:
        await store.append("p1", 0, things(10), META)
        relay.notify()
        await eventually(store.published_count, lambda n: n == 10, what="first ten published")

        # When the broker is killed and comes back with an empty log, while events keep coming
        broker.kill()
        await store.append("p1", 10, things(10, start=10), META)
        broker.start()
        await ensure_topics(bootstrap, [topic], partitions=3)
        await store.append("p2", 0, things(5), META)
        relay.notify()

        # Then the relay refills the topic: every event of every person, in order
        await eventually(lambda: _async(relay.refills), lambda n: n >= 1, what="a refill")
        await eventually(store.published_count, lambda n: n == 25, within=30, what="all marked")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
        await publisher.stop()
    records = await read_topic(bootstrap, topic, expect=25)
    grouped = by_subject(records)
    assert grouped["p1"] == list(range(20))
    assert grouped["p2"] == list(range(5))


async def _async(value: int) -> int:
    return value
