"""A service's moving parts in a process of their own, to be SIGKILLed at random points.

``python -m tests.crash_worker MONGO_URL DATABASE BOOTSTRAP TOPIC GROUP`` runs an outbox relay
over ``DATABASE``'s event store, publishing to ``TOPIC``, and a consumer group ``GROUP`` that
applies ``TOPIC`` to the counting projection in the same database (in batches, as services
do), until it is killed. tests/integration/test_process_kills.py kills it again and again.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient

from shared.eventstore.mongo import MongoEventStore
from shared.messaging.consumer import IdempotentConsumer
from shared.messaging.faststream_wiring import FastStreamDeadLetters, subscribe
from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.relay import OutboxRelay
from tests.integration.messaging_fixtures import TEST_CATALOG, CountingProjection, ThingCounted


async def main(mongo_url: str, database: str, bootstrap: str, topic: str, group: str) -> None:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url)
    store = MongoEventStore(client, database)
    publisher = AiokafkaOutboxPublisher(bootstrap, request_timeout_ms=3000)
    relay = OutboxRelay(
        store,
        publisher,
        service="testing",
        topic=topic,
        broker_check_seconds=0.2,
        idle_seconds=0.05,
    )
    broker = KafkaBroker(bootstrap)
    projection = CountingProjection(client, database)
    consumer = IdempotentConsumer(
        client=client,
        database=database,
        group=group,
        projectors={ThingCounted.ce_type(): projection.apply},
        catalog=TEST_CATALOG,
        dead_letters=FastStreamDeadLetters(broker),
        batches=True,
    )
    subscribe(broker, consumer, topic)
    await publisher.start()
    await broker.start()
    print("worker running", flush=True)
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
