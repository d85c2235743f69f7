"""The CloudEvents envelope survives a real broker with every header ARCHITECTURE §2 names."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.eventstore.model import EventMetadata
from shared.eventstore.mongo import MongoEventStore
from shared.messaging.envelope import from_kafka_record
from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.relay import OutboxRelay
from shared.messaging.topics import ensure_topics, topic_name
from tests.integration.messaging_fixtures import read_topic, things

pytestmark = pytest.mark.integration

UUID7 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def test_every_header_round_trips_through_the_broker(
    kafka_bootstrap: str,
    mongo_client: AsyncMongoClient[dict[str, Any]],
    db_name: str,
    namespace: str,
) -> None:
    # Given an event stored with full metadata
    topic = topic_name(namespace, "registry")
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    store = MongoEventStore(mongo_client, db_name)
    await store.ensure_indexes()
    metadata = EventMetadata(
        actor="registrar-7",
        site="Kdh Atoll",
        correlation_id="corr-42",
        causation_id="cause-41",
        traceparent=TRACEPARENT,
    )
    [stored] = await store.append("migrant-1", 0, things(1), metadata)
    publisher = AiokafkaOutboxPublisher(kafka_bootstrap)
    await publisher.start()
    try:
        # When the relay publishes it
        await OutboxRelay(store, publisher, service="registry", topic=topic).publish_pending()
    finally:
        await publisher.stop()

    # Then the record on the topic carries the CloudEvents binary-mode headers
    [record] = await read_topic(kafka_bootstrap, topic, expect=1)
    headers = {name: value.decode() for name, value in record.headers}
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_id"] == stored.event_id
    assert UUID7.match(headers["ce_id"])
    assert headers["ce_source"] == "/bensys/registry"
    assert headers["ce_type"] == "bensys.testing.ThingCounted.v1"
    assert headers["ce_subject"] == "migrant-1"
    assert headers["ce_time"].endswith("Z")
    assert headers["content-type"] == "application/json"
    assert headers["ce_sequence"] == "1"
    assert headers["ce_actor"] == "registrar-7"
    assert headers["ce_site"] == "Kdh Atoll"
    assert headers["ce_correlationid"] == "corr-42"
    assert headers["ce_causationid"] == "cause-41"
    assert headers["ce_chainhash"] == stored.chainhash
    # the command's trace, continued by the relay's publish span (tests/integration/test_one_trace)
    assert headers["traceparent"].split("-")[1] == TRACEPARENT.split("-")[1]
    assert record.key == b"migrant-1"

    # And it decodes back to what was stored
    envelope = from_kafka_record(record.headers, record.value)
    assert envelope.id == stored.event_id
    assert envelope.time == stored.occurred_at
    assert envelope.sequence == stored.version
    assert envelope.data == stored.data
