"""Applying a fetched batch in one transaction, and falling back to one by one when it fails."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.eventstore.model import StoredEvent
from shared.eventstore.mongo import MongoEventStore
from shared.messaging.consumer import IdempotentConsumer, Outcome, ReceivedMessage
from shared.messaging.envelope import Envelope, to_kafka_record
from tests.integration.messaging_fixtures import (
    META,
    TEST_CATALOG,
    CountingProjection,
    ThingCounted,
    things,
)

pytestmark = pytest.mark.integration


class DeadLetters:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def dead_letter(self, message: ReceivedMessage, *, group: str, reason: str) -> None:
        self.reasons.append(reason)


class SessionsSeen(CountingProjection):
    """Also keeps the session that applied each event: the consumer starts one session per
    transaction (kept here, so no two are the same object)."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str) -> None:
        super().__init__(client, database)
        self.applied_in: list[AsyncClientSession] = []

    @property
    def sessions(self) -> set[int]:
        return {id(session) for session in self.applied_in}

    async def apply(self, envelope: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert session.in_transaction
        self.applied_in.append(session)
        await super().apply(envelope, event, session)


def _messages(events: list[StoredEvent]) -> list[ReceivedMessage]:
    messages = []
    for offset, event in enumerate(events):
        record = to_kafka_record(event, service="testing")
        messages.append(
            ReceivedMessage(
                topic="testing",
                partition=0,
                offset=offset,
                headers=list(record.headers),
                value=record.value,
            )
        )
    return messages


async def _setup(
    client: AsyncMongoClient[dict[str, Any]], db: str, *, batches: bool
) -> tuple[MongoEventStore, SessionsSeen, IdempotentConsumer, DeadLetters]:
    store = MongoEventStore(client, db)
    await store.ensure_indexes()
    projection = SessionsSeen(client, db)
    dead = DeadLetters()
    consumer = IdempotentConsumer(
        client=client,
        database=db,
        group="batches",
        projectors={ThingCounted.ce_type(): projection.apply},
        catalog=TEST_CATALOG,
        dead_letters=dead,
        max_attempts=2,
        retry_backoff_seconds=0.01,
        batches=batches,
    )
    return store, projection, consumer, dead


async def test_a_batch_is_applied_in_one_transaction_in_order(
    mongo_client: AsyncMongoClient[dict[str, Any]], db_name: str
) -> None:
    store, projection, consumer, _ = await _setup(mongo_client, db_name, batches=True)
    await store.append("p1", 0, things(5), META)
    await store.append("p2", 0, things(3), META)
    messages = _messages([*await store.load("p1"), *await store.load("p2")])

    outcomes = await consumer.handle_batch(messages)

    assert outcomes == [Outcome.APPLIED] * 8
    assert await projection.seen() == {"p1": [0, 1, 2, 3, 4], "p2": [0, 1, 2]}
    assert len(projection.sessions) == 1


async def test_a_batch_with_an_applied_event_falls_back_and_counts_it_once(
    mongo_client: AsyncMongoClient[dict[str, Any]], db_name: str
) -> None:
    store, projection, consumer, _ = await _setup(mongo_client, db_name, batches=True)
    await store.append("p1", 0, things(4), META)
    messages = _messages(await store.load("p1"))
    assert await consumer.handle(messages[1]) is Outcome.APPLIED  # delivered before, alone

    outcomes = await consumer.handle_batch(messages)

    assert outcomes == [Outcome.APPLIED, Outcome.DUPLICATE, Outcome.APPLIED, Outcome.APPLIED]
    assert await projection.seen() == {"p1": [1, 0, 2, 3]}  # 1 first, then the rest once


async def test_a_poison_event_in_a_batch_is_dead_lettered_and_the_rest_applied_once(
    mongo_client: AsyncMongoClient[dict[str, Any]], db_name: str
) -> None:
    store, projection, consumer, dead = await _setup(mongo_client, db_name, batches=True)
    await store.append("p1", 0, things(4, poison_at=2), META)
    messages = [*_messages(await store.load("p1"))]
    not_an_event = ReceivedMessage("testing", 0, 99, [], b"not an event")

    outcomes = await consumer.handle_batch([*messages[:2], not_an_event, *messages[2:]])

    assert outcomes == [
        Outcome.APPLIED,
        Outcome.APPLIED,
        Outcome.DEAD_LETTERED,
        Outcome.DEAD_LETTERED,
        Outcome.APPLIED,
    ]
    assert await projection.seen() == {"p1": [0, 1, 3]}  # the failed batch left no trace
    assert len(dead.reasons) == 2
    assert "cannot be counted" in " ".join(dead.reasons)


async def test_a_consumer_without_batches_applies_each_event_in_its_own_transaction(
    mongo_client: AsyncMongoClient[dict[str, Any]], db_name: str
) -> None:
    store, projection, consumer, _ = await _setup(mongo_client, db_name, batches=False)
    await store.append("p1", 0, things(3), META)

    outcomes = await consumer.handle_batch(_messages(await store.load("p1")))

    assert outcomes == [Outcome.APPLIED] * 3
    assert len(projection.sessions) == 3
