"""Logging a call: its caller resolved, its details sealed, and its event appended once.

The write side of ``/calls``, kept apart from the routes so that they only translate.
"""

from __future__ import annotations

from fastapi import Request

from services.helpline.call_log import CallLog
from services.helpline.call_schemas import Caller, ResolvedCaller
from services.helpline.calls import LogCall, e164
from services.helpline.context import Helpline
from shared.auth import Principal
from shared.bencard.numbers import InvalidCardNumber, normalise_card_number
from shared.commands import append_decided
from shared.contracts.base import Sealed
from shared.contracts.helpline import CallLogged
from shared.crypto import KeyDestroyed
from shared.errors import Gone, Invalid
from shared.eventstore.model import ConcurrencyConflict
from shared.eventstore.port import EventStore

ATTEMPTS = 3
"""A call that lost a race for its caller's stream is appended again, this many times."""


async def already_logged(
    store: EventStore, command: str, request_fingerprint: str, client_id: str
) -> str | None:
    """The call a client id already logged, if any; a different call under it is refused
    (the shared message speaks of an Idempotency-Key, which a console never sent)."""
    record = await store.get_command(command)
    if record is None:
        return None
    call_id = str(record.result["call_id"])
    if record.fingerprint != request_fingerprint:
        raise Invalid(
            f"client_id {client_id!r} was already used for another call ({call_id}): give "
            "this call a new client id, or resend the first one unchanged",
            details={"client_id": client_id, "call_id": call_id},
        )
    return call_id


async def resolve_caller(helpline: Helpline, caller: Caller) -> ResolvedCaller:
    """A card read to its holder, a record checked, a phone number spelled one way."""
    migrant_id = caller.migrant_id
    card_number = None
    if caller.card_number is not None:
        try:
            card_number = normalise_card_number(caller.card_number)
        except InvalidCardNumber as error:
            raise Invalid(f"caller.card_number: {error}") from None
        migrant_id = await helpline.facts.holder_of(card_number)
    if migrant_id is not None:
        await helpline.facts.person(migrant_id)
        return ResolvedCaller("migrant", migrant_id, card_number)
    if caller.phone is not None:
        phone = e164(caller.phone, helpline.settings.default_phone_region)
        return ResolvedCaller("phone_only", phone=phone)
    return ResolvedCaller("anonymous")


async def seal_details(helpline: Helpline, call: LogCall) -> dict[str, Sealed | None]:
    """Phone and notes under the caller's key; one of the call's own for a caller with none."""
    try:
        return await helpline.runtime.cipher.seal_many(
            call.key_id, {"phone": call.phone, "notes": call.notes}
        )
    except KeyDestroyed:
        raise Gone(
            f"migrant {call.migrant_id} was erased; nothing more can be recorded for them"
        ) from None


async def append_call(
    helpline: Helpline,
    calls: CallLog,
    request: Request,
    principal: Principal,
    *,
    stream: str,
    event: CallLogged,
    command: str,
    request_fingerprint: str,
) -> str:
    """The id of the call logged under the event's client id: this one, or a racing retry's.

    A call decides nothing from its caller's stream, so losing a race for it (to another of
    their calls or a follow-up) only means appending again at the new version.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            answer = await append_decided(
                helpline.runtime,
                request,
                principal,
                stream_id=stream,
                expected_version=await stream_version(helpline, calls, stream),
                events=[event],
                answer=lambda _: {"call_id": event.call_id},
                command=command,
                request_fingerprint=request_fingerprint,
                subject=stream,
                inline=calls.project,
            )
            return str(answer["call_id"])
        except ConcurrencyConflict:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


async def stream_version(helpline: Helpline, calls: CallLog, stream: str) -> int:
    """The stream's version now: the log's last mark, then whatever was appended after it."""
    mark = await calls.last_version(stream)
    later = await helpline.runtime.store.load(stream, after_version=mark)
    return later[-1].version if later else mark
