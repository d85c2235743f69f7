"""Consumer lag measured from the broker: what a group has yet to read, per partition."""

from __future__ import annotations

import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.topics import ensure_topics, topic_name
from shared.observability.lag import ConsumerLagWatcher, Subscription
from shared.observability.metrics import ServiceMetrics

pytestmark = pytest.mark.integration


async def test_lag_is_what_a_group_has_not_committed_and_falls_to_zero_when_it_has(
    kafka_bootstrap: str, namespace: str
) -> None:
    # Given seven messages on a topic of three partitions, and a group that has read none
    topic = topic_name(namespace, "lagging")
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for n in range(7):
            await producer.send_and_wait(topic, f"m{n}".encode(), key=f"person-{n}".encode())
    finally:
        await producer.stop()
    publisher = AiokafkaOutboxPublisher(kafka_bootstrap)
    await publisher.start()
    metrics = ServiceMetrics()
    group = f"{namespace}-reporting"
    watcher = ConsumerLagWatcher(
        kafka_bootstrap,
        publisher.end_offsets,
        metrics.consumer_lag,
        [Subscription(group, (topic,))],
        interval_seconds=1,
    )
    try:
        # Then all seven count as lag, per partition, and /metrics shows it
        before = await watcher.measure()
        assert sum(before.values()) == 7
        assert {key[:2] for key in before} == {(group, topic)}
        assert len(before) == 3
        exposition = metrics.render()[0].decode()
        assert f'bensys_consumer_lag{{group="{group}",partition="0",topic="{topic}"}}' in exposition

        # When the group reads everything and commits
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            read, deadline = 0, time.monotonic() + 30
            while read < 7 and time.monotonic() < deadline:
                batch = await consumer.getmany(timeout_ms=500)
                read += sum(len(records) for records in batch.values())
            await consumer.commit()
        finally:
            await consumer.stop()

        # Then the lag is zero on every partition
        after = await watcher.measure()
        assert read == 7
        assert after == dict.fromkeys(before, 0)
    finally:
        await publisher.stop()
