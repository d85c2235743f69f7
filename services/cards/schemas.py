"""HTTP shapes of the cards service, named by what they carry and kept apart from the events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.cards import ReplacementReason, VerificationStatus
from shared.contracts.registry import Sex

ManualRevocation = Literal["misuse", "issued_in_error", "holder_request", "other"]
"""Reasons a person may give; 'merged' and 'erased' come only from the registry's events."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardCreate(_Strict):
    migrant_id: str = Field(min_length=1, max_length=100, description="The registered person.")


class CardReplace(_Strict):
    reason: ReplacementReason = Field(description="Why the card is replaced.")


class CardRevoke(_Strict):
    reason: ManualRevocation = Field(description="Why the card is revoked.")


class CardPublic(BaseModel):
    """A card as registrars see it: status and dates, no personal data."""

    card_number: str
    display_number: str = Field(description="The number as printed: XXXX-XXXX-XXX.")
    migrant_id: str
    status: str = Field(description="active, replaced or revoked.")
    reason: str | None = None
    superseded_by: str | None = None
    issued_at: datetime
    expires_at: datetime
    site: str


class CardIssuedAnswer(CardPublic):
    version: int = Field(description="The holder's stream version after this change.")


class VerifyRequest(_Strict):
    credential: str | None = Field(
        default=None, max_length=4000, description="The QR code's text, starting 'BC1:'."
    )
    card_number: str | None = Field(
        default=None, max_length=40, description="The number typed from the card."
    )

    @model_validator(mode="after")
    def one_of_them(self) -> VerifyRequest:
        if (self.credential is None) == (self.card_number is None):
            raise ValueError("send exactly one of 'credential' (scanned) or 'card_number' (typed)")
        return self


class HolderForHealth(BaseModel):
    """What a health provider may learn: what is printed on the card, nothing else."""

    name: str
    sex: Sex
    year_of_birth: int | None


class DoseView(BaseModel):
    vaccine: str
    dose_number: int
    administered_on: date
    centre: str


class Verification(BaseModel):
    verification_id: str
    valid: bool
    status: VerificationStatus
    reason: str = Field(description="Why, in words a health worker can act on.")
    card_number: str | None = None
    expires_at: datetime | None = None
    holder: HolderForHealth | None = Field(
        default=None,
        description="Only for a valid card whose holder consented to health_vaccination.",
    )
    doses: list[DoseView] | None = None


class DoseCreate(_Strict):
    vaccine: str = Field(min_length=1, max_length=60, description="Code from the catalogue.")
    dose_number: int = Field(ge=1, le=10)
    administered_on: date
    centre: str = Field(min_length=1, max_length=200)


class DoseCreated(BaseModel):
    dose_id: str
    card_number: str
    vaccine: str
    dose_number: int
    course_doses: int
    administered_on: date
    centre: str
