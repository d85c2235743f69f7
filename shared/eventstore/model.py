"""What the event store keeps: the stored event, its metadata, and a command's first answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared.errors import Conflict
from shared.eventstore.chain import chain_hash


@dataclass(frozen=True)
class EventMetadata:
    """Who did it, where, and in answer to what: travels with every event into the envelope."""

    actor: str
    site: str | None = None
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None


@dataclass(frozen=True)
class PendingEvent:
    """An event decided by the domain, not yet stored."""

    type: str
    data: dict[str, Any]
    subject: str | None = None


@dataclass(frozen=True)
class StoredEvent:
    """An event as the store holds it: the unit of the audit trail and of the outbox."""

    event_id: str
    stream_id: str
    version: int
    position: int
    type: str
    subject: str
    data: dict[str, Any]
    occurred_at: datetime
    actor: str
    site: str | None
    correlation_id: str
    causation_id: str | None
    traceparent: str | None
    chainhash: str

    def hashed_fields(self) -> dict[str, Any]:
        """Everything an auditor vouches for; not position (store-local) nor trace context."""
        return {
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "version": self.version,
            "type": self.type,
            "subject": self.subject,
            "data": self.data,
            "occurred_at": format_time(self.occurred_at),
            "actor": self.actor,
            "site": self.site,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
        }

    def expected_chainhash(self, previous: str) -> str:
        return chain_hash(previous, self.hashed_fields())


@dataclass(frozen=True)
class CommandRecord:
    """The first answer to an idempotent command, stored in the same commit as its events."""

    command_id: str
    fingerprint: str
    result: dict[str, Any] = field(default_factory=dict)


class ConcurrencyConflict(Conflict):
    """Someone else appended to the stream first."""

    code = "version_conflict"

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"{stream_id} is at version {actual}, not {expected}: "
            "reload it and send the command again with the new version",
            details={"stream_id": stream_id, "expected_version": expected, "actual": actual},
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateCommand(Exception):
    """A command with this id was already carried out; its first answer is ``record``."""

    def __init__(self, record: CommandRecord) -> None:
        super().__init__(record.command_id)
        self.record = record


def utc_now() -> datetime:
    """Millisecond precision: what MongoDB stores, so a reloaded event hashes the same."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
