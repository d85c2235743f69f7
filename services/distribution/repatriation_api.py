"""``/repatriation-cases``: open a voluntary repatriation case and record each step of it.

Routes translate; the rules live in :mod:`services.distribution.repatriation`. A case is its
own stream (``repatriation:<case_id>``) whose events have the person as subject, so they stay
in order with everything else about that person on the topic.
"""

from __future__ import annotations

from typing import Annotated, Any

import uuid_utils
from fastapi import APIRouter, Depends, Query, Request, Response, status

from services.distribution.context import DistributionDep, Recorder, require_site
from services.distribution.repatriation import (
    RequestRepatriation,
    decide_request,
    decide_step,
    evolve,
    fold,
)
from services.distribution.repatriation_cases import Page, RepatriationCases
from services.distribution.repatriation_schemas import (
    RepatriationCaseCreate,
    RepatriationCasePage,
    RepatriationCasePublic,
    RepatriationStepCreate,
    public,
)
from shared.auth import Principal, Role
from shared.commands import append_decided, command_id, fingerprint, previous_answer
from shared.contracts.catalog import CATALOG
from shared.contracts.distribution import RepatriationStep
from shared.errors import Forbidden, NotFound
from shared.eventstore.model import utc_now

router = APIRouter(tags=["repatriation"])


def repatriation_cases(distribution: DistributionDep) -> RepatriationCases:
    return RepatriationCases(distribution.runtime.mongo, distribution.settings.database)


CasesDep = Annotated[RepatriationCases, Depends(repatriation_cases)]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


@router.post(
    "/repatriation-cases",
    status_code=status.HTTP_201_CREATED,
    response_model=RepatriationCasePublic,
    summary="Open a voluntary repatriation case for a person",
)
async def open_case(
    body: RepatriationCaseCreate,
    request: Request,
    response: Response,
    distribution: DistributionDep,
    cases: CasesDep,
    principal: Recorder,
) -> dict[str, Any]:
    require_site(principal, body.site)
    command = command_id(request, "repatriation")
    request_fingerprint = fingerprint(body.model_dump(mode="json"))
    previous = await previous_answer(distribution.runtime, command, request_fingerprint)
    if previous is None:
        await distribution.facts.person(body.migrant_id)
        event = decide_request(
            RequestRepatriation(
                case_id=str(uuid_utils.uuid7()),
                migrant_id=body.migrant_id,
                destination_country=body.destination_country,
                site=body.site,
                actor=principal.subject,
            ),
            await cases.open_case_of(body.migrant_id),
            utc_now(),
        )
        opened = evolve(None, event)
        answer = await append_decided(
            distribution.runtime,
            request,
            principal,
            stream_id=_stream(opened.case_id),
            expected_version=0,
            events=[event],
            answer=lambda _: public(opened),
            command=command,
            request_fingerprint=request_fingerprint,
            subject=opened.migrant_id,
            inline=cases.project,
        )
        replayed = answer["case_id"] != opened.case_id  # a retry that raced the first request
    else:
        answer, replayed = previous, True
    if replayed:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/repatriation-cases/{answer['case_id']}"
    return answer


@router.post(
    "/repatriation-cases/{case_id}/steps",
    response_model=RepatriationCasePublic,
    summary="Record the next step: travel document, booked, departed, or cancelled",
)
async def record_step(
    case_id: str,
    body: RepatriationStepCreate,
    request: Request,
    distribution: DistributionDep,
    cases: CasesDep,
    principal: Recorder,
) -> dict[str, Any]:
    stored = await distribution.runtime.store.load(_stream(case_id))
    case = fold([CATALOG.decode(e.type, e.data) for e in stored])
    if case is None:
        raise NotFound(f"no repatriation case {case_id}")
    require_site(principal, case.site)
    command = command_id(request, "repatriation-step")
    request_fingerprint = fingerprint({"case_id": case_id, **body.model_dump(mode="json")})
    previous = await previous_answer(distribution.runtime, command, request_fingerprint)
    if previous is not None:
        return previous
    event = decide_step(
        case,
        body.step,
        with_authority=body.with_authority,
        reason=body.reason,
        actor=principal.subject,
        now=utc_now(),
    )
    moved = evolve(case, event)
    return await append_decided(
        distribution.runtime,
        request,
        principal,
        stream_id=_stream(case_id),
        expected_version=case.version,
        events=[event],
        answer=lambda _: public(moved),
        command=command,
        request_fingerprint=request_fingerprint,
        subject=case.migrant_id,
        inline=cases.project,
    )


@router.get(
    "/repatriation-cases/{case_id}",
    response_model=RepatriationCasePublic,
    summary="One repatriation case with every step",
)
async def read_case(case_id: str, cases: CasesDep, principal: Recorder) -> dict[str, Any]:
    case = await cases.case(case_id)
    if case is None:
        raise NotFound(f"no repatriation case {case_id}")
    require_site(principal, case.site)
    return public(case)


@router.get(
    "/repatriation-cases",
    response_model=RepatriationCasePage,
    summary="Repatriation cases, last updated first, a page at a time",
    description="Without `site`, field staff see their own site's cases and an admin all.",
)
async def list_cases(
    cases: CasesDep,
    principal: Recorder,
    last_step: Annotated[
        RepatriationStep | None, Query(alias="status", description="The last step recorded.")
    ] = None,
    site: str | None = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    scope = _site_scope(principal, site)
    return _page(await cases.page(status=last_step, site=scope, limit=limit, cursor=cursor))


@router.get(
    "/migrants/{migrant_id}/repatriation-cases",
    response_model=RepatriationCasePage,
    summary="A person's repatriation cases at your site (an admin: at every site)",
)
async def cases_of(
    migrant_id: str, cases: CasesDep, principal: Recorder, limit: Limit = 50, cursor: Cursor = None
) -> dict[str, Any]:
    scope = _site_scope(principal, None)
    page = await cases.page(migrant_id=migrant_id, site=scope, limit=limit, cursor=cursor)
    return _page(page)


def _stream(case_id: str) -> str:
    return f"repatriation:{case_id}"


def _site_scope(principal: Principal, site: str | None) -> str | None:
    """The site a listing may show: the one asked for, else the token's; an admin's may be all."""
    if principal.role is Role.admin:
        return site
    chosen = site if site is not None else principal.site
    if chosen is None:
        raise Forbidden("your token names no site: ask for a token with your site, or an admin")
    require_site(principal, chosen)
    return chosen


def _page(page: Page) -> dict[str, Any]:
    return {"items": [public(case) for case in page.items], "next_cursor": page.next_cursor}
