"""The event store port: what handlers, the relay and auditors need from any store.

Two adapters implement it, :class:`~shared.eventstore.memory.InMemoryEventStore` and
:class:`~shared.eventstore.mongo.MongoEventStore`, and one contract suite runs against both.
The stored events are also the outbox (STYLE habit 8): an event is appended unpublished, and the
relay marks it published once the broker has it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol

from shared.eventstore.audit import AuditedStream
from shared.eventstore.model import CommandRecord, EventMetadata, PendingEvent, StoredEvent

InlineProjection = Callable[[Any, list[StoredEvent]], Awaitable[None]]
"""Writes a service's own read model in the append's transaction (the session, or None in
memory), so the model can never disagree with the events it was built from."""


class EventStore(Protocol):
    async def append(
        self,
        stream_id: str,
        expected_version: int,
        events: Sequence[PendingEvent],
        metadata: EventMetadata,
        *,
        command: CommandRecord | None = None,
        inline: InlineProjection | None = None,
    ) -> list[StoredEvent]:
        """Append after ``expected_version`` (0 for a new stream), atomically with ``command``.

        Raises :class:`ConcurrencyConflict` when the stream moved on, and
        :class:`DuplicateCommand` when ``command`` was already carried out.
        """
        ...

    async def load(self, stream_id: str, *, after_version: int = 0) -> list[StoredEvent]: ...

    async def get_command(self, command_id: str) -> CommandRecord | None: ...

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Every stream, in position order: for auditors and rebuilds of a store at rest.

        Positions are unique and follow causality, but are not gap-free and appends in flight
        at once may commit out of position order: this is not a cursor to tail a live store by
        (consumers read the topics for that).
        """
        ...

    def audit_streams(self) -> AsyncIterator[AuditedStream]:
        """Every stream, its events in version order, and any stored document that is no
        longer an event: what an auditor checks the chains of (``shared.eventstore.audit``)."""
        ...

    async def unpublished(self, limit: int) -> list[StoredEvent]:
        """The outbox: events the broker has not confirmed yet, in position order."""
        ...

    async def mark_published(self, event_ids: Sequence[str]) -> None: ...

    async def mark_all_unpublished(self) -> int:
        """Put everything back in the outbox: the broker came back empty and must be refilled."""
        ...

    async def published_count(self) -> int: ...

    async def load_broker_marks(self, topic: str) -> dict[int, int]:
        """Per partition, an offset the broker's log must have reached if it still holds it."""
        ...

    async def save_broker_marks(self, topic: str, marks: dict[int, int]) -> None: ...
