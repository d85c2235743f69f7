"""Checking the audit chain (ARCHITECTURE §5): which stored events were changed, removed or
reordered since they were appended.

Each event's chainhash commits to its stream's previous chainhash and to its own content, so
each event is checked against the *stored* chainhash of the one before it: a changed event is
named alone (the next one still verifies against the hash it was chained to), a removed one
shows as a missing version, and an event whose hash verifies only under another version was
moved. What a chain cannot show alone is an event cut off the end of its stream, or a stream
rewritten whole with new hashes: the chainhash each event carried onto the topic
(``ce_chainhash``) is the anchor for those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from shared.eventstore.chain import GENESIS
from shared.eventstore.model import StoredEvent

Problem = Literal["changed", "removed", "reordered", "unreadable"]


@dataclass(frozen=True)
class ChainProblem:
    stream_id: str
    version: int | None
    event_id: str | None
    problem: Problem
    detail: str


@dataclass(frozen=True)
class UnreadableEvent:
    """A stored document that is no longer an event at all (a field removed or retyped)."""

    stream_id: str
    version: int | None
    event_id: str
    error: str


@dataclass(frozen=True)
class AuditedStream:
    """One stream as an auditor reads it from a store."""

    stream_id: str
    events: list[StoredEvent]
    unreadable: list[UnreadableEvent]


def check_stream(
    stream_id: str, events: Sequence[StoredEvent], unreadable: Sequence[UnreadableEvent] = ()
) -> list[ChainProblem]:
    """The problems of one stream whose readable events are given in version order."""
    problems = [
        ChainProblem(stream_id, u.version, u.event_id, "unreadable", u.error) for u in unreadable
    ]
    broken = {u.version for u in unreadable}
    stored_hash = {e.version: e.chainhash for e in events}
    expected_version, previous = 1, GENESIS
    for event in events:
        for missing in range(expected_version, event.version):
            if missing not in broken:
                problems.append(
                    ChainProblem(
                        stream_id, missing, None, "removed", f"version {missing} is missing"
                    )
                )
        after_gap = event.version != expected_version
        if not after_gap and event.expected_chainhash(previous) != event.chainhash:
            problem = _mismatch(stream_id, event, stored_hash)
            if problem is not None:
                problems.append(problem)
        expected_version, previous = event.version + 1, event.chainhash
    return sorted(problems, key=lambda p: (p.version or 0, p.problem))


def _mismatch(
    stream_id: str, event: StoredEvent, stored_hash: dict[int, str]
) -> ChainProblem | None:
    """Changed, or a true event at the wrong version: its hash holds at another place in the
    stream, after an event that is still there (only mismatches pay for this search). None
    for an intact event whose predecessor was moved: that one is named, not this."""
    predecessors = {GENESIS, *stored_hash.values()}
    if any(event.expected_chainhash(p) == event.chainhash for p in predecessors):
        return None
    for version in range(1, max(stored_hash) + 2):
        if version == event.version:
            continue
        moved = replace(event, version=version)
        if any(moved.expected_chainhash(p) == event.chainhash for p in predecessors):
            return ChainProblem(
                stream_id,
                event.version,
                event.event_id,
                "reordered",
                f"stored as version {event.version}; its hash holds at version {version}",
            )
    return ChainProblem(
        stream_id,
        event.version,
        event.event_id,
        "changed",
        "its content no longer matches its chainhash",
    )
