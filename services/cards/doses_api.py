"""``/cards/{number}/doses``: vaccination doses recorded against a valid card."""

from __future__ import annotations

from typing import Any

import uuid_utils
from fastapi import APIRouter, Request, Response, status

from services.cards.api import CardNumber, known_card
from services.cards.context import CardsDep, HealthProvider
from services.cards.domain import RecordDose, decide_dose
from services.cards.issuing import load_holder
from services.cards.schemas import DoseCreate, DoseCreated
from services.cards.writing import append_for_request, retried
from shared.errors import Conflict, Invalid
from shared.eventstore.model import utc_now

router = APIRouter(tags=["doses"])


@router.post(
    "/cards/{number}/doses",
    status_code=status.HTTP_201_CREATED,
    response_model=DoseCreated,
    summary="Record a vaccine dose given to the card's holder",
)
async def record_dose(
    number: CardNumber,
    body: DoseCreate,
    request: Request,
    response: Response,
    cards: CardsDep,
    principal: HealthProvider,
) -> dict[str, Any]:
    card = await known_card(cards, number)
    retry = await retried(cards, request, f"dose:{card['_id']}", body)
    if retry.previous is not None:
        return retry.previous
    course = cards.settings.vaccines.get(body.vaccine)
    if course is None:
        raise Invalid(
            f"unknown vaccine {body.vaccine!r}: use one of "
            + ", ".join(sorted(cards.settings.vaccines))
        )
    person = await cards.people.find(card["migrant_id"])
    if person is None or not person.shares_health_data:
        raise Conflict(
            "the holder has not consented to health_vaccination, so no health data can be "
            "recorded for them: a registrar can record that consent if the person gives it"
        )
    holder = await load_holder(cards, card["migrant_id"])
    dose_id = str(uuid_utils.uuid7())
    events = decide_dose(
        holder,
        RecordDose(
            dose_id=dose_id,
            card_number=card["_id"],
            vaccine=body.vaccine,
            dose_number=body.dose_number,
            course_doses=course,
            administered_on=body.administered_on,
            centre=body.centre,
            site=person.site,
            actor=principal.subject,
            now=utc_now(),
        ),
    )
    view = {
        "dose_id": dose_id,
        "card_number": card["_id"],
        "vaccine": body.vaccine,
        "dose_number": body.dose_number,
        "course_doses": course,
        "administered_on": body.administered_on.isoformat(),
        "centre": body.centre,
    }
    answer = await append_for_request(
        cards,
        request,
        principal,
        holder=holder,
        events=events,
        answer=lambda _: view,
        retry=retry,
    )
    response.headers["Location"] = f"/cards/{card['_id']}/doses/{answer['dose_id']}"
    return answer
