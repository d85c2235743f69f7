"""HTTP shapes of the registry, named by role and kept apart from the events (STYLE)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.registry import ConsentMethod, ConsentPurpose, DocumentType, Sex

LANGUAGE_PATTERN = r"^[a-z]{2,3}$"
COUNTRY_PATTERN = r"^[A-Z]{2}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ConsentIn(Strict):
    purposes: list[ConsentPurpose] = Field(min_length=1, description="What the person agreed to.")
    method: ConsentMethod = "verbal"
    notice_language: str = Field(pattern=LANGUAGE_PATTERN, description="ISO 639-1 code.")


class IdentityDocumentIn(Strict):
    type: DocumentType
    number: str = Field(min_length=1, max_length=60)
    issuing_country: str | None = Field(default=None, pattern=COUNTRY_PATTERN)


class MigrantCreate(Strict):
    full_name: str = Field(min_length=1, max_length=200, description="As the person gives it.")
    other_names: list[str] = Field(default=[], max_length=10, description="Known-as names.")
    sex: Sex
    date_of_birth: date | None = Field(default=None, description="YYYY-MM-DD, if known.")
    approximate_birth_year: int | None = Field(
        default=None, ge=1900, le=2100, description="When the exact date is not known."
    )
    nationality: str = Field(pattern=COUNTRY_PATTERN, description="ISO 3166-1 alpha-2, e.g. BD.")
    preferred_languages: list[str] = Field(
        min_length=1, description="ISO 639-1 codes, e.g. ['bn', 'en']."
    )
    phone: str | None = Field(default=None, max_length=30, description="Any common format.")
    site: str = Field(description="Programme site, e.g. 'Greater Malé'.")
    address: str | None = Field(default=None, max_length=300, description="Island / address.")
    employer: str | None = Field(default=None, max_length=200)
    identity_document: IdentityDocumentIn | None = Field(
        default=None, description="Only if the person chooses to show one."
    )
    vulnerabilities: list[str] = Field(default=[], description="Codes from the catalogue.")
    consent: ConsentIn
    issue_card: bool = False
    registered_at: datetime | None = Field(
        default=None,
        description="When the form was filled, for a registration captured on paper or "
        "offline and entered later (with a time zone; default: now).",
    )

    @model_validator(mode="after")
    def _one_birth_fact(self) -> MigrantCreate:
        if self.date_of_birth is not None and self.approximate_birth_year is not None:
            raise ValueError("give date_of_birth or approximate_birth_year, not both")
        if self.registered_at is not None and self.registered_at.tzinfo is None:
            raise ValueError("registered_at needs a time zone, e.g. 2026-11-23T09:30:00+05:00")
        return self


class MigrantCorrection(Strict):
    """Only the fields sent are corrected; send ``null`` for nothing."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    other_names: list[str] | None = Field(default=None, max_length=10)
    sex: Sex | None = None
    date_of_birth: date | None = None
    approximate_birth_year: int | None = Field(default=None, ge=1900, le=2100)
    nationality: str | None = Field(default=None, pattern=COUNTRY_PATTERN)
    preferred_languages: list[str] | None = Field(default=None, min_length=1)
    phone: str | None = Field(default=None, max_length=30)
    site: str | None = None
    address: str | None = Field(default=None, max_length=300)
    employer: str | None = Field(default=None, max_length=200)
    identity_document: IdentityDocumentIn | None = None
    vulnerabilities: list[str] | None = None


class DuplicateOut(BaseModel):
    migrant_id: str
    score: float
    matched: list[str]


class MigrantCreated(BaseModel):
    migrant_id: str
    version: int
    registered_at: datetime
    likely_duplicates: list[DuplicateOut] = []


class ConsentChange(Strict):
    purpose: ConsentPurpose
    method: ConsentMethod = "verbal"
    notice_language: str = Field(pattern=LANGUAGE_PATTERN)


class MergeRequest(Strict):
    into: str = Field(description="The surviving record's migrant_id.")
    reason: str = Field(min_length=3, max_length=500)
    override_distinct: bool = False


class ReasonIn(Strict):
    reason: str = Field(min_length=3, max_length=500)


class DistinctRequest(Strict):
    other_id: str
    reason: str = Field(min_length=3, max_length=500)


ErasureCode = Literal["person_request", "duplicate_record", "registered_in_error", "other"]


class DisclosureCreate(Strict):
    authority: str = Field(min_length=2, max_length=200)
    requested_by: str = Field(min_length=2, max_length=200, description="The official's name.")
    migrant_ids: list[str] = Field(min_length=1, max_length=100)
    data_requested: str = Field(min_length=3, max_length=1000)
    legal_basis: str = Field(min_length=3, max_length=1000)
    received_at: datetime | None = None


class DisclosureDecision(Strict):
    decision: Literal["released", "refused"]
    reason: str = Field(min_length=3, max_length=1000)
    released_data: str | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _release_says_what(self) -> DisclosureDecision:
        if self.decision == "released" and not self.released_data:
            raise ValueError("a release must say what was released (released_data)")
        return self
