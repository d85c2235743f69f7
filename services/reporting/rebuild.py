"""Rebuilding every reporting view from the beginning of the log, then swapping it in.

A new generation (a database of its own) is filled by replaying every topic from offset 0
through the same projections and the same idempotent consumer as the live one, so duplicates
on the topics count once and a poison message is skipped as it was live (reported here, not
sent to the dead-letter topic a second time). While the live consumer is paused, the replay
catches up with whatever arrived meanwhile; then the live consumer is pointed at the new
generation and the pointer document is written: readers see the old views or the new ones,
never a mixture. Messages the live consumer receives afterwards that the replay already
applied are recognised by their tracking records and count once.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from pymongo import AsyncMongoClient

from services.reporting.views import COLLECTIONS, ReportingViews, live_database, point_to
from shared.contracts.catalog import CATALOG
from shared.eventstore.model import utc_now
from shared.messaging.consumer import IdempotentConsumer, Outcome, ReceivedMessage

STALL_SECONDS = 30.0
"""A replay that receives nothing for this long before reaching the end gives up."""


class RebuildFailed(RuntimeError):
    """The replay could not reach the end of the log; the live views were left as they were."""


@dataclass
class SkippedMessages:
    """The rebuild's dead-letter sink: what the replay could not apply, kept for the answer."""

    skipped: list[dict[str, Any]] = field(default_factory=list)

    async def dead_letter(self, message: ReceivedMessage, *, group: str, reason: str) -> None:
        self.skipped.append(
            {
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
                "reason": reason[:500],
            }
        )


@dataclass(frozen=True)
class RebuildResult:
    database: str
    previous: str
    messages: int
    outcomes: dict[str, int]
    skipped: list[dict[str, Any]]
    seconds: float


class TopicReader:
    """Every partition of some topics, from the beginning, without a consumer group."""

    def __init__(self, bootstrap: str, topics: Sequence[str]) -> None:
        self._topics = topics
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        self._partitions: list[TopicPartition] = []

    async def start(self) -> None:
        await self._consumer.start()
        existing = await self._consumer.topics()
        for topic in self._topics:
            if topic in existing:  # a service that never published has no topic yet
                for number in sorted(self._consumer.partitions_for_topic(topic) or ()):
                    self._partitions.append(TopicPartition(topic, number))
        self._consumer.assign(self._partitions)
        if self._partitions:
            await self._consumer.seek_to_beginning(*self._partitions)

    async def stop(self) -> None:
        await self._consumer.stop()

    async def read_to_end(
        self, handle: Callable[[Sequence[ReceivedMessage]], Awaitable[Any]]
    ) -> int:
        """Hand every message up to the ends as they are now to ``handle``, a fetch at a
        time, in order per partition; how many there were."""
        if not self._partitions:
            return 0
        ends = await self._consumer.end_offsets(self._partitions)
        pending = {tp for tp in self._partitions if await self._consumer.position(tp) < ends[tp]}
        count, last_progress = 0, time.monotonic()
        while pending:
            batch = await self._consumer.getmany(*pending, timeout_ms=500)
            fetched = [
                ReceivedMessage(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    headers=list(record.headers),
                    value=record.value or b"",
                )
                for records in batch.values()
                for record in records
            ]
            if fetched:
                await handle(fetched)
                count += len(fetched)
                last_progress = time.monotonic()
            for tp in list(pending):
                if await self._consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
            if pending and time.monotonic() - last_progress > STALL_SECONDS:
                raise RebuildFailed(
                    "the replay stopped short of the end of "
                    + ", ".join(f"{tp.topic}[{tp.partition}]" for tp in sorted(pending))
                )
        return count


async def rebuild(
    *,
    client: AsyncMongoClient[dict[str, Any]],
    base: str,
    live: IdempotentConsumer,
    new_views: Callable[[str], ReportingViews],
    bootstrap: str,
    topics: Sequence[str],
    on_swap: Callable[[str], None],
) -> RebuildResult:
    """Replay ``topics`` into a fresh generation, then make it the live one."""
    started = time.monotonic()
    previous = await live_database(client, base)
    database = f"{base}_r{utc_now():%Y%m%d%H%M%S%f}"
    views = new_views(database)
    await views.ensure_indexes()
    outcomes: Counter[str] = Counter()
    skipped = SkippedMessages()
    replay = IdempotentConsumer(
        client=client,
        database=database,
        group=live.group,  # the same tracking ids: the live consumer then knows what was done
        projectors=views.projectors(),
        catalog=CATALOG,
        dead_letters=skipped,
        max_attempts=1,  # a message that fails in a replay failed the same way live
        batches=True,
        on_outcome=lambda _type, outcome: outcomes.update([outcome.value]),
    )
    reader = TopicReader(bootstrap, topics)
    await reader.start()
    try:
        messages = await reader.read_to_end(replay.handle_batch)
        async with live.paused():
            messages += await reader.read_to_end(replay.handle_batch)
            live.retarget(database, views.projectors())
            await point_to(client, base, database)
            on_swap(database)
    except BaseException:
        await client.drop_database(database)
        raise
    finally:
        await reader.stop()
    await _retire(client, base, previous)
    return RebuildResult(
        database=database,
        previous=previous,
        messages=messages,
        outcomes={outcome.value: outcomes[outcome.value] for outcome in Outcome},
        skipped=skipped.skipped,
        seconds=round(time.monotonic() - started, 3),
    )


async def _retire(client: AsyncMongoClient[dict[str, Any]], base: str, previous: str) -> None:
    """Drop the generation that was swapped out: its database, or, when it was the first one
    in the service's own database, only its collections (the event store lives there too)."""
    if previous != base:
        await client.drop_database(previous)
        return
    for name in COLLECTIONS:
        await client[base].drop_collection(name)
