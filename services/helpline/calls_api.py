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
from services.helpline.call_logging import (
    already_logged,
    append_call,
    resolve_caller,
    seal_details,
    stream_version,
)
from services.helpline.call_reads import show_calls
from services.helpline.call_schemas import CallCreate, CallLink, CallPage, CallPublic, view
from services.helpline.calls import call_logged, check_call, decide_link
from services.helpline.context import Helpline, HelplineDep, Operator
from shared.auth import Principal
from shared.commands import append_decided, command_id, fingerprint, previous_answer
from shared.contracts.helpline import CallCategory, CallReadPurpose
from shared.errors import Invalid, NotFound
from shared.eventstore.model import utc_now
from shared.http.params import IsoDateTime
from shared.http.rate_limit import lookup_limit

router = APIRouter(tags=["calls"])


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
                str(uuid_utils.uuid7()),
                await resolve_caller(helpline, body.caller),
                principal.subject,
            ),
            helpline.catalogue,
            helpline.settings.sites,
            utc_now(),
        )
        event = call_logged(checked, **await seal_details(helpline, checked))
        call_id = await append_call(
            helpline,
            calls,
            request,
            principal,
            stream=checked.subject,
            event=event,
            command=command,
            request_fingerprint=request_fingerprint,
        )
        if call_id == checked.call_id:  # what the operator just typed: not a read of it
            return await _shown(helpline, calls, request, call_id, principal, None)
    response.status_code = status.HTTP_200_OK  # a retry: the first answer, as it reads now
    return await _shown(helpline, calls, request, call_id, principal, "call_retried")


@router.get("/calls", response_model=CallPage, summary="Calls, newest first, a page at a time")
async def list_calls(
    request: Request,
    helpline: HelplineDep,
    calls: CallLogDep,
    principal: Operator,
    since: Annotated[
        IsoDateTime | None, Query(alias="from", description="Started at or after (no zone: UTC).")
    ] = None,
    until: Annotated[
        IsoDateTime | None, Query(alias="to", description="Started before (no zone: UTC).")
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
    items = await show_calls(helpline, request, principal, page.items, purpose="call_list")
    return {"items": items, "next_cursor": page.next_cursor}


@router.get(
    "/migrants/{migrant_id}/calls",
    response_model=CallPage,
    summary="A person's calls, linked ones included, newest first",
    dependencies=[Depends(lookup_limit("lookups"))],
)
async def calls_of(
    migrant_id: str,
    request: Request,
    helpline: HelplineDep,
    calls: CallLogDep,
    principal: Operator,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = await calls.page(migrant_id=migrant_id, limit=limit, cursor=cursor)
    items = await show_calls(helpline, request, principal, page.items, purpose="person_calls")
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
            expected_version=await stream_version(helpline, calls, stream),
            events=[event],
            answer=lambda _: {"call_id": call_id},
            command=command,
            request_fingerprint=request_fingerprint,
            subject=body.migrant_id,
            inline=calls.project,
        )
    return await _shown(helpline, calls, request, call_id, principal, "call_linked")


async def _shown(
    helpline: Helpline,
    calls: CallLog,
    request: Request,
    call_id: str,
    principal: Principal,
    purpose: CallReadPurpose | None,
) -> dict[str, Any]:
    """The call as ``principal`` may read it; recorded as a read unless ``purpose`` is None."""
    doc = await calls.call(call_id)
    if doc is None:  # written in the same transaction as the command record: a bug if absent
        raise LookupError(f"call {call_id} has a command record but no document")
    if purpose is None:
        return await view(doc, principal.role, helpline.runtime.cipher)
    [shown] = await show_calls(helpline, request, principal, [doc], purpose=purpose)
    return shown


def _zoned(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
