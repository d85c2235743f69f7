"""Carrying out a command: idempotency, metadata, append, and waking the relay.

A handler decides events with its pure domain, then calls :func:`append_decided`. With an
``Idempotency-Key`` the first answer is stored in the same transaction as the events, so a
retried request returns that answer and never writes twice.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import Request

from shared.auth import Principal
from shared.contracts.base import Event
from shared.errors import Invalid
from shared.eventstore.model import CommandRecord, DuplicateCommand, EventMetadata, PendingEvent
from shared.eventstore.port import InlineProjection
from shared.observability.tracing import current_traceparent
from shared.runtime import ServiceRuntime

CORRELATION_HEADER = "X-Correlation-ID"


def fingerprint(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def command_id(request: Request, scope: str) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not 1 <= len(key) <= 200:
        raise Invalid("Idempotency-Key must be 1 to 200 characters")
    return f"{scope}:{key}"


async def previous_answer(
    runtime: ServiceRuntime, command: str | None, request_fingerprint: str
) -> dict[str, Any] | None:
    if command is None:
        return None
    record = await runtime.store.get_command(command)
    return None if record is None else _same_request(record, request_fingerprint)


async def append_decided(
    runtime: ServiceRuntime,
    request: Request,
    principal: Principal,
    *,
    stream_id: str,
    expected_version: int,
    events: Sequence[Event],
    answer: Callable[[int], dict[str, Any]],
    command: str | None = None,
    request_fingerprint: str = "",
    subject: str | None = None,
    inline: InlineProjection | None = None,
) -> dict[str, Any]:
    """Append ``events``; return ``answer(new_version)``, or the first answer of a retry."""
    metadata = EventMetadata(
        actor=principal.subject,
        site=principal.site,
        correlation_id=request.headers.get(CORRELATION_HEADER),
        traceparent=current_traceparent(),
    )
    new_version = expected_version + len(events)
    result = answer(new_version)
    pending = [PendingEvent(type=e.ce_type(), data=e.to_data(), subject=subject) for e in events]
    record = None if command is None else CommandRecord(command, request_fingerprint, result)
    try:
        await runtime.store.append(
            stream_id, expected_version, pending, metadata, command=record, inline=inline
        )
    except DuplicateCommand as duplicate:
        return _same_request(duplicate.record, request_fingerprint)
    for event in events:
        runtime.metrics.events_appended.labels(type=event.ce_type()).inc()
    runtime.relay.notify()
    return result


def _same_request(record: CommandRecord, request_fingerprint: str) -> dict[str, Any]:
    if record.fingerprint != request_fingerprint:
        raise Invalid(
            "this Idempotency-Key was already used for a different request: "
            "use a new key for a new request, or resend the original request unchanged"
        )
    return record.result
