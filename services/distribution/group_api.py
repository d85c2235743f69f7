"""``/group-activities``: relief counted without named people (a session, meals for 200)."""

from __future__ import annotations

from typing import Any

import uuid_utils
from fastapi import APIRouter, Request, Response, status

from services.distribution.context import DistributionDep, Recorder, require_site
from services.distribution.domain import RecordGroup, decide_group
from services.distribution.schemas import GroupActivityCreate
from shared.commands import append_decided, fingerprint, previous_answer
from shared.eventstore.model import utc_now

router = APIRouter(tags=["deliveries"])


@router.post(
    "/group-activities",
    status_code=status.HTTP_201_CREATED,
    summary="Record a group activity with counts, language and site",
)
async def record_group_activity(
    body: GroupActivityCreate,
    request: Request,
    response: Response,
    distribution: DistributionDep,
    principal: Recorder,
) -> dict[str, Any]:
    require_site(principal, body.site)
    command = f"group:{body.client_id}"
    request_fingerprint = fingerprint(body.model_dump(mode="json"))
    previous = await previous_answer(distribution.runtime, command, request_fingerprint)
    if previous is not None:
        response.status_code = status.HTTP_200_OK
        return previous
    now = utc_now()
    event = decide_group(
        distribution.catalogue.get(body.service),
        RecordGroup(
            activity_id=str(uuid_utils.uuid7()),
            client_id=body.client_id,
            service=body.service,
            people_reached=body.people_reached,
            female=body.female,
            male=body.male,
            language=body.language,
            organisation=body.organisation,
            site=body.site,
            held_at=body.held_at or now,
            actor=principal.subject,
        ),
        now,
    )
    stream = f"activity:{event.activity_id}"
    response.headers["Location"] = f"/deliveries/{event.activity_id}"
    return await append_decided(
        distribution.runtime,
        request,
        principal,
        stream_id=stream,
        expected_version=0,
        events=[event],
        answer=lambda _: event.model_dump(mode="json"),
        command=command,
        request_fingerprint=request_fingerprint,
        subject=event.activity_id,
        inline=distribution.ledger.project,
    )
