"""``/cards``: issue, look up, replace and revoke BenCards. Routes translate; rules live in
:mod:`services.cards.domain`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request, Response, status

from services.cards.context import CardsDep, RegistrarOrAdmin
from services.cards.domain import NewCard, decide_issue, decide_replace, decide_revoke
from services.cards.issuing import as_utc, card_time, load_holder, new_card
from services.cards.schemas import CardCreate, CardIssuedAnswer, CardPublic, CardReplace, CardRevoke
from services.cards.writing import append_for_request, retried
from shared.bencard.numbers import InvalidCardNumber, format_card_number, normalise_card_number
from shared.errors import Invalid, NotFound
from shared.http.rate_limit import lookup_limit

router = APIRouter(tags=["cards"])
CardNumber = Annotated[str, Path(max_length=40, description="As printed, with or without '-'.")]


def card_number(text: str) -> str:
    try:
        return normalise_card_number(text)
    except InvalidCardNumber as error:
        raise Invalid(str(error)) from None


def card_view(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "card_number": doc["_id"],
        "display_number": format_card_number(doc["_id"]),
        "migrant_id": doc["migrant_id"],
        "status": doc["status"],
        "reason": doc.get("reason"),
        "superseded_by": doc.get("superseded_by"),
        "issued_at": as_utc(doc["issued_at"]),
        "expires_at": as_utc(doc["expires_at"]),
        "site": doc["site"],
    }


async def known_card(cards: CardsDep, number: str) -> dict[str, Any]:
    doc = await cards.index.card(card_number(number))
    if doc is None:
        raise NotFound(f"no BenCard {number}: check the number on the card")
    return doc


@router.post(
    "/cards",
    status_code=status.HTTP_201_CREATED,
    response_model=CardIssuedAnswer,
    summary="Issue a BenCard to a registered person (one active card each)",
)
async def issue_card(
    body: CardCreate,
    request: Request,
    response: Response,
    cards: CardsDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    retry = await retried(cards, request, "issue", body)
    answer = retry.previous
    if answer is None:
        person = await cards.people.person(body.migrant_id)
        holder = await load_holder(cards, body.migrant_id)
        card = await new_card(cards, person, principal.subject)
        events = decide_issue(holder, card, "request")
        view = _new_card_view(body.migrant_id, card.card_number, card)
        answer = await append_for_request(
            cards,
            request,
            principal,
            holder=holder,
            events=events,
            answer=lambda version: {**view, "version": version},
            retry=retry,
        )
    response.headers["Location"] = f"/cards/{answer['card_number']}"
    return answer


@router.get(
    "/cards/{number}",
    response_model=CardPublic,
    summary="A card's status and dates",
    dependencies=[Depends(lookup_limit("card lookups"))],
)
async def read_card(number: CardNumber, cards: CardsDep, _: RegistrarOrAdmin) -> dict[str, Any]:
    return card_view(await known_card(cards, number))


@router.get(
    "/migrants/{migrant_id}/cards",
    response_model=list[CardPublic],
    summary="Every card a person was given, oldest first",
    dependencies=[Depends(lookup_limit("card lookups"))],
)
async def cards_of(migrant_id: str, cards: CardsDep, _: RegistrarOrAdmin) -> list[dict[str, Any]]:
    return [card_view(doc) for doc in await cards.index.cards_of(migrant_id)]


@router.post(
    "/cards/{number}/replace",
    status_code=status.HTTP_201_CREATED,
    response_model=CardIssuedAnswer,
    summary="Replace a lost or damaged card: the old one stops verifying at once",
)
async def replace_card(
    number: CardNumber,
    body: CardReplace,
    request: Request,
    cards: CardsDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    old = await known_card(cards, number)
    retry = await retried(cards, request, f"replace:{old['_id']}", body)
    if retry.previous is not None:
        return retry.previous
    person = await cards.people.person(old["migrant_id"])
    holder = await load_holder(cards, old["migrant_id"])
    card = await new_card(cards, person, principal.subject)
    events = decide_replace(holder, old["_id"], card, body.reason)
    view = _new_card_view(holder.migrant_id, card.card_number, card)
    return await append_for_request(
        cards,
        request,
        principal,
        holder=holder,
        events=events,
        answer=lambda version: {**view, "version": version},
        retry=retry,
    )


@router.post(
    "/cards/{number}/revoke",
    response_model=CardIssuedAnswer,
    summary="Revoke a card with a reason: it stops verifying at once",
)
async def revoke_card(
    number: CardNumber,
    body: CardRevoke,
    request: Request,
    cards: CardsDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    doc = await known_card(cards, number)
    holder = await load_holder(cards, doc["migrant_id"])
    events = decide_revoke(
        holder, doc["_id"], body.reason, actor=principal.subject, now=card_time()
    )
    view = {**card_view(doc), "status": "revoked", "reason": body.reason}
    return await append_for_request(
        cards,
        request,
        principal,
        holder=holder,
        events=events,
        answer=lambda version: {**view, "version": version},
    )


def _new_card_view(migrant_id: str, number: str, card: NewCard) -> dict[str, Any]:
    return {
        "card_number": number,
        "display_number": format_card_number(number),
        "migrant_id": migrant_id,
        "status": "active",
        "reason": None,
        "superseded_by": None,
        "issued_at": card.issued_at.isoformat(),
        "expires_at": card.expires_at.isoformat(),
        "site": card.site,
    }
