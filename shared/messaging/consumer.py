"""Process every event at least once and apply it exactly once (ARCHITECTURE §3.4).

The effect and a tracking record (the event id, per consumer group) commit in one MongoDB
transaction, so a redelivered event finds its tracking record and changes nothing. Offsets are
committed only after processing (the FastStream subscriber uses ``NACK_ON_ERROR``). An event
that keeps failing is sent to ``<topic>.dlq`` with the reason, and the consumer goes on; while
the database itself is away nothing is dead-lettered: the message is redelivered later.

Messages fetched together can be applied together (:meth:`IdempotentConsumer.handle_batch`,
for a consumer built with ``batches=True``): one transaction holds every tracking record and
every effect, so a batch costs one commit instead of one per event. Only projectors that read
and write solely through the session they are given may be batched: one that reads outside it
(as the cards service's reactions read the event store) would not see the batch's earlier,
uncommitted effects. A batch is only a shortcut: if anything in it fails (a redelivered event, a
poison message, a conflict), the transaction is rolled back and the batch is handled message by
message as before, with the same retries and dead letters. Partition order is kept either way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import ValidationError
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from shared.contracts.base import Event
from shared.contracts.catalog import EventCatalog, UnknownEventType
from shared.messaging.envelope import Envelope, MalformedEnvelope, from_kafka_record

log = logging.getLogger(__name__)
tracer = trace.get_tracer("bensys.consumer")

Projector = Callable[[Envelope, Event, AsyncClientSession], Awaitable[None]]
"""Applies one event to a read model, writing only through the given session."""


MAX_BATCH = 200
"""Events applied in one transaction at most: bounded, so a transaction stays short."""


class Outcome(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class ReceivedMessage:
    topic: str
    partition: int
    offset: int
    headers: list[tuple[str, bytes]]
    value: bytes


@dataclass(frozen=True)
class _Applicable:
    """A message whose event this consumer projects, decoded and ready to apply."""

    message: ReceivedMessage
    envelope: Envelope
    event: Event
    projector: Projector


class DeadLetterSink(Protocol):
    async def dead_letter(self, message: ReceivedMessage, *, group: str, reason: str) -> None: ...


class IdempotentConsumer:
    def __init__(
        self,
        *,
        client: AsyncMongoClient[dict[str, Any]],
        database: str,
        group: str,
        projectors: Mapping[str, Projector],
        catalog: EventCatalog,
        dead_letters: DeadLetterSink,
        max_attempts: int = 3,
        retry_backoff_seconds: float = 0.2,
        on_outcome: Callable[[str, Outcome], None] | None = None,
        batches: bool = False,
    ) -> None:
        self._client = client
        self._batches = batches
        self._tracking = client[database]["consumer_tracking"]
        self.group = group
        self._projectors = dict(projectors)
        self._catalog = catalog
        self._dead_letters = dead_letters
        self._max_attempts = max_attempts
        self._backoff = retry_backoff_seconds
        self._on_outcome = on_outcome or (lambda _type, _outcome: None)
        self._applying = asyncio.Lock()

    @property
    def event_types(self) -> Iterable[str]:
        return self._projectors.keys()

    def retarget(self, database: str, projectors: Mapping[str, Projector]) -> None:
        """From the next message on, apply into ``database`` with ``projectors``: a rebuilt
        generation of read models swapped in (call it while :meth:`paused`)."""
        self._tracking = self._client[database]["consumer_tracking"]
        self._projectors = dict(projectors)

    @asynccontextmanager
    async def paused(self) -> AsyncIterator[None]:
        """No message is applied while inside; the one being applied finishes first."""
        async with self._applying:
            yield

    async def handle(self, message: ReceivedMessage) -> Outcome:
        async with self._applying:
            return await self._handle(message)

    async def handle_batch(self, messages: Sequence[ReceivedMessage]) -> list[Outcome]:
        """Apply ``messages`` (in partition order) in as few transactions as possible; each
        message's outcome, in the order given."""
        async with self._applying:
            outcomes: list[Outcome] = []
            for start in range(0, len(messages), MAX_BATCH):
                outcomes += await self._handle_batch(messages[start : start + MAX_BATCH])
            return outcomes

    async def _handle_batch(self, messages: Sequence[ReceivedMessage]) -> list[Outcome]:
        applicable: list[_Applicable] = []
        outcomes: dict[int, Outcome] = {}
        for index, message in enumerate(messages):
            ready = self._applicable(message)
            if ready is None:  # ignored, malformed or undecodable: the one-message path says
                outcomes[index] = await self._handle(message)
            else:
                applicable.append(ready)
        if self._batches and len(applicable) > 1 and await self._apply_together(applicable):
            applied = iter(applicable)
            for index in range(len(messages)):
                if index not in outcomes:
                    outcomes[index] = self._count(next(applied).envelope.type, Outcome.APPLIED)
        else:
            for index, message in enumerate(messages):
                if index not in outcomes:
                    outcomes[index] = await self._handle(message)
        return [outcomes[index] for index in range(len(messages))]

    def _applicable(self, message: ReceivedMessage) -> _Applicable | None:
        try:
            envelope = from_kafka_record(message.headers, message.value)
            projector = self._projectors.get(envelope.type)
            if projector is None:
                current_type, _ = self._catalog.upcast(envelope.type, envelope.data)
                projector = self._projectors.get(current_type)
            if projector is None:
                return None
            event = self._catalog.decode(envelope.type, envelope.data)
        except (MalformedEnvelope, UnknownEventType, ValidationError):
            return None
        return _Applicable(message, envelope, event, projector)

    async def _apply_together(self, batch: Sequence[_Applicable]) -> bool:
        """True when every event of ``batch`` was applied in one transaction; False when
        nothing was (the caller then goes message by message). Raises only ConnectionFailure.
        """

        async def in_transaction(session: AsyncClientSession) -> None:
            await self._tracking.insert_many(
                [self._tracking_record(item.message, item.envelope) for item in batch],
                ordered=True,
                session=session,
            )
            for item in batch:
                with self._span(item.message, item.envelope):
                    await item.projector(item.envelope, item.event, session)

        try:
            async with self._client.start_session() as session:
                await session.with_transaction(in_transaction)
        except ConnectionFailure:
            raise
        except (PyMongoError, ValueError, KeyError, TypeError, ArithmeticError) as exc:
            log.info(
                "%s applies %d events one by one: together they failed (%s: %s)",
                self.group,
                len(batch),
                type(exc).__name__,
                str(exc)[:200],
            )
            return False
        return True

    def _tracking_record(self, message: ReceivedMessage, envelope: Envelope) -> dict[str, Any]:
        return {
            "_id": f"{self.group}:{envelope.id}",
            "group": self.group,
            "type": envelope.type,
            "topic": message.topic,
            "partition": message.partition,
            "offset": message.offset,
            "applied_at": datetime.now(UTC),
        }

    def _span(self, message: ReceivedMessage, envelope: Envelope) -> Any:
        """The consumer span of one event, a child of the span that produced it."""
        parent = TraceContextTextMapPropagator().extract(
            {"traceparent": envelope.traceparent or ""}
        )
        return tracer.start_as_current_span(
            f"{self.group} process {envelope.type}",
            context=parent,
            kind=trace.SpanKind.CONSUMER,
            attributes={
                "messaging.message.id": envelope.id,
                "messaging.destination": message.topic,
            },
        )

    async def _handle(self, message: ReceivedMessage) -> Outcome:
        try:
            envelope = from_kafka_record(message.headers, message.value)
        except MalformedEnvelope as exc:
            return await self._dead_letter(message, "?", f"malformed envelope: {exc}")
        projector = self._projectors.get(envelope.type)
        if projector is None:
            current_type, _ = self._catalog.upcast(envelope.type, envelope.data)
            projector = self._projectors.get(current_type)
        if projector is None:
            return self._count(envelope.type, Outcome.IGNORED)
        with self._span(message, envelope):
            return await self._apply(message, envelope, projector)

    async def _apply(
        self, message: ReceivedMessage, envelope: Envelope, projector: Projector
    ) -> Outcome:
        try:
            event = self._catalog.decode(envelope.type, envelope.data)
        except (UnknownEventType, ValidationError) as exc:
            return await self._dead_letter(message, envelope.type, f"undecodable event: {exc}")
        tracking_id = f"{self.group}:{envelope.id}"
        if await self._tracking.find_one({"_id": tracking_id}, projection={"_id": 1}):
            return self._count(envelope.type, Outcome.DUPLICATE)
        last_error = ""
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._apply_once(message, envelope, event, projector)
                return self._count(envelope.type, Outcome.APPLIED)
            except DuplicateKeyError:
                if await self._tracking.find_one({"_id": tracking_id}, projection={"_id": 1}):
                    return self._count(envelope.type, Outcome.DUPLICATE)
                last_error = "duplicate key in the projection"
            except ConnectionFailure:
                raise  # the database is away: redeliver later, this is not a poison message
            except (PyMongoError, ValueError, KeyError, TypeError, ArithmeticError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "%s could not apply %s (attempt %d/%d): %s",
                self.group,
                envelope.id,
                attempt,
                self._max_attempts,
                last_error,
            )
            if attempt < self._max_attempts:
                await asyncio.sleep(self._backoff * attempt)
        return await self._dead_letter(message, envelope.type, last_error)

    async def _apply_once(
        self,
        message: ReceivedMessage,
        envelope: Envelope,
        event: Event,
        projector: Projector,
    ) -> None:
        async def in_transaction(session: AsyncClientSession) -> None:
            await self._tracking.insert_one(
                self._tracking_record(message, envelope), session=session
            )
            await projector(envelope, event, session)

        async with self._client.start_session() as session:
            await session.with_transaction(in_transaction)

    async def _dead_letter(self, message: ReceivedMessage, event_type: str, reason: str) -> Outcome:
        log.error(
            "%s dead-letters %s[%d]@%d: %s",
            self.group,
            message.topic,
            message.partition,
            message.offset,
            reason,
        )
        await self._dead_letters.dead_letter(message, group=self.group, reason=reason)
        return self._count(event_type, Outcome.DEAD_LETTERED)

    def _count(self, event_type: str, outcome: Outcome) -> Outcome:
        self._on_outcome(event_type, outcome)
        return outcome
