"""An event store in a dict: the fake for unit tests, held to the same contract suite."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from shared.eventstore.audit import AuditedStream
from shared.eventstore.building import build_stored_events
from shared.eventstore.chain import GENESIS
from shared.eventstore.model import (
    CommandRecord,
    ConcurrencyConflict,
    DuplicateCommand,
    EventMetadata,
    PendingEvent,
    StoredEvent,
    utc_now,
)
from shared.eventstore.port import InlineProjection


class InMemoryEventStore:
    def __init__(self) -> None:
        self._streams: dict[str, list[StoredEvent]] = {}
        self._log: list[StoredEvent] = []
        self._published: set[str] = set()
        self._commands: dict[str, CommandRecord] = {}
        self._marks: dict[str, dict[int, int]] = {}
        self._lock = asyncio.Lock()

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
        async with self._lock:
            if command is not None and command.command_id in self._commands:
                raise DuplicateCommand(self._commands[command.command_id])
            stream = self._streams.get(stream_id, [])
            if len(stream) != expected_version:
                raise ConcurrencyConflict(stream_id, expected_version, len(stream))
            stored = build_stored_events(
                stream_id=stream_id,
                first_version=expected_version + 1,
                first_position=len(self._log) + 1,
                previous_chainhash=stream[-1].chainhash if stream else GENESIS,
                events=events,
                metadata=metadata,
                occurred_at=utc_now(),
            )
            if inline is not None:
                await inline(None, stored)
            self._streams[stream_id] = [*stream, *stored]
            self._log.extend(stored)
            if command is not None:
                self._commands[command.command_id] = command
            return stored

    async def load(self, stream_id: str, *, after_version: int = 0) -> list[StoredEvent]:
        return [e for e in self._streams.get(stream_id, []) if e.version > after_version]

    async def get_command(self, command_id: str) -> CommandRecord | None:
        return self._commands.get(command_id)

    async def read_all(self, *, after_position: int = 0, limit: int = 1000) -> list[StoredEvent]:
        return [e for e in self._log if e.position > after_position][:limit]

    async def audit_streams(self) -> AsyncIterator[AuditedStream]:
        for stream_id, events in sorted(self._streams.items()):
            yield AuditedStream(stream_id, sorted(events, key=lambda e: e.version), [])

    async def unpublished(self, limit: int) -> list[StoredEvent]:
        return [e for e in self._log if e.event_id not in self._published][:limit]

    async def mark_published(self, event_ids: Sequence[str]) -> None:
        self._published.update(event_ids)

    async def mark_all_unpublished(self) -> int:
        count = len(self._published)
        self._published.clear()
        return count

    async def published_count(self) -> int:
        return len(self._published)

    async def load_broker_marks(self, topic: str) -> dict[int, int]:
        return dict(self._marks.get(topic, {}))

    async def save_broker_marks(self, topic: str, marks: dict[int, int]) -> None:
        self._marks[topic] = dict(marks)
