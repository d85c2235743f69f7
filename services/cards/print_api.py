"""Print-ready BenCards: one card as PDF or PNG, or A4 sheets of a site's active cards.

Rendering is CPU work (about 0.2 s a card, 2 s for a sheet of 23), so it runs in a worker thread:
a print must not hold up verifications at a vaccination centre.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import uuid_utils
from fastapi import APIRouter, Query, Request, Response

from services.cards.api import CardNumber, known_card
from services.cards.context import Cards, CardsDep, RegistrarOrAdmin
from services.cards.issuing import credential_of, open_card
from services.cards.printing import PrintableCard, card_pdf, card_png, sheets_pdf
from shared.auth import Principal
from shared.commands import append_decided
from shared.contracts.cards import CardsPrinted
from shared.errors import Conflict, Invalid
from shared.eventstore.model import utc_now

router = APIRouter(tags=["printing"])
PRINTED_LANGUAGES = ("bn", "hi", "ta", "ne", "si", "dv")
MEDIA = {"pdf": "application/pdf", "png": "image/png"}
T = TypeVar("T")


async def printable(cards: Cards, doc: dict[str, Any]) -> PrintableCard:
    if doc["status"] != "active":
        raise Conflict(
            f"card {doc['_id']} is {doc['status']} and must not be printed"
            + (f"; print {doc['superseded_by']} instead" if doc.get("superseded_by") else ""),
        )
    opened = await open_card(cards.runtime.cipher, doc)
    person = await cards.people.find(doc["migrant_id"])
    languages = () if person is None else person.preferred_languages
    return PrintableCard(
        card_number=opened.number,
        name=opened.name,
        expires_on=opened.expires_at.date(),
        credential=credential_of(cards, opened),
        language=next((code for code in languages if code in PRINTED_LANGUAGES), "en"),
        programme=cards.settings.card_programme,
        issuer=cards.settings.card_issuer,
    )


async def record_print(
    cards: Cards,
    request: Request,
    principal: Principal,
    docs: list[dict[str, Any]],
    output: Literal["pdf", "png", "sheets", "credential"],
) -> None:
    """Recorded before anything is handed over: a print that cannot be recorded is not made."""
    holders = tuple(doc["migrant_id"] for doc in docs)
    event = CardsPrinted(
        card_numbers=tuple(doc["_id"] for doc in docs),
        migrant_ids=holders,
        output=output,
        printed_by=principal.subject,
        role=principal.role.value,
        printed_at=utc_now(),
    )
    await append_decided(
        cards.runtime,
        request,
        principal,
        stream_id=f"prints:{uuid_utils.uuid7()}",
        expected_version=0,
        events=[event],
        answer=lambda _: {},
        subject=holders[0] if len(set(holders)) == 1 else None,
    )


async def _rendered(render: Callable[[T], bytes], what: T) -> bytes:
    """A name no card font can draw is refused (fonts would silently drop its letters)."""
    try:
        return await asyncio.to_thread(render, what)
    except ValueError as error:
        raise Invalid(f"the card cannot be printed: {error}") from None


@router.get(
    "/cards/{number}/credential",
    summary="The text the card's QR code carries, for a phone wallet or a reprint elsewhere",
)
async def card_credential(
    number: CardNumber, request: Request, cards: CardsDep, principal: RegistrarOrAdmin
) -> dict[str, str]:
    doc = await known_card(cards, number)
    card = await printable(cards, doc)
    await record_print(cards, request, principal, [doc], "credential")
    return {"card_number": card.card_number, "credential": card.credential}


@router.get(
    "/cards/{number}/print",
    summary="One card, print-ready (ID-1, 85.6 by 54 mm), labelled in the holder's language",
    responses={200: {"content": {"application/pdf": {}, "image/png": {}}}},
)
async def print_card(
    number: CardNumber,
    request: Request,
    cards: CardsDep,
    principal: RegistrarOrAdmin,
    format: Annotated[Literal["pdf", "png"], Query(description="pdf or png")] = "pdf",
) -> Response:
    doc = await known_card(cards, number)
    card = await printable(cards, doc)
    render = card_pdf if format == "pdf" else card_png
    content = await _rendered(render, card)
    await record_print(cards, request, principal, [doc], format)
    return Response(
        content,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'inline; filename="bencard-{card.card_number}.{format}"'},
    )


@router.get(
    "/cards/sheets",
    summary="A4 sheets of a site's active cards (10 a page) for batch printing",
    responses={200: {"content": {"application/pdf": {}}}},
)
async def print_sheets(
    request: Request,
    cards: CardsDep,
    principal: RegistrarOrAdmin,
    site: Annotated[str, Query(min_length=1, max_length=100, description="Programme site")],
) -> Response:
    if site not in cards.settings.sites:
        raise Invalid(f"unknown site {site!r}: use one of " + ", ".join(cards.settings.sites))
    docs = await cards.index.active_cards_at(site, cards.settings.print_batch_limit)
    if not docs:
        raise Conflict(f"no active cards at {site} to print")
    printable_cards = [await printable(cards, doc) for doc in docs]
    content = await _rendered(sheets_pdf, printable_cards)
    await record_print(cards, request, principal, docs, "sheets")
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": 'attachment; filename="bencards.pdf"'},
    )
