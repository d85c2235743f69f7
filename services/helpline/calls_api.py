"""``/calls``: log a helpline call, list calls, and link a call to its caller's record later.

Routes translate; the rules live in :mod:`services.helpline.calls`. The first answer stored
for a client id (or ``Idempotency-Key``) is only the call id, never the view: the view holds
the phone number and notes in clear, and the command records must not. A retry reads the call
again, so it also shows what erasure has since made unreadable.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import uuid_utils
from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.helpline.call_log import CallLog
from services.helpline.call_schemas import (
    CallCreate,
    Caller,
    CallLink,
    CallPage,
    CallPublic,
    ResolvedCaller,
    view,
)
from services.helpline.calls import LogCall, call_logged, check_call, decide_link, e164
from services.helpline.context import Helpline, HelplineDep, Operator
from shared.auth import Principal
from shared.bencard.numbers import InvalidCardNumber, normalise_card_number
from shared.commands import append_decided, command_id, fingerprint, previous_answer
from shared.contracts.base import Sealed
from shared.contracts.helpline import CallCategory, CallLogged
from shared.crypto import KeyDestroyed
from shared.errors import Gone, Invalid, NotFound
from shared.eventstore.model import ConcurrencyConflict, utc_now
from shared.eventstore.port import EventStore

router = APIRouter(tags=["calls"])
ATTEMPTS = 3
"""A call that lost a race for its caller's stream is appended again, this many times."""


def call_log(helpline: HelplineDep) -> CallLog:
    return CallLog(helpline.runtime.mongo, helpline.settings.database)


CallLogDep = Annotated[CallLog, Depends(call_log)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@router.post(
    "/calls",
    status_code=status.HTTP_201_CREATED,
    response_model=CallPublic,
    summary="Log a helpline call, answered or missed; its client id makes a retry a no-op",
)
async def log_call(
    body: CallCreate,
    request: Request,
    response: Response,
    helpline: HelplineDep,
    calls: CallLogDep,
    principal: Operator,
) -> dict[str, Any]:
    command = f"call:{body.client_id}"
    request_fingerprint = fingerprint(body.model_dump(mode="json"))
    call_id = await already_logged(
        helpline.runtime.store, command, request_fingerprint, body.client_id
    )
    if call_id is None:
        checked = check_call(
            body.command(
                str(uuid_utils.uuid7()), await _caller(helpline, body.caller), principal.subject
            ),
            helpline.catalogue,
            helpline.settings.sites,
            utc_now(),
        )
        event = call_logged(checked, **await _seal(helpline, checked))
        call_id = await _append(
            helpline,
            calls,
            request,
            principal,
            stream=checked.subject,
            event=event,
            command=command,
            request_fingerprint=request_fingerprint,
        )
        if call_id == checked.call_id:
            return await _shown(helpline, calls, call_id, principal)
    response.status_code = status.HTTP_200_OK  # a retry: the first answer, as it reads now
    return await _shown(helpline, calls, call_id, principal)


@router.get("/calls", response_model=CallPage, summary="Calls, newest first, a page at a time")
async def list_calls(
    helpline: HelplineDep,
    calls: CallLogDep,
    principal: Operator,
    since: Annotated[
        datetime | None, Query(alias="from", description="Started at or after (no zone: UTC).")
    ] = None,
    until: Annotated[
        datetime | None, Query(alias="to", description="Started before (no zone: UTC).")
    ] = None,
    category: CallCategory | None = None,
    language: Annotated[str | None, Query(pattern="^[a-z]{2}$")] = None,
    direction: Literal["incoming", "outgoing"] | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    since, until = _zoned(since), _zoned(until)
    if since is not None and until is not None and since >= until:
        raise Invalid("from must be before to")
    page = await calls.page(
        since=since,
        until=until,
        category=category,
        language=language,
        direction=direction,
        limit=limit,
        cursor=cursor,
    )
    items = [await view(doc, principal.role, helpline.runtime.cipher) for doc in page.items]
    return {"items": items, "next_cursor": page.next_cursor}


@router.get(
    "/migrants/{migrant_id}/calls",
    response_model=CallPage,
    summary="A person's calls, linked ones included, newest first",
)
async def calls_of(
    migrant_id: str,
    helpline: HelplineDep,
    calls: CallLogDep,
    principal: Operator,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = await calls.page(migrant_id=migrant_id, limit=limit, cursor=cursor)
    items = [await view(doc, principal.role, helpline.runtime.cipher) for doc in page.items]
    return {"items": items, "next_cursor": page.next_cursor}


@router.post(
    "/calls/{call_id}/link",
    response_model=CallPublic,
    summary="Link a call from someone not yet registered to their record",
)
async def link_call(
    call_id: str,
    body: CallLink,
    request: Request,
    helpline: HelplineDep,
    calls: CallLogDep,
    principal: Operator,
) -> dict[str, Any]:
    doc = await calls.call(call_id)
    if doc is None:
        raise NotFound(f"no call {call_id}")
    command = command_id(request, "call-link")
    request_fingerprint = fingerprint({"call_id": call_id, **body.model_dump(mode="json")})
    if await previous_answer(helpline.runtime, command, request_fingerprint) is None:
        event = decide_link(
            call_id, doc["migrant_id"], body.migrant_id, principal.subject, utc_now()
        )
        await helpline.facts.person(body.migrant_id)
        stream = doc["stream_id"]
        await append_decided(
            helpline.runtime,
            request,
            principal,
            stream_id=stream,
            expected_version=await _version(helpline, calls, stream),
            events=[event],
            answer=lambda _: {"call_id": call_id},
            command=command,
            request_fingerprint=request_fingerprint,
            subject=body.migrant_id,
            inline=calls.project,
        )
    return await _shown(helpline, calls, call_id, principal)


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


async def _caller(helpline: Helpline, caller: Caller) -> ResolvedCaller:
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


async def _seal(helpline: Helpline, call: LogCall) -> dict[str, Sealed | None]:
    """Phone and notes under the caller's key; one of the call's own for a caller with none."""
    try:
        return await helpline.runtime.cipher.seal_many(
            call.key_id, {"phone": call.phone, "notes": call.notes}
        )
    except KeyDestroyed:
        raise Gone(
            f"migrant {call.migrant_id} was erased; nothing more can be recorded for them"
        ) from None


async def _append(
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
                expected_version=await _version(helpline, calls, stream),
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


async def _version(helpline: Helpline, calls: CallLog, stream: str) -> int:
    """The stream's version now: the log's last mark, then whatever was appended after it."""
    mark = await calls.last_version(stream)
    later = await helpline.runtime.store.load(stream, after_version=mark)
    return later[-1].version if later else mark


async def _shown(
    helpline: Helpline, calls: CallLog, call_id: str, principal: Principal
) -> dict[str, Any]:
    doc = await calls.call(call_id)
    if doc is None:  # written in the same transaction as the command record: a bug if absent
        raise LookupError(f"call {call_id} has a command record but no document")
    return await view(doc, principal.role, helpline.runtime.cipher)


def _zoned(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
