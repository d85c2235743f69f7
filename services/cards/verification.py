"""Online verification: is this card valid, and what may a health provider learn from it.

The answer is the card's validity and why, and, only when the holder consented to
``health_vaccination``, what is printed on the card and the doses recorded. Nothing about
nationality, site, calls, legal aid or repatriation is ever in it. Every verification, whatever
its result, is recorded as a ``CardVerified`` event on a stream of its own, so that checking a
card never contends with changing it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import uuid_utils
from fastapi import Request

from services.cards.context import Cards
from services.cards.issuing import as_utc, open_card
from shared.auth import Principal
from shared.bencard.credential import CredentialRejected, card_number_of, read_credential
from shared.commands import append_decided
from shared.contracts.cards import CardVerified, VerificationStatus
from shared.eventstore.model import utc_now

REASONS: dict[VerificationStatus, str] = {
    "valid": "The card is valid.",
    "revoked": "The card was revoked and must not be accepted.",
    "replaced": "The card was replaced by a newer one: ask the holder for their current card.",
    "expired": "The card has expired: the holder can get a new one at a registration desk.",
    "not_yet_valid": "The card is not valid yet: check the device's date and time.",
    "unknown": "BenSys issued no card with this number: check the number typed.",
    "bad_signature": "The QR code was not signed by a BenSys issuer key: it may be forged.",
    "malformed": "The QR code is not a BenCard credential, or it is damaged.",
}
_REJECTED: dict[str, VerificationStatus] = {
    "malformed": "malformed",
    "unsupported_algorithm": "bad_signature",
    "unknown_key": "bad_signature",
    "bad_signature": "bad_signature",
    "expired": "expired",
    "not_yet_valid": "not_yet_valid",
}


@dataclass(frozen=True)
class Checked:
    status: VerificationStatus
    number: str | None
    card: dict[str, Any] | None


async def verify_credential(cards: Cards, text: str, now: datetime) -> Checked:
    try:
        claims = read_credential(text, cards.keys.public_keys(), now=now)
    except CredentialRejected as rejected:
        status = _REJECTED[rejected.reason]
        # Only a signature that verified makes the number inside worth recording.
        number = card_number_of(text) if status in {"expired", "not_yet_valid"} else None
        card = None if number is None else await cards.index.card(number)
        return Checked(status, number, card)
    return await _status_of(cards, claims.card_number, now)


async def verify_number(cards: Cards, number: str, now: datetime) -> Checked:
    return await _status_of(cards, number, now)


async def _status_of(cards: Cards, number: str, now: datetime) -> Checked:
    card = await cards.index.card(number)
    if card is None:
        return Checked("unknown", number, None)
    if card["status"] == "replaced" or card.get("reason") == "merged":
        return Checked("replaced", number, card)
    if card["status"] == "revoked":
        return Checked("revoked", number, card)
    if now < as_utc(card["issued_at"]):
        return Checked("not_yet_valid", number, card)
    if now >= as_utc(card["expires_at"]):
        return Checked("expired", number, card)
    return Checked("valid", number, card)


async def answer(cards: Cards, checked: Checked, verification_id: str) -> dict[str, Any]:
    """The response: validity always; the printed facts and doses only with consent."""
    card = checked.card
    result: dict[str, Any] = {
        "verification_id": verification_id,
        "valid": checked.status == "valid",
        "status": checked.status,
        "reason": REASONS[checked.status],
        "card_number": checked.number,
        "expires_at": None if card is None else as_utc(card["expires_at"]),
        "holder": None,
        "doses": None,
    }
    if checked.status != "valid" or card is None:
        return result
    # Doses are read alongside consent (they are not personal data); the name is opened only
    # once consent is known, so nothing is decrypted that may not be shown.
    person, doses = await asyncio.gather(
        cards.people.find(card["migrant_id"]), cards.index.doses_of(card["migrant_id"])
    )
    if person is None or not person.shares_health_data:
        result["reason"] += " The holder has not consented to share health details."
        return result
    opened = await open_card(cards.runtime.cipher, card)
    result["holder"] = {"name": opened.name, "sex": opened.sex, "year_of_birth": opened.birth_year}
    result["doses"] = doses
    return result


async def record(
    cards: Cards,
    request: Request,
    principal: Principal,
    checked: Checked,
    *,
    method: Literal["credential", "card_number"],
    verification_id: str,
) -> None:
    """Append ``CardVerified`` on the verification's own stream (version 1, never contended)."""
    holder = None if checked.card is None else checked.card["migrant_id"]
    event = CardVerified(
        verification_id=verification_id,
        migrant_id=holder,
        card_number=checked.number,
        method=method,
        status=checked.status,
        verified_by=principal.subject,
        site=principal.site,
        verified_at=utc_now(),
    )
    await append_decided(
        cards.runtime,
        request,
        principal,
        stream_id=f"verification:{verification_id}",
        expected_version=0,
        events=[event],
        answer=lambda _: {},
        subject=holder or verification_id,
    )


def new_verification_id() -> str:
    return str(uuid_utils.uuid7())
