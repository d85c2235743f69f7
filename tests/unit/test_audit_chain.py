"""The audit chain check names exactly the events that were tampered with, and nothing else."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from shared.eventstore.audit import UnreadableEvent, check_stream
from shared.eventstore.memory import InMemoryEventStore
from shared.eventstore.model import StoredEvent
from tests.contracts.eventstore import META, pending


@pytest.fixture
async def stream() -> list[StoredEvent]:
    """Five events of one stream, as appended (in two appends)."""
    store = InMemoryEventStore()
    await store.append("m-1", 0, pending(3), META)
    await store.append("m-1", 3, pending(2), META)
    [audited] = [s async for s in store.audit_streams()]
    assert audited.stream_id == "m-1"
    return audited.events


def problems(events: list[StoredEvent]) -> list[tuple[int | None, str]]:
    return [(p.version, p.problem) for p in check_stream("m-1", events)]


def test_an_untouched_stream_is_intact(stream: list[StoredEvent]) -> None:
    assert [e.version for e in stream] == [1, 2, 3, 4, 5]
    assert problems(stream) == []


def test_a_changed_event_is_named_alone(stream: list[StoredEvent]) -> None:
    # An auditor's nightmare: the sex recorded at registration quietly edited
    changed = replace(stream[2], data={**stream[2].data, "n": 99})
    assert problems([*stream[:2], changed, *stream[3:]]) == [(3, "changed")]
    [problem] = check_stream("m-1", [*stream[:2], changed, *stream[3:]])
    assert problem.event_id == stream[2].event_id


@pytest.mark.parametrize("field", ["actor", "site", "type", "subject", "occurred_at"])
def test_any_audited_attribute_changed_is_named(stream: list[StoredEvent], field: str) -> None:
    value: Any = stream[0].occurred_at.replace(year=2020) if field == "occurred_at" else "x"
    changed = replace(stream[1], **{field: value})
    assert problems([stream[0], changed, *stream[2:]]) == [(2, "changed")]


def test_a_removed_event_is_named_by_its_version(stream: list[StoredEvent]) -> None:
    assert problems([*stream[:1], *stream[2:]]) == [(2, "removed")]
    assert problems(stream[1:]) == [(1, "removed")]


def test_two_events_swapped_are_both_named_as_moved(stream: list[StoredEvent]) -> None:
    second, third = replace(stream[2], version=2), replace(stream[1], version=3)
    found = check_stream("m-1", [stream[0], second, third, *stream[3:]])
    assert [(p.version, p.problem) for p in found] == [(2, "reordered"), (3, "reordered")]
    assert "holds at version 3" in found[0].detail


def test_an_event_that_is_no_longer_an_event_is_named(stream: list[StoredEvent]) -> None:
    broken = UnreadableEvent("m-1", 4, "e-4", "not an event any more: KeyError: 'data'")
    found = check_stream("m-1", [*stream[:3], stream[4]], [broken])
    assert [(p.version, p.problem, p.event_id) for p in found] == [(4, "unreadable", "e-4")]
