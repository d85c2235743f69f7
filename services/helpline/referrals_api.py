"""``/referrals``: referring a caller to a partner, and the partner's answers.

Routes translate; the rules live in :mod:`services.helpline.referrals`. A referral is its own
stream (``referral:<id>``) whose subject is the person when registered, so it stays in order
with everything else about them on the topic, and otherwise the referral itself.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import uuid_utils
from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from services.helpline.case_book import Page, Referrals
from services.helpline.context import HelplineDep, Operator
from services.helpline.partners_api import PartnersDep
from services.helpline.referrals import (
    PURPOSE,
    MakeReferral,
    Referral,
    ReferralStatus,
    decide_outcome,
    decide_referral,
    evolve,
    fold,
)
from shared.auth import Role
from shared.commands import append_decided, command_id, fingerprint, previous_answer
from shared.contracts.catalog import CATALOG
from shared.contracts.helpline import ReferralOutcome
from shared.errors import NotFound
from shared.eventstore.model import utc_now

router = APIRouter(tags=["referrals"])
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


def get_referrals(helpline: HelplineDep) -> Referrals:
    return Referrals(helpline.runtime.mongo, helpline.settings.database)


ReferralsDep = Annotated[Referrals, Depends(get_referrals)]


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    partner: str = Field(min_length=1, max_length=100, description="A code from GET /partners.")
    migrant_id: str | None = Field(default=None, min_length=1, max_length=100)
    call_id: str | None = Field(default=None, min_length=1, max_length=100)
    service: str | None = Field(default=None, min_length=1, max_length=100)
    consent_override_reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=500,
        description="Admins only, and only when the person has not consented: why refer anyway.",
    )


class OutcomeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: ReferralOutcome = Field(description="GET the referral for its possible_outcomes.")


class AnswerPublic(BaseModel):
    outcome: ReferralOutcome
    at: datetime
    by: str


class ReferralPublic(BaseModel):
    referral_id: str
    partner: str
    migrant_id: str | None
    call_id: str | None
    service: str | None
    consent_override_reason: str | None
    referred_by: str
    referred_at: datetime
    status: ReferralStatus = Field(description="pending until the partner answers, then the last.")
    open: bool
    possible_outcomes: list[ReferralOutcome] = Field(description="What may be recorded next.")
    outcomes: list[AnswerPublic]
    version: int = Field(description="The referral stream's version.")


class ReferralPage(BaseModel):
    items: list[ReferralPublic]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")


def public(referral: Referral) -> dict[str, Any]:
    """The referral as JSON: what a route answers, and what an ``Idempotency-Key`` replays."""
    made = referral.made
    return ReferralPublic(
        **made.model_dump(),
        status=referral.status,
        open=referral.is_open,
        possible_outcomes=list(referral.possible_outcomes),
        outcomes=[AnswerPublic(outcome=a.outcome, at=a.at, by=a.by) for a in referral.answers],
        version=referral.version,
    ).model_dump(mode="json")


@router.post(
    "/referrals",
    status_code=status.HTTP_201_CREATED,
    response_model=ReferralPublic,
    summary="Refer a caller to a partner (a registered person needs their consent)",
)
async def make_referral(
    body: ReferralCreate,
    request: Request,
    response: Response,
    helpline: HelplineDep,
    partners: PartnersDep,
    book: ReferralsDep,
    principal: Operator,
) -> dict[str, Any]:
    command = command_id(request, "referral")
    request_fingerprint = fingerprint(body.model_dump(mode="json"))
    previous = await previous_answer(helpline.runtime, command, request_fingerprint)
    if previous is None:
        partners.get(body.partner)  # what the caller typed is checked before what others know
        if body.service is not None:
            helpline.catalogue.get(body.service)
        consented = None
        if body.migrant_id is not None:
            consented = await helpline.facts.consents_to(body.migrant_id, PURPOSE)
        event = decide_referral(
            MakeReferral(
                referral_id=str(uuid_utils.uuid7()),
                actor=principal.subject,
                actor_is_admin=principal.role is Role.admin,
                **body.model_dump(),
            ),
            partners,
            consented,
            utc_now(),
        )
        made = evolve(None, event)
        answer = await append_decided(
            helpline.runtime,
            request,
            principal,
            stream_id=_stream(made.referral_id),
            expected_version=0,
            events=[event],
            answer=lambda _: public(made),
            command=command,
            request_fingerprint=request_fingerprint,
            subject=event.migrant_id or event.referral_id,
            inline=book.project,
        )
        replayed = answer["referral_id"] != made.referral_id  # a retry that raced the first
    else:
        answer, replayed = previous, True
    if replayed:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/referrals/{answer['referral_id']}"
    return answer


@router.post(
    "/referrals/{referral_id}/outcome",
    response_model=ReferralPublic,
    summary="Record the partner's answer: accepted, completed, declined or no_response",
)
async def record_outcome(
    referral_id: str,
    body: OutcomeCreate,
    request: Request,
    helpline: HelplineDep,
    book: ReferralsDep,
    principal: Operator,
) -> dict[str, Any]:
    stored = await helpline.runtime.store.load(_stream(referral_id))
    referral = fold([CATALOG.decode(e.type, e.data) for e in stored])
    if referral is None:
        raise NotFound(f"no referral {referral_id}")
    command = command_id(request, "referral-outcome")
    request_fingerprint = fingerprint({"referral_id": referral_id, **body.model_dump()})
    previous = await previous_answer(helpline.runtime, command, request_fingerprint)
    if previous is not None:
        return previous
    event = decide_outcome(referral, body.outcome, actor=principal.subject, now=utc_now())
    answered = evolve(referral, event)
    return await append_decided(
        helpline.runtime,
        request,
        principal,
        stream_id=_stream(referral_id),
        expected_version=referral.version,
        events=[event],
        answer=lambda _: public(answered),
        command=command,
        request_fingerprint=request_fingerprint,
        subject=referral.made.migrant_id or referral_id,
        inline=book.project,
    )


@router.get("/referrals/{referral_id}", response_model=ReferralPublic, summary="One referral")
async def read_referral(referral_id: str, book: ReferralsDep, _: Operator) -> dict[str, Any]:
    referral = await book.referral(referral_id)
    if referral is None:
        raise NotFound(f"no referral {referral_id}")
    return public(referral)


@router.get(
    "/referrals", response_model=ReferralPage, summary="Referrals, newest first, a page at a time"
)
async def list_referrals(
    book: ReferralsDep,
    _: Operator,
    partner: str | None = None,
    outcome: Annotated[
        ReferralStatus | None, Query(description="The last outcome, or pending for none yet.")
    ] = None,
    is_open: Annotated[
        bool | None, Query(alias="open", description="true: pending or accepted.")
    ] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    page = await book.page(
        partner=partner, status=outcome, is_open=is_open, limit=limit, cursor=cursor
    )
    return _page(page)


@router.get(
    "/migrants/{migrant_id}/referrals",
    response_model=ReferralPage,
    summary="A person's referrals, newest first",
)
async def referrals_of(
    migrant_id: str, book: ReferralsDep, _: Operator, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    return _page(await book.page(migrant_id=migrant_id, limit=limit, cursor=cursor))


def _stream(referral_id: str) -> str:
    return f"referral:{referral_id}"


def _page(page: Page[Referral]) -> dict[str, Any]:
    return {"items": [public(r) for r in page.items], "next_cursor": page.next_cursor}
