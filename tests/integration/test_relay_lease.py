"""Several replicas of a service, one outbox: only the relay holding the lease publishes."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.eventstore.mongo import MongoEventStore
from shared.messaging.lease import MongoLease
from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.relay import OutboxRelay
from shared.messaging.topics import ensure_topics, topic_name
from tests.integration.messaging_fixtures import META, read_topic, things
from tests.support import eventually

pytestmark = pytest.mark.integration

TTL = timedelta(seconds=2)


def replica(
    client: AsyncMongoClient[dict[str, Any]],
    store: MongoEventStore,
    publisher: AiokafkaOutboxPublisher,
    *,
    database: str,
    topic: str,
    name: str,
) -> OutboxRelay:
    lease = MongoLease(client, database, name=topic, holder=name, ttl=TTL)
    return OutboxRelay(
        store,
        publisher,
        service="registry",
        topic=topic,
        lease=lease,
        lease_check_seconds=TTL.total_seconds() / 4,
        idle_seconds=0.05,
    )


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_two_replicas_publish_each_event_once_and_a_dead_leaders_lease_passes_on(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    db_name: str,
    kafka_bootstrap: str,
    namespace: str,
) -> None:
    topic = topic_name(namespace, "registry")
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    store = MongoEventStore(mongo_client, db_name)
    await store.ensure_indexes()
    publisher = AiokafkaOutboxPublisher(kafka_bootstrap)
    await publisher.start()
    first = replica(mongo_client, store, publisher, database=db_name, topic=topic, name="replica-a")
    second = replica(
        mongo_client, store, publisher, database=db_name, topic=topic, name="replica-b"
    )
    tasks = [asyncio.create_task(first.run()), asyncio.create_task(second.run())]
    try:
        # Given two replicas' relays running over one outbox while events are appended
        for person in range(20):
            await store.append(f"p{person}", 0, things(1), META)
            first.notify()
            second.notify()
        await eventually(lambda: store.unpublished(100), lambda left: not left, what="drained")
        # Then only one of them published, and each event is on the topic once
        published = {"a": first.published_total, "b": second.published_total}
        assert sorted(published.values()) == [0, 20], published
        leader, follower = (0, 1) if first.published_total else (1, 0)

        # When the leader dies without a word (no release) and more events come
        await stop(tasks[leader])
        for person in range(20, 30):
            await store.append(f"p{person}", 0, things(1), META)
        # Then the other replica takes over once the lease expires, and publishes them
        relays = (first, second)
        await eventually(lambda: store.unpublished(100), lambda left: not left, within=30)
        assert relays[follower].published_total == 10
    finally:
        for task in tasks:
            await stop(task)
        await publisher.stop()
    records = await read_topic(kafka_bootstrap, topic, expect=30)
    copies = Counter(dict(record.headers)["ce_id"] for record in records)
    assert len(copies) == 30
    assert set(copies.values()) == {1}


async def test_a_relay_stopping_cleanly_hands_its_lease_over_at_once(
    mongo_client: AsyncMongoClient[dict[str, Any]], db_name: str
) -> None:
    long = timedelta(minutes=10)
    a = MongoLease(mongo_client, db_name, name="topic", holder="a", ttl=long)
    b = MongoLease(mongo_client, db_name, name="topic", holder="b", ttl=long)
    assert await a.hold()
    assert await a.hold()  # renewing
    assert not await b.hold()  # held, not expired
    await a.release()
    assert await b.hold()
    assert not await a.hold()
