"""Appending a holder's events: from a request, or in reaction to the registry's events.

Both go through the holder's stream with its expected version and update the card index in
the same transaction. A reaction is idempotent by the id of the event it answers: a redelivered
``MigrantRegistered`` finds its command record and issues no second card.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from services.cards.context import Cards
from services.cards.domain import Holder
from shared.auth import Principal
from shared.commands import append_decided, command_id, fingerprint, previous_answer
from shared.contracts.base import Event
from shared.eventstore.model import CommandRecord, DuplicateCommand, EventMetadata, PendingEvent
from shared.messaging.envelope import Envelope
from shared.observability.tracing import current_traceparent

SYSTEM_ACTOR = "system:cards"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Retried:
    """A request's ``Idempotency-Key`` and what was answered to it before, if anything."""

    command: str | None
    fingerprint: str
    previous: dict[str, Any] | None


async def retried(cards: Cards, request: Request, scope: str, body: BaseModel) -> Retried:
    """Look the request up first: a retry gets the first answer and decides nothing again."""
    command = command_id(request, scope)
    request_fingerprint = fingerprint(body.model_dump(mode="json"))
    previous = await previous_answer(cards.runtime, command, request_fingerprint)
    return Retried(command, request_fingerprint, previous)


async def append_for_request(
    cards: Cards,
    request: Request,
    principal: Principal,
    *,
    holder: Holder,
    events: Sequence[Event],
    answer: Callable[[int], dict[str, Any]],
    retry: Retried | None = None,
) -> dict[str, Any]:
    return await append_decided(
        cards.runtime,
        request,
        principal,
        stream_id=holder.migrant_id,
        expected_version=holder.version,
        events=events,
        answer=answer,
        command=None if retry is None else retry.command,
        request_fingerprint="" if retry is None else retry.fingerprint,
        subject=holder.migrant_id,
        inline=cards.index.project,
    )


async def append_reaction(
    cards: Cards, holder: Holder, events: Sequence[Event], cause: Envelope, step: str
) -> None:
    """Append what the cards service decided on its own in answer to ``cause``."""
    metadata = EventMetadata(
        actor=SYSTEM_ACTOR,
        site=cause.site,
        correlation_id=cause.correlation_id,
        causation_id=cause.id,
        # The consumer's span handling ``cause``: the trace shows the reaction inside it.
        traceparent=current_traceparent() or cause.traceparent,
    )
    pending = [
        PendingEvent(type=e.ce_type(), data=e.to_data(), subject=holder.migrant_id) for e in events
    ]
    try:
        await cards.runtime.store.append(
            holder.migrant_id,
            holder.version,
            pending,
            metadata,
            command=CommandRecord(f"reaction:{cause.id}:{step}", fingerprint=""),
            inline=cards.index.project,
        )
    except DuplicateCommand:
        log.debug("reaction %s to %s was already carried out", step, cause.id)
        return
    for event in events:
        cards.runtime.metrics.events_appended.labels(type=event.ce_type()).inc()
    cards.runtime.relay.notify()
