"""HTTP shapes of repatriation cases, kept apart from the events they become and come from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from services.distribution.repatriation import COUNTRY, Case, Step
from shared.contracts.distribution import RepatriationStep


class RepatriationCaseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    migrant_id: str = Field(min_length=1, max_length=100, description="Who asked to go home.")
    destination_country: str = Field(
        description="ISO 3166-1 alpha-2 code in capitals, e.g. 'BD' for Bangladesh.",
        json_schema_extra={"pattern": "^[A-Z]{2}$"},
    )
    site: str = Field(min_length=1, max_length=100, description="Site handling the case.")

    @field_validator("destination_country")
    @classmethod
    def alpha_2(cls, value: str) -> str:
        # A custom message: "should match pattern ^[A-Z]{2}$" does not say what to type.
        if not COUNTRY.fullmatch(value):
            raise ValueError(
                "use the ISO 3166-1 alpha-2 code in capitals, e.g. 'BD' for Bangladesh"
            )
        return value


class RepatriationStepCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    step: Step = Field(description="The step reached; GET the case for its possible_steps.")
    with_authority: str | None = Field(
        default=None,
        min_length=2,
        max_length=200,
        description="For travel_document_in_progress: e.g. 'High Commission of Bangladesh'.",
    )
    reason: str | None = Field(
        default=None, min_length=3, max_length=500, description="For cancelled: why."
    )


class StepPublic(BaseModel):
    step: RepatriationStep
    at: datetime
    by: str
    with_authority: str | None
    reason: str | None


class RepatriationCasePublic(BaseModel):
    case_id: str
    migrant_id: str
    destination_country: str
    site: str
    status: RepatriationStep = Field(description="The last step recorded.")
    possible_steps: list[Step] = Field(description="What may be recorded next; [] when closed.")
    steps: list[StepPublic]
    opened_at: datetime
    updated_at: datetime
    version: int = Field(description="The case stream's version.")


class RepatriationCasePage(BaseModel):
    items: list[RepatriationCasePublic]
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null at the end."
    )


def public(case: Case) -> dict[str, Any]:
    """The case as JSON: what a route answers, and what an ``Idempotency-Key`` replays."""
    return RepatriationCasePublic(
        case_id=case.case_id,
        migrant_id=case.migrant_id,
        destination_country=case.destination_country,
        site=case.site,
        status=case.status,
        possible_steps=list(case.possible_steps),
        steps=[
            StepPublic(
                step=s.step, at=s.at, by=s.by, with_authority=s.with_authority, reason=s.reason
            )
            for s in case.steps
        ],
        opened_at=case.opened_at,
        updated_at=case.updated_at,
        version=case.version,
    ).model_dump(mode="json")
