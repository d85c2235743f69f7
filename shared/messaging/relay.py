"""The outbox relay: publishes stored events to Kafka in order and marks them published.

At least once: an event is marked only after the broker confirmed it, so a relay killed
between publish and mark publishes it again (consumers drop the duplicate by event id).

A broker can come back without its log (Tansu keeps it in memory). The relay must notice
*before* it publishes anything new, or new events would land ahead of the old ones they follow.
So before each batch it compares the partitions' end offsets with marks it keeps in the store
(per partition, where the broker put its last confirmed batch). A log that falls short of a mark
means the broker forgot: every event goes back in the outbox and is published again, in order.
It is published again only after a grace period of an empty log: consumers still holding their
offsets in the old log then find them past its end and start over from the beginning, rather
than read on from an old offset that the refilled log would already have reached (which made
them apply a person's newer events before the older ones: tests/integration/test_broker_faults).

Each event that came with a trace gets a producer span here, a child of the command's span,
and the message carries that span's traceparent: a trace then reads command, relay, consumer,
as the event travelled. The trace context is not part of the audit chain, so replacing it on
the wire changes no chainhash.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterator, Sequence

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from pymongo.errors import ConnectionFailure

from shared.eventstore.model import StoredEvent
from shared.eventstore.port import EventStore
from shared.messaging.envelope import to_kafka_record
from shared.messaging.lease import AlwaysHeld, Lease
from shared.messaging.publisher import OutboxPublisher
from shared.observability.tracing import context_from_traceparent, traceparent_of

log = logging.getLogger(__name__)
tracer = trace.get_tracer("bensys.relay")


class OutboxRelay:
    def __init__(
        self,
        store: EventStore,
        publisher: OutboxPublisher,
        *,
        service: str,
        topic: str,
        batch_size: int = 500,
        idle_seconds: float = 0.2,
        broker_check_seconds: float = 2.0,
        max_backoff_seconds: float = 5.0,
        observe: Callable[[int, int], None] | None = None,
        lease: Lease | None = None,
        lease_check_seconds: float = 5.0,
        refill_grace_seconds: float = 0.0,
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._service = service
        self._topic = topic
        self._batch_size = batch_size
        self._idle_seconds = idle_seconds
        self._broker_check_seconds = broker_check_seconds
        self._max_backoff = max_backoff_seconds
        self._observe = observe or (lambda _published, _backlog: None)
        self._refill_grace = refill_grace_seconds
        self._quiet_until = 0.0
        self._lease = lease or AlwaysHeld()
        self._lease_check_seconds = lease_check_seconds
        self._lease_checked_at: float | None = None
        self._wake = asyncio.Event()
        self._marks: dict[int, int] | None = None
        self.published_total = 0
        self.refills = 0

    def notify(self) -> None:
        """Called after an append: publish now rather than at the next poll."""
        self._wake.set()

    async def publish_pending(self) -> int:
        """Publish one batch from the outbox; returns how many events went out."""
        if time.monotonic() < self._quiet_until:
            return 0  # the refill's grace period: the emptied log stays empty a while
        events = await self._store.unpublished(self._batch_size)
        self._observe(0, len(events))
        if not events:
            return 0
        if await self.refill_if_broker_lost_its_log():
            if self._refill_grace:
                return 0
            events = await self._store.unpublished(self._batch_size)
        with self._producer_spans(events) as traced:
            records = [to_kafka_record(event, service=self._service) for event in traced]
            reached = await self._publisher.publish(self._topic, records)
        await self._store.mark_published([event.event_id for event in events])
        marks = await self._load_marks()
        self._marks = {**marks, **{p: max(o, marks.get(p, 0)) for p, o in reached.items()}}
        await self._store.save_broker_marks(self._topic, self._marks)
        self.published_total += len(events)
        self._observe(len(events), 0)
        return len(events)

    @contextlib.contextmanager
    def _producer_spans(self, events: Sequence[StoredEvent]) -> Iterator[list[StoredEvent]]:
        """The events, each traced one carrying its own producer span's traceparent; the
        spans end when the batch is confirmed (or failed) by the broker."""
        spans: list[Span] = []
        traced: list[StoredEvent] = []
        for event in events:
            if event.traceparent is None:
                traced.append(event)
                continue
            span = tracer.start_span(
                f"{self._topic} publish",
                context=context_from_traceparent(event.traceparent),
                kind=SpanKind.PRODUCER,
                attributes={
                    "messaging.system": "kafka",
                    "messaging.destination.name": self._topic,
                    "messaging.message.id": event.event_id,
                    "bensys.event.type": event.type,
                },
            )
            spans.append(span)
            traced.append(dataclasses.replace(event, traceparent=traceparent_of(span)))
        try:
            yield traced
        except BaseException as error:
            for span in spans:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
            raise
        finally:
            for span in spans:
                span.end()

    async def refill_if_broker_lost_its_log(self) -> bool:
        marks = await self._load_marks()
        if not marks:
            return False
        ends = await self._publisher.end_offsets(self._topic)
        if all(ends.get(partition, 0) >= mark for partition, mark in marks.items()):
            return False
        log.warning("the broker lost the log of %s: publishing every event again", self._topic)
        await self._store.mark_all_unpublished()
        self._marks = {}
        await self._store.save_broker_marks(self._topic, {})
        self.refills += 1
        self._quiet_until = time.monotonic() + self._refill_grace
        return True

    async def _load_marks(self) -> dict[int, int]:
        if self._marks is None:
            self._marks = await self._store.load_broker_marks(self._topic)
        return self._marks

    async def backlog(self) -> int:
        return len(await self._store.unpublished(self._batch_size))

    async def release(self) -> None:
        """After :meth:`run` was cancelled: let another replica's relay take over at once."""
        await self._lease.release()
        self._lease_checked_at = None

    async def _leading(self) -> bool:
        """Whether this relay holds the lease, asking the database at most every few seconds
        (the lease lasts three times as long)."""
        now = time.monotonic()
        checked = self._lease_checked_at
        if checked is not None and now - checked < self._lease_check_seconds:
            return True
        if await self._lease.hold():
            self._lease_checked_at = now
            return True
        self._lease_checked_at = None
        self._marks = None  # the leader may have moved them meanwhile: read them again
        return False

    async def run(self) -> None:
        """Until cancelled. Failures are logged and retried with backoff: nothing is dropped."""
        backoff = 0.1
        next_check = 0.0
        while True:
            try:
                if not await self._leading():
                    await asyncio.sleep(self._lease_check_seconds)
                    continue
                if time.monotonic() >= next_check:
                    await self.refill_if_broker_lost_its_log()
                    next_check = time.monotonic() + self._broker_check_seconds
                published = await self.publish_pending()
                backoff = 0.1
                if published == 0:
                    await self._wait_for_work()
            except asyncio.CancelledError:
                raise
            except ConnectionFailure as away:  # expected while the database restarts
                log.warning(
                    "relay of %s waits for the database (%s); retrying in %.1fs",
                    self._topic,
                    type(away).__name__,
                    backoff,
                )
                next_check = 0.0
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
            except Exception:
                log.exception("relay of %s failed; retrying in %.1fs", self._topic, backoff)
                next_check = 0.0
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)

    async def _wait_for_work(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self._idle_seconds)
        self._wake.clear()
