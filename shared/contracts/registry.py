"""Events the registry publishes on ``bensys.registry.v1``: the published contract.

Personal data travels only as :class:`~shared.contracts.base.Sealed` values; the reporting
attributes (sex, age band, nationality, languages, site) travel in clear and identify no one.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts.base import Event, EventPart, Sealed
from shared.contracts.catalog import CATALOG

Sex = Literal["female", "male", "other", "undisclosed"]
ConsentPurpose = Literal["registration", "health_vaccination", "partner_referral"]


class ConsentGiven(EventPart):
    """The consent recorded as part of a registration."""

    purposes: tuple[ConsentPurpose, ...] = Field(description="What the person agreed to.")
    method: Literal["verbal", "written", "digital"] = Field(description="How consent was given.")
    notice_language: str = Field(
        description="ISO 639-1 code of the language the privacy notice was given in."
    )


@CATALOG.register
class MigrantRegistered(Event):
    """A person was registered with the programme, with their consent."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "MigrantRegistered"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The person's id in BenSys; the subject of the event.")
    full_name: Sealed = Field(description="The name as the person gives it. Personal data.")
    date_of_birth: Sealed | None = Field(
        default=None, description="Exact date of birth (YYYY-MM-DD), if known. Personal data."
    )
    sex: Sex = Field(description="As the person states it.")
    age_band: str = Field(description="Age band at registration, e.g. '25-34', or 'unknown'.")
    nationality: str = Field(description="ISO 3166-1 alpha-2 country code, e.g. 'BD'.")
    preferred_languages: tuple[str, ...] = Field(
        description="ISO 639-1 codes, most preferred first, e.g. ('bn', 'en')."
    )
    site: str = Field(description="Programme site where the person registered.")
    consent: ConsentGiven = Field(description="The consent recorded at registration.")
    issue_card: bool = Field(
        default=False, description="Whether the cards service should issue a BenCard at once."
    )
    registered_by: str = Field(description="Subject of the staff member or volunteer.")
    registered_at: datetime = Field(description="When the registration was recorded (UTC).")
