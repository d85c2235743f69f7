"""``/follow-ups``: schedule a call-back or an action for a day, complete it, list what is late.

Routes translate; the rules live in :mod:`services.helpline.follow_ups`. "Today" comes from the
:func:`today` dependency (the UTC day), the one place the clock is read, so a test or a
supervisor's tool overrides it to see the list as it stood on another day.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

import uuid_utils
from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.helpline.case_book import FollowUps
from services.helpline.context import HelplineDep, Operator
from services.helpline.follow_ups import (
    FollowUp,
    FollowUpOutcome,
    ScheduleFollowUp,
    decide_complete,
    decide_schedule,
    evolve,
    fold,
)
from shared.commands import append_decided, command_id, fingerprint, previous_answer
from shared.contracts.catalog import CATALOG
from shared.errors import NotFound
from shared.eventstore.model import utc_now

router = APIRouter(tags=["follow-ups"])
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


def today() -> date:
    """The day in UTC: the helpline serves the whole country, which keeps one time zone."""
    return utc_now().date()


def get_follow_ups(helpline: HelplineDep) -> FollowUps:
    return FollowUps(helpline.runtime.mongo, helpline.settings.database)


Today = Annotated[date, Depends(today)]
FollowUpsDep = Annotated[FollowUps, Depends(get_follow_ups)]


class FollowUpCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    due_on: date = Field(description="The day it must be done by: today or later (UTC).")
    assignee: str = Field(min_length=1, max_length=100, description="The staff member's subject.")
    call_id: str | None = Field(default=None, min_length=1, max_length=100)
    migrant_id: str | None = Field(default=None, min_length=1, max_length=100)


class CompletionCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: FollowUpOutcome


class FollowUpPublic(BaseModel):
    follow_up_id: str
    call_id: str | None
    migrant_id: str | None
    due_on: date
    assignee: str
    scheduled_by: str
    scheduled_at: datetime
    status: str = Field(description="open or completed.")
    overdue: bool = Field(description="Open, and due before today (UTC).")
    outcome: FollowUpOutcome | None
    completed_by: str | None
    completed_at: datetime | None
    version: int = Field(description="The follow-up stream's version.")


class FollowUpPage(BaseModel):
    items: list[FollowUpPublic]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")


def public(follow_up: FollowUp, on: date) -> dict[str, Any]:
    """The follow-up as JSON, ``overdue`` as of the day ``on``."""
    done = follow_up.completed
    return FollowUpPublic(
        **follow_up.scheduled.model_dump(),
        status="open" if done is None else "completed",
        overdue=follow_up.is_overdue(on),
        outcome=None if done is None else done.outcome,
        completed_by=None if done is None else done.completed_by,
        completed_at=None if done is None else done.completed_at,
        version=follow_up.version,
    ).model_dump(mode="json")


@router.post(
    "/follow-ups",
    status_code=status.HTTP_201_CREATED,
    response_model=FollowUpPublic,
    summary="Schedule a follow-up for a day and a staff member",
)
async def schedule(
    body: FollowUpCreate,
    request: Request,
    response: Response,
    helpline: HelplineDep,
    book: FollowUpsDep,
    principal: Operator,
    on: Today,
) -> dict[str, Any]:
    command = command_id(request, "follow-up")
    request_fingerprint = fingerprint(body.model_dump(mode="json"))
    previous = await previous_answer(helpline.runtime, command, request_fingerprint)
    if previous is None:
        command_body = ScheduleFollowUp(
            str(uuid_utils.uuid7()), actor=principal.subject, **body.model_dump()
        )
        event = decide_schedule(command_body, today=on, now=utc_now())
        if body.migrant_id is not None:
            await helpline.facts.person(body.migrant_id)
        scheduled = evolve(None, event)
        answer = await append_decided(
            helpline.runtime,
            request,
            principal,
            stream_id=_stream(scheduled.follow_up_id),
            expected_version=0,
            events=[event],
            answer=lambda _: public(scheduled, on),
            command=command,
            request_fingerprint=request_fingerprint,
            subject=event.migrant_id or event.follow_up_id,
            inline=book.project,
        )
        replayed = answer["follow_up_id"] != scheduled.follow_up_id  # a retry that raced
    else:
        answer, replayed = previous, True
    if replayed:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/follow-ups/{answer['follow_up_id']}"
    return answer


@router.post(
    "/follow-ups/{follow_up_id}/complete",
    response_model=FollowUpPublic,
    summary="Complete a follow-up with its outcome (once)",
)
async def complete(
    follow_up_id: str,
    body: CompletionCreate,
    request: Request,
    helpline: HelplineDep,
    book: FollowUpsDep,
    principal: Operator,
    on: Today,
) -> dict[str, Any]:
    stored = await helpline.runtime.store.load(_stream(follow_up_id))
    follow_up = fold([CATALOG.decode(e.type, e.data) for e in stored])
    if follow_up is None:
        raise NotFound(f"no follow-up {follow_up_id}")
    command = command_id(request, "follow-up-complete")
    request_fingerprint = fingerprint({"follow_up_id": follow_up_id, **body.model_dump()})
    previous = await previous_answer(helpline.runtime, command, request_fingerprint)
    if previous is not None:
        return previous
    event = decide_complete(follow_up, body.outcome, actor=principal.subject, now=utc_now())
    done = evolve(follow_up, event)
    return await append_decided(
        helpline.runtime,
        request,
        principal,
        stream_id=_stream(follow_up_id),
        expected_version=follow_up.version,
        events=[event],
        answer=lambda _: public(done, on),
        command=command,
        request_fingerprint=request_fingerprint,
        subject=follow_up.scheduled.migrant_id or follow_up_id,
        inline=book.project,
    )


@router.get("/follow-ups/{follow_up_id}", response_model=FollowUpPublic, summary="One follow-up")
async def read_follow_up(
    follow_up_id: str, book: FollowUpsDep, _: Operator, on: Today
) -> dict[str, Any]:
    follow_up = await book.follow_up(follow_up_id)
    if follow_up is None:
        raise NotFound(f"no follow-up {follow_up_id}")
    return public(follow_up, on)


@router.get(
    "/follow-ups",
    response_model=FollowUpPage,
    summary="Follow-ups, soonest due first; ?overdue=true for what is late",
)
async def list_follow_ups(
    book: FollowUpsDep,
    _: Operator,
    on: Today,
    overdue: Annotated[
        bool | None, Query(description="true: open and due before today (UTC); false: not.")
    ] = None,
    is_open: Annotated[bool | None, Query(alias="open", description="true: not completed.")] = None,
    assignee: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = await book.page(
        today=on, overdue=overdue, is_open=is_open, assignee=assignee, limit=limit, cursor=cursor
    )
    return {"items": [public(f, on) for f in page.items], "next_cursor": page.next_cursor}


def _stream(follow_up_id: str) -> str:
    return f"follow-up:{follow_up_id}"
