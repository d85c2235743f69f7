"""The network between services and the broker delayed, reset and black-holed.

A Tansu of the test's own advertises a fault proxy's address (tests/faultproxy.py), so the
relay's producer and the consumer group reach it only through the proxy. Events keep coming
while the link is slow, cut and swallowed; once it heals, the consumer's lag returns to zero
within a minute, and every event was applied exactly once, in its person's order.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from bensys.embedded import ManagedProcess, free_port, tansu
from shared.messaging.topics import dead_letter_topic, ensure_topics, topic_name
from tests.faultproxy import FaultProxy
from tests.integration.messaging_fixtures import META, things
from tests.integration.test_idempotent_consumer import Harness
from tests.support import eventually

pytestmark = pytest.mark.integration

PEOPLE = 20


@pytest.fixture
async def proxied_broker(tmp_path: Path) -> AsyncIterator[tuple[ManagedProcess, FaultProxy]]:
    port = free_port()
    proxy = FaultProxy("127.0.0.1", port)
    await proxy.start()
    broker = tansu(port, tmp_path / "broker", advertised_port=proxy.port)
    await asyncio.to_thread(broker.start)
    try:
        yield broker, proxy
    finally:
        await proxy.stop()
        await asyncio.to_thread(broker.stop)


async def append(harness: Harness, versions: dict[str, int], rnd: random.Random, n: int) -> None:
    for _ in range(n):
        person = f"p{rnd.randrange(PEOPLE)}"
        version = versions.get(person, 0)
        await harness.store.append(person, version, things(1, start=version), META)
        versions[person] = version + 1
        harness.relay.notify()


@pytest.mark.timeout(300)
async def test_a_slow_cut_or_swallowed_broker_link_heals_with_every_event_once_in_order(
    mongo_client: AsyncMongoClient[dict[str, Any]],
    db_name: str,
    namespace: str,
    proxied_broker: tuple[ManagedProcess, FaultProxy],
) -> None:
    _, proxy = proxied_broker
    bootstrap = f"127.0.0.1:{proxy.port}"
    topic = topic_name(namespace, "testing")
    await ensure_topics(bootstrap, [topic, dead_letter_topic(topic)], partitions=3)
    harness = Harness(mongo_client, db_name, bootstrap, topic, batches=True)
    await harness.store.ensure_indexes()
    await harness.publisher.start()
    await harness.broker.start()
    relay = asyncio.create_task(harness.relay.run())
    rnd = random.Random(1458)
    versions: dict[str, int] = {}
    try:
        # Given events flowing over a healthy link
        await append(harness, versions, rnd, 40)
        await eventually(harness.projection.total, lambda n: n == 40, within=60, what="healthy")
        # When the link is slow, then cuts every connection, then swallows everything,
        # with events appended all along
        slow: Callable[[], None] = lambda: proxy.delay(0.2)  # noqa: E731
        for fault in (slow, proxy.reset, proxy.black_hole):
            fault()
            await append(harness, versions, rnd, 40)
            await asyncio.sleep(3)
        assert await harness.projection.total() < 160  # the black hole did hold events back
        # Then once it heals, everything arrives within a minute, once each, in order
        proxy.heal()
        await eventually(harness.projection.total, lambda n: n >= 160, within=60, what="healed")
        await eventually(lambda: harness.store.unpublished(10), lambda left: not left)
        seen = await harness.projection.seen()
        assert seen == {person: list(range(count)) for person, count in versions.items()}
    finally:
        relay.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await relay
        await harness.broker.stop()
        await harness.publisher.stop()
