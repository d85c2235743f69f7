"""The relay and the consumer SIGKILLed at random points, again and again, while events come.

Each life of tests/crash_worker.py runs a relay and a consumer group over one event store and
topic, and dies by SIGKILL after a random moment: in the middle of a publish, of a batch's
transaction, of an offset commit, or before it got anywhere. After the last kill, one more life
runs until it has caught up. Then the event store and the topic agree (every stored event is on
the topic), and the projection equals a clean replay of the store: each event applied once, in
its person's order.

``make test`` kills 8 lives; ``BENSYS_FAULTS=full`` kills 50.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import subprocess
import sys
from collections.abc import Sequence
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.reporting.rebuild import TopicReader
from shared.eventstore.mongo import MongoEventStore
from shared.messaging.consumer import ReceivedMessage
from shared.messaging.topics import dead_letter_topic, ensure_topics, topic_name
from tests.integration.messaging_fixtures import META, CountingProjection, things
from tests.support import eventually

pytestmark = pytest.mark.integration

FULL = os.environ.get("BENSYS_FAULTS") == "full"
KILLS = 50 if FULL else 8
EVENTS = 3_000 if FULL else 400
PEOPLE = 60 if FULL else 20


def start_worker(mongo_url: str, db: str, bootstrap: str, topic: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.crash_worker", mongo_url, db, bootstrap, topic, f"{db}-g"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def append_everything(store: MongoEventStore, rnd: random.Random) -> dict[str, int]:
    """What the API side does meanwhile: commands of one to three events for random people."""
    versions: dict[str, int] = {}
    stored = 0
    while stored < EVENTS:
        person = f"p{rnd.randrange(PEOPLE)}"
        count = min(rnd.randint(1, 3), EVENTS - stored)
        version = versions.get(person, 0)
        await store.append(person, version, things(count, start=version), META)
        versions[person] = version + count
        stored += count
        await asyncio.sleep(rnd.uniform(0, 0.02))
    return versions


async def everything_on(bootstrap: str, topic: str) -> list[ReceivedMessage]:
    """Every message on ``topic`` now, from the beginning, without a consumer group."""
    reader = TopicReader(bootstrap, [topic])
    await reader.start()
    received: list[ReceivedMessage] = []

    async def keep(batch: Sequence[ReceivedMessage]) -> None:
        received.extend(batch)

    try:
        await reader.read_to_end(keep)
    finally:
        await reader.stop()
    return received


@pytest.mark.timeout(1800 if FULL else 300)
async def test_relay_and_consumer_killed_at_random_keep_store_topic_and_projection_agreed(
    mongo_url_: str,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    kafka_bootstrap: str,
    namespace: str,
    db_name: str,
) -> None:
    topic = topic_name(namespace, "testing")
    await ensure_topics(kafka_bootstrap, [topic, dead_letter_topic(topic)], partitions=3)
    store = MongoEventStore(mongo_client, db_name)
    await store.ensure_indexes()
    rnd = random.Random(1458)
    appending = asyncio.create_task(append_everything(store, random.Random(7)))
    # Given the relay and the consumer dying by SIGKILL after random moments, KILLS times
    for _ in range(KILLS):
        worker = start_worker(mongo_url_, db_name, kafka_bootstrap, topic)
        await asyncio.sleep(rnd.uniform(0.5, 6.0))
        worker.send_signal(signal.SIGKILL)
        await asyncio.to_thread(worker.wait)
    versions = await appending
    # When one more life runs until it has caught up
    worker = start_worker(mongo_url_, db_name, kafka_bootstrap, topic)
    projection = CountingProjection(mongo_client, db_name)
    try:
        await eventually(
            projection.total, lambda n: n >= EVENTS, within=240 if FULL else 120, what="caught up"
        )
        await eventually(lambda: store.unpublished(10), lambda left: not left, what="relayed")
    finally:
        with contextlib.suppress(ProcessLookupError):
            worker.send_signal(signal.SIGKILL)
        await asyncio.to_thread(worker.wait)

    # Then every stored event is on the topic, and nothing went to the dead-letter topic
    stored_ids = {e.event_id for p in versions for e in await store.load(p)}
    records = await everything_on(kafka_bootstrap, topic)
    assert stored_ids <= {dict(r.headers)["ce_id"].decode() for r in records}
    assert await everything_on(kafka_bootstrap, dead_letter_topic(topic)) == []
    # And the projection equals a clean replay of the store: once each, in each person's order
    assert await projection.seen() == {p: list(range(count)) for p, count in versions.items()}
