"""The relay's bookkeeping, with the in-memory store and a fake broker (unit level)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from shared.eventstore.memory import InMemoryEventStore
from shared.eventstore.model import EventMetadata, PendingEvent
from shared.messaging.envelope import KafkaRecord
from shared.messaging.relay import OutboxRelay

META = EventMetadata(actor="t")


class FakeBroker:
    """One partition; ``forget()`` plays a broker restarted with an empty log."""

    def __init__(self) -> None:
        self.log: list[KafkaRecord] = []
        self.fail_next = False

    async def publish(self, topic: str, records: Sequence[KafkaRecord]) -> dict[int, int]:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("broker away")
        base = len(self.log)
        self.log.extend(records)
        return {0: base + 1}

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return {0: len(self.log)}

    def forget(self) -> None:
        self.log.clear()

    def subjects(self) -> list[int]:
        return [json.loads(r.value)["n"] for r in self.log]


def events(start: int, count: int) -> list[PendingEvent]:
    return [PendingEvent(type="bensys.t.E.v1", data={"n": n}) for n in range(start, start + count)]


async def test_a_failed_publish_marks_nothing_and_the_next_attempt_sends_it_all() -> None:
    store, broker = InMemoryEventStore(), FakeBroker()
    observed: list[tuple[int, int]] = []
    relay = OutboxRelay(
        store, broker, service="t", topic="t", observe=lambda p, b: observed.append((p, b))
    )
    await store.append("p", 0, events(0, 3), META)
    broker.fail_next = True
    with pytest.raises(ConnectionError):
        await relay.publish_pending()
    assert await store.published_count() == 0
    assert await relay.publish_pending() == 3
    assert broker.subjects() == [0, 1, 2]
    assert observed[-1] == (3, 0)
    assert (0, 3) in observed  # the backlog was seen before publishing


async def test_a_broker_that_forgot_is_refilled_before_anything_new_goes_out() -> None:
    store, broker = InMemoryEventStore(), FakeBroker()
    relay = OutboxRelay(store, broker, service="t", topic="t")
    await store.append("p", 0, events(0, 3), META)
    await relay.publish_pending()
    broker.forget()
    await store.append("p", 3, events(3, 2), META)
    while await relay.publish_pending():
        pass
    assert broker.subjects() == [0, 1, 2, 3, 4]
    assert relay.refills == 1


async def test_a_new_relay_on_a_healthy_broker_does_not_republish() -> None:
    store, broker = InMemoryEventStore(), FakeBroker()
    await store.append("p", 0, events(0, 3), META)
    await OutboxRelay(store, broker, service="t", topic="t").publish_pending()
    await store.append("p", 3, events(3, 1), META)
    restarted = OutboxRelay(store, broker, service="t", topic="t")
    await restarted.publish_pending()
    assert broker.subjects() == [0, 1, 2, 3]
    assert restarted.refills == 0
