"""Events the cards service publishes on ``bensys.cards.v1``: the published contract.

Every event about a card holder has the holder's migrant id as its subject, so a person's
cards, doses and verifications stay in order on one partition. Card numbers travel in clear
(they are the holder's pseudonymous id, like the migrant id); the name printed on a card and
the year of birth are personal data and travel sealed with the holder's own key.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts.base import Event, Sealed
from shared.contracts.catalog import CATALOG
from shared.contracts.registry import Sex

IssueTrigger = Literal["request", "registration", "merge"]
ReplacementReason = Literal["lost", "damaged", "stolen", "details_changed", "other"]
RevocationReason = Literal[
    "misuse", "issued_in_error", "holder_request", "merged", "erased", "expired", "other"
]
VerificationStatus = Literal[
    "valid",
    "revoked",
    "replaced",
    "expired",
    "not_yet_valid",
    "unknown",
    "bad_signature",
    "malformed",
]


@CATALOG.register
class CardIssued(Event):
    """A BenCard was issued to a registered person; it is their one active card."""

    producer: ClassVar[str] = "cards"
    event_type: ClassVar[str] = "CardIssued"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The holder; the subject of the event.")
    card_number: str = Field(description="The card's number: 11 characters, the last a check.")
    printed_name: Sealed = Field(description="The name as printed on the card. Personal data.")
    sex: Sex = Field(description="Sex as printed on the card.")
    birth_year: Sealed | None = Field(
        default=None, description="Year of birth printed on the card (YYYY). Personal data."
    )
    issued_at: datetime = Field(description="When the card was issued (UTC).")
    expires_at: datetime = Field(description="When the card stops being valid (UTC).")
    key_id: str = Field(description="Id of the issuer key that signed the card's credential.")
    site: str = Field(description="Programme site of the holder when the card was issued.")
    trigger: IssueTrigger = Field(
        description="Why: a registrar's request, a registration that asked for a card, or a "
        "merge that left the surviving record without one."
    )
    issued_by: str = Field(description="Who issued it ('system:cards' for automatic issues).")


@CATALOG.register
class CardReplaced(Event):
    """The holder's card was replaced by a new one; the old one stops verifying at once."""

    producer: ClassVar[str] = "cards"
    event_type: ClassVar[str] = "CardReplaced"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The holder; the subject of the event.")
    old_card_number: str = Field(description="The card that no longer verifies.")
    card_number: str = Field(description="The new card's number.")
    reason: ReplacementReason = Field(description="Why the card was replaced.")
    printed_name: Sealed = Field(description="The name printed on the new card. Personal data.")
    sex: Sex = Field(description="Sex printed on the new card.")
    birth_year: Sealed | None = Field(
        default=None, description="Year of birth on the new card (YYYY). Personal data."
    )
    issued_at: datetime = Field(description="When the new card was issued (UTC).")
    expires_at: datetime = Field(description="When the new card stops being valid (UTC).")
    key_id: str = Field(description="Id of the issuer key that signed the new credential.")
    site: str = Field(description="Programme site of the holder when the card was replaced.")
    replaced_by: str = Field(description="Who replaced it.")


@CATALOG.register
class CardRevoked(Event):
    """A card was revoked and stops verifying at once; the holder keeps no active card."""

    producer: ClassVar[str] = "cards"
    event_type: ClassVar[str] = "CardRevoked"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The holder; the subject of the event.")
    card_number: str = Field(description="The card revoked.")
    reason: RevocationReason = Field(
        description="Why, as a code ('merged' and 'erased' come from the registry's events); "
        "free text about a person would outlive erasure."
    )
    superseded_by: str | None = Field(
        default=None,
        description="For 'merged': the surviving record's card that replaces this one.",
    )
    revoked_by: str = Field(description="Who revoked it ('system:cards' when automatic).")
    revoked_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class CardVerified(Event):
    """A health provider checked a card, online; recorded whatever the result.

    The subject is the holder when the card is known, otherwise the verification itself.
    """

    producer: ClassVar[str] = "cards"
    event_type: ClassVar[str] = "CardVerified"
    event_version: ClassVar[int] = 1

    verification_id: str = Field(description="Id of this verification.")
    migrant_id: str | None = Field(
        default=None, description="The holder, when the card is one BenSys issued."
    )
    card_number: str | None = Field(
        default=None, description="The card number presented or read from the credential."
    )
    method: Literal["credential", "card_number"] = Field(
        description="Whether the QR credential was scanned or the number typed."
    )
    status: VerificationStatus = Field(description="The answer the provider got.")
    verified_by: str = Field(description="The health provider's subject.")
    site: str | None = Field(default=None, description="The provider's site, if any.")
    verified_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class DoseRecorded(Event):
    """A vaccine dose was given to a card holder and recorded against their card."""

    producer: ClassVar[str] = "cards"
    event_type: ClassVar[str] = "DoseRecorded"
    event_version: ClassVar[int] = 1

    dose_id: str = Field(description="Id of this dose record.")
    migrant_id: str = Field(description="The holder; the subject of the event.")
    card_number: str = Field(description="The card the dose was recorded against.")
    vaccine: str = Field(description="Vaccine code from the catalogue, e.g. 'measles_rubella'.")
    dose_number: int = Field(ge=1, description="Which dose of that vaccine: 1, 2, …")
    course_doses: int = Field(
        ge=1, description="Doses that complete this vaccine's course, from the catalogue."
    )
    administered_on: date = Field(description="The day the dose was given.")
    centre: str = Field(description="The vaccination centre, e.g. 'Hulhumalé Hospital'.")
    site: str = Field(description="The holder's programme site, for reports.")
    recorded_by: str = Field(description="The health provider who recorded it.")
    recorded_at: datetime = Field(description="When it was recorded (UTC).")


@CATALOG.register
class CardsPrinted(Event):
    """Someone took cards' printed facts out of BenSys: a print, a sheet or a QR credential.

    What is printed (the name, the year of birth) is personal data, and ARCHITECTURE §5 makes
    every read of it an event. One event per request, on a stream of its own (``prints:<id>``);
    its subject is the holder when one card was printed.
    """

    producer: ClassVar[str] = "cards"
    event_type: ClassVar[str] = "CardsPrinted"
    event_version: ClassVar[int] = 1

    card_numbers: tuple[str, ...] = Field(description="The cards printed.")
    migrant_ids: tuple[str, ...] = Field(description="Their holders, in the same order.")
    output: Literal["pdf", "png", "sheets", "credential"] = Field(
        description="A card as PDF or PNG, A4 sheets of a site's cards, or the QR text alone."
    )
    printed_by: str = Field(description="Who printed them.")
    role: str = Field(description="Their role.")
    printed_at: datetime = Field(description="When (UTC).")
