"""HTTP shapes of the registry, named by role and kept apart from the events (STYLE)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.registry import ConsentPurpose, Sex


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purposes: list[ConsentPurpose] = Field(min_length=1, description="What the person agreed to.")
    method: Literal["verbal", "written", "digital"] = "verbal"
    notice_language: str = Field(pattern=r"^[a-z]{2,3}$", description="ISO 639-1 code.")


class MigrantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    full_name: str = Field(min_length=1, max_length=200, description="As the person gives it.")
    sex: Sex
    date_of_birth: date | None = Field(default=None, description="YYYY-MM-DD, if known.")
    nationality: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2, e.g. BD.")
    preferred_languages: list[str] = Field(
        min_length=1, description="ISO 639-1 codes, e.g. ['bn', 'en']."
    )
    site: str = Field(description="Programme site, e.g. 'Greater Malé'.")
    consent: ConsentIn
    issue_card: bool = False


class MigrantPublic(BaseModel):
    migrant_id: str
    version: int
    registered_at: datetime
