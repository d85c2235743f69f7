"""Verification for health providers, and what offline verifiers download: keys and the list."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request

from services.cards.api import card_number
from services.cards.context import CardsDep, HealthProvider
from services.cards.schemas import Verification, VerifyRequest
from services.cards.verification import (
    answer,
    new_verification_id,
    record,
    verify_credential,
    verify_number,
)
from shared.auth import Principal, Role, require_roles
from shared.bencard.keys import jwks
from shared.bencard.revocations import sign_revocation_list
from shared.eventstore.model import utc_now
from shared.http.rate_limit import lookup_limit

router = APIRouter(tags=["verification"])
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]


@router.post(
    "/verify",
    response_model=Verification,
    summary="Check a BenCard, scanned or typed: validity, and only what health needs",
    dependencies=[Depends(lookup_limit("card checks"))],
)
async def verify(
    body: VerifyRequest, request: Request, cards: CardsDep, principal: HealthProvider
) -> dict[str, Any]:
    now = utc_now()
    method: Literal["credential", "card_number"]
    if body.credential is not None:
        checked = await verify_credential(cards, body.credential.strip(), now)
        method = "credential"
    else:
        assert body.card_number is not None
        checked = await verify_number(cards, card_number(body.card_number), now)
        method = "card_number"
    verification_id = new_verification_id()
    # Recorded while the answer is read: both must succeed before anything is answered.
    recorded = record(
        cards, request, principal, checked, method=method, verification_id=verification_id
    )
    _, answered = await asyncio.gather(recorded, answer(cards, checked, verification_id))
    result: dict[str, Any] = answered
    return result


@router.get(
    "/.well-known/jwks.json",
    summary="The issuer's public keys (JWKS): every key that ever signed a card",
)
async def public_keys(cards: CardsDep) -> dict[str, Any]:
    return jwks(cards.keys.public_keys().values())


@router.get(
    "/revocations",
    summary="The signed list of cards that must no longer verify, for offline verifiers",
    description="Keyed pseudonyms of revoked and replaced card numbers, never the numbers, "
    "with the time of issue. Verifiers refuse a list older than their setting.",
)
async def revocations(cards: CardsDep) -> dict[str, Any]:
    numbers = await cards.index.retired_numbers()
    return sign_revocation_list(numbers, cards.keys.active, issued_at=utc_now())


@router.post(
    "/keys/rotate",
    summary="Start signing with a new issuer key; cards signed by older keys keep verifying",
)
async def rotate_key(cards: CardsDep, _: Admin) -> dict[str, str]:
    key = await cards.keys.rotate()
    return {"kid": key.kid}
