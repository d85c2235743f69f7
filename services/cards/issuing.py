"""Making a card: its number, its sealed printed facts, and the credential its QR code carries.

The credential is never stored: it holds the holder's name in the clear, and a stored copy
would survive erasure. Ed25519 signatures are deterministic, so the credential is signed again
from the card's event (with the key that event names) whenever it is printed, byte for byte
the same as the first time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from services.cards.context import Cards
from services.cards.domain import Holder, NewCard, fold
from services.cards.people import Person
from shared.bencard.credential import CardClaims, issue_credential
from shared.bencard.numbers import new_card_number
from shared.contracts.base import Sealed
from shared.contracts.catalog import CATALOG
from shared.crypto.cipher import PersonalDataCipher
from shared.errors import Gone, NotFound
from shared.eventstore.model import utc_now

Document = dict[str, Any]


async def load_holder(cards: Cards, migrant_id: str) -> Holder:
    stored = await cards.runtime.store.load(migrant_id)
    return fold(migrant_id, [CATALOG.decode(e.type, e.data) for e in stored])


def card_time() -> datetime:
    """Whole seconds: what the credential's CWT times hold, so both always agree."""
    return utc_now().replace(microsecond=0)


async def new_card(cards: Cards, person: Person, actor: str) -> NewCard:
    """A fresh number and the person's current name and birth year, sealed with their key."""
    cipher = cards.runtime.cipher
    name = None if person.full_name is None else await cipher.open(person.full_name)
    if name is None:
        raise Gone(f"migrant {person.migrant_id}'s personal data was erased; no card is possible")
    year = await _birth_year(cipher, person)
    issued_at = card_time()
    return NewCard(
        card_number=new_card_number(),
        printed_name=await cipher.seal(person.migrant_id, name),
        sex=person.sex,
        birth_year=None if year is None else await cipher.seal(person.migrant_id, str(year)),
        issued_at=issued_at,
        expires_at=issued_at + timedelta(days=cards.settings.card_validity_days),
        key_id=cards.keys.active.kid,
        site=person.site,
        actor=actor,
    )


@dataclass(frozen=True)
class OpenedCard:
    """A card with its printed facts decrypted: for a print or an online verification."""

    number: str
    migrant_id: str
    name: str
    sex: Any
    birth_year: int | None
    issued_at: datetime
    expires_at: datetime
    key_id: str


async def open_card(cipher: PersonalDataCipher, doc: Document) -> OpenedCard:
    born = doc.get("birth_year")
    opened = await cipher.open_many(
        {
            "name": Sealed.model_validate(doc["printed_name"]),
            "year": None if born is None else Sealed.model_validate(born),
        }
    )
    name, year_text = opened["name"], opened["year"]
    if name is None:
        raise Gone(f"the holder of card {doc['_id']} was erased; the card shows nothing")
    year = None if year_text is None else int(year_text)
    return OpenedCard(
        number=doc["_id"],
        migrant_id=doc["migrant_id"],
        name=name,
        sex=doc["sex"],
        birth_year=year,
        issued_at=as_utc(doc["issued_at"]),
        expires_at=as_utc(doc["expires_at"]),
        key_id=doc["key_id"],
    )


def credential_of(cards: Cards, card: OpenedCard) -> str:
    """The card's QR payload, signed again with the key that signed it first."""
    key = cards.keys.key(card.key_id)
    if key is None:
        raise NotFound(f"signing key {card.key_id} of card {card.number} is not in the key ring")
    claims = CardClaims(
        card_number=card.number,
        name=card.name,
        sex=card.sex,
        birth_year=card.birth_year,
        issued_at=card.issued_at,
        expires_at=card.expires_at,
        issuer=cards.settings.card_issuer,
    )
    return issue_credential(claims, key)


def as_utc(moment: datetime) -> datetime:
    """MongoDB hands datetimes back naive; they were stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def _birth_year(cipher: PersonalDataCipher, person: Person) -> int | None:
    if person.date_of_birth is not None:
        born = await cipher.open(person.date_of_birth)
        return None if born is None else int(born[:4])
    if person.approximate_birth_year is not None:
        year = await cipher.open(person.approximate_birth_year)
        return None if year is None else int(year)
    return None
