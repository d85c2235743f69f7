"""One contract every event store adapter passes (STYLE habit 7): subclass it, provide ``store``."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from shared.eventstore.chain import GENESIS
from shared.eventstore.model import (
    CommandRecord,
    ConcurrencyConflict,
    DuplicateCommand,
    EventMetadata,
    PendingEvent,
    StoredEvent,
)
from shared.eventstore.port import EventStore

META = EventMetadata(actor="registrar-1", site="Kdh Atoll", correlation_id="corr-1")


def pending(n: int, kind: str = "bensys.test.Happened.v1") -> list[PendingEvent]:
    return [PendingEvent(type=kind, data={"n": i, "name": "মোহাম্মদ"}) for i in range(n)]


def new_stream() -> str:
    return f"s-{uuid.uuid4().hex[:8]}"


class EventStoreContract:
    async def test_append_then_load_gives_the_events_back_in_version_order(
        self, store: EventStore
    ) -> None:
        stream = new_stream()
        stored = await store.append(stream, 0, pending(3), META)
        loaded = await store.load(stream)
        assert [e.version for e in loaded] == [1, 2, 3]
        assert loaded == stored
        assert [e.data["n"] for e in loaded] == [0, 1, 2]
        assert loaded[0].actor == "registrar-1"
        assert loaded[0].site == "Kdh Atoll"
        assert loaded[0].subject == stream

    async def test_a_stale_expected_version_is_a_conflict_and_stores_nothing(
        self, store: EventStore
    ) -> None:
        stream = new_stream()
        await store.append(stream, 0, pending(2), META)
        with pytest.raises(ConcurrencyConflict) as caught:
            await store.append(stream, 1, pending(1), META)
        assert caught.value.actual == 2
        assert "reload" in caught.value.message
        assert len(await store.load(stream)) == 2

    async def test_concurrent_writers_at_one_version_exactly_one_wins(
        self, store: EventStore
    ) -> None:
        stream = new_stream()
        await store.append(stream, 0, pending(1), META)
        results = await asyncio.gather(
            *(store.append(stream, 1, pending(2), META) for _ in range(8)),
            return_exceptions=True,
        )
        winners = [r for r in results if not isinstance(r, BaseException)]
        losers = [r for r in results if isinstance(r, ConcurrencyConflict)]
        assert len(winners) == 1
        assert len(losers) == 7
        assert [e.version for e in await store.load(stream)] == [1, 2, 3]

    async def test_only_one_of_many_first_events_starts_a_stream(self, store: EventStore) -> None:
        # One event on a new stream is the append that needs no transaction (MongoDB)
        stream = new_stream()
        results = await asyncio.gather(
            *(store.append(stream, 0, pending(1), META) for _ in range(8)),
            return_exceptions=True,
        )
        assert sum(1 for r in results if isinstance(r, list)) == 1
        assert sum(1 for r in results if isinstance(r, ConcurrencyConflict)) == 7
        [event] = await store.load(stream)
        assert event.chainhash == event.expected_chainhash(GENESIS)

    async def test_appends_at_once_get_distinct_positions_and_all_land(
        self, store: EventStore
    ) -> None:
        streams = [new_stream() for _ in range(12)]
        appended = await asyncio.gather(
            *(store.append(s, 0, pending(1 + i % 2), META) for i, s in enumerate(streams))
        )
        positions = [e.position for events in appended for e in events]
        assert len(set(positions)) == len(positions) == 18
        assert [len(await store.load(s)) for s in streams] == [1 + i % 2 for i in range(12)]

    async def test_global_positions_increase_across_streams(self, store: EventStore) -> None:
        first = await store.append(new_stream(), 0, pending(2), META)
        second = await store.append(new_stream(), 0, pending(1), META)
        positions = [e.position for e in first + second]
        assert positions == sorted(positions)
        assert len(set(positions)) == 3
        everything = await store.read_all(after_position=first[0].position - 1, limit=10)
        assert [e.event_id for e in everything[:3]] == [e.event_id for e in first + second]

    async def test_each_event_chains_to_the_one_before_it(self, store: EventStore) -> None:
        stream = new_stream()
        await store.append(stream, 0, pending(2), META)
        await store.append(stream, 2, pending(1), META)
        previous = GENESIS
        for event in await store.load(stream):
            assert event.chainhash == event.expected_chainhash(previous)
            previous = event.chainhash

    async def test_a_command_is_carried_out_once(self, store: EventStore) -> None:
        command = CommandRecord(f"cmd-{uuid.uuid4()}", "fp", {"migrant_id": "m-1"})
        await store.append(new_stream(), 0, pending(1), META, command=command)
        with pytest.raises(DuplicateCommand) as caught:
            await store.append(new_stream(), 0, pending(1), META, command=command)
        assert caught.value.record.result == {"migrant_id": "m-1"}
        assert await store.get_command(command.command_id) == command

    async def test_concurrent_retries_of_one_command_store_it_once(self, store: EventStore) -> None:
        command = CommandRecord(f"cmd-{uuid.uuid4()}", "fp", {"ok": True})
        streams = [new_stream() for _ in range(5)]
        results = await asyncio.gather(
            *(store.append(s, 0, pending(1), META, command=command) for s in streams),
            return_exceptions=True,
        )
        assert sum(1 for r in results if isinstance(r, list)) == 1
        assert all(isinstance(r, list | DuplicateCommand) for r in results)
        stored = [s for s in streams if await store.load(s)]
        assert len(stored) == 1

    async def test_the_outbox_gives_unpublished_events_in_position_order(
        self, store: EventStore
    ) -> None:
        a = await store.append(new_stream(), 0, pending(2), META)
        b = await store.append(new_stream(), 0, pending(1), META)
        outbox = await store.unpublished(100)
        ids = [e.event_id for e in outbox]
        assert ids == [e.event_id for e in a + b]
        await store.mark_published(ids[:2])
        assert [e.event_id for e in await store.unpublished(100)] == ids[2:]
        assert await store.published_count() == 2
        assert await store.mark_all_unpublished() == 2
        assert [e.event_id for e in await store.unpublished(100)] == ids

    async def test_an_inline_projection_commits_with_the_events_or_not_at_all(
        self, store: EventStore
    ) -> None:
        stream = new_stream()
        projected: list[int] = []

        async def project(_session: object, events: list[StoredEvent]) -> None:
            projected.extend(e.version for e in events)

        async def refuse(_session: object, _events: list[StoredEvent]) -> None:
            raise ValueError("the index refused it")

        await store.append(stream, 0, pending(2), META, inline=project)
        assert projected == [1, 2]
        with pytest.raises(ValueError, match="refused"):
            await store.append(stream, 2, pending(1), META, inline=refuse)
        assert [e.version for e in await store.load(stream)] == [1, 2]
