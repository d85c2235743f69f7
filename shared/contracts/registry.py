"""Events the registry publishes on ``bensys.registry.v1``: the published contract.

Personal data travels only as :class:`~shared.contracts.base.Sealed` values; the reporting
attributes (sex, age band, nationality, languages, site, vulnerabilities) travel in clear and
identify no one alone. Every event's subject is the person it is about.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts.base import Event, EventPart, Sealed
from shared.contracts.catalog import CATALOG

Sex = Literal["female", "male", "other", "undisclosed"]
ConsentPurpose = Literal["registration", "health_vaccination", "partner_referral"]
ConsentMethod = Literal["verbal", "written", "digital"]
DocumentType = Literal["passport", "national_id", "employer_id", "other"]


class ConsentGiven(EventPart):
    """The consent recorded as part of a registration."""

    purposes: tuple[ConsentPurpose, ...] = Field(description="What the person agreed to.")
    method: ConsentMethod = Field(description="How consent was given.")
    notice_language: str = Field(
        description="ISO 639-1 code of the language the privacy notice was given in."
    )


class IdentityDocument(EventPart):
    """A document the person chose to show; BenSys never requires one."""

    type: DocumentType = Field(description="What kind of document.")
    number: Sealed = Field(description="The document's number. Personal data.")
    issuing_country: str | None = Field(
        default=None, description="ISO 3166-1 alpha-2 code of the issuing country, if known."
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
    other_names: tuple[Sealed, ...] = Field(
        default=(), description="Other names the person is known by. Personal data."
    )
    approximate_birth_year: Sealed | None = Field(
        default=None,
        description="Year of birth (YYYY) when the exact date is not known. Personal data.",
    )
    phone: Sealed | None = Field(
        default=None, description="Phone number in E.164 form. Personal data."
    )
    address: Sealed | None = Field(
        default=None, description="Island and address as given. Personal data."
    )
    employer: Sealed | None = Field(default=None, description="Employer as given. Personal data.")
    identity_document: IdentityDocument | None = Field(
        default=None, description="A document the person chose to show, if any."
    )
    vulnerabilities: tuple[str, ...] = Field(
        default=(), description="Codes from the vulnerability catalogue, e.g. 'pregnant'."
    )


@CATALOG.register
class MigrantDetailsCorrected(Event):
    """Details of a registered person were corrected; fields not named stay as they were."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "MigrantDetailsCorrected"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The person whose details were corrected.")
    corrected_fields: tuple[str, ...] = Field(description="Names of the fields that changed.")
    full_name: Sealed | None = Field(default=None, description="New name. Personal data.")
    other_names: tuple[Sealed, ...] | None = Field(
        default=None, description="New list of other names. Personal data."
    )
    date_of_birth: Sealed | None = Field(
        default=None, description="New exact date of birth. Personal data."
    )
    approximate_birth_year: Sealed | None = Field(
        default=None, description="New approximate year of birth. Personal data."
    )
    phone: Sealed | None = Field(default=None, description="New phone (E.164). Personal data.")
    address: Sealed | None = Field(default=None, description="New address. Personal data.")
    employer: Sealed | None = Field(default=None, description="New employer. Personal data.")
    identity_document: IdentityDocument | None = Field(
        default=None, description="New identity document."
    )
    sex: Sex | None = Field(default=None, description="New sex, if corrected.")
    age_band: str | None = Field(
        default=None, description="Age band from the corrected birth date, if it changed."
    )
    nationality: str | None = Field(default=None, description="New nationality (ISO 3166).")
    preferred_languages: tuple[str, ...] | None = Field(
        default=None, description="New preferred languages (ISO 639-1)."
    )
    site: str | None = Field(default=None, description="New site.")
    vulnerabilities: tuple[str, ...] | None = Field(
        default=None, description="New vulnerability codes."
    )
    corrected_by: str = Field(description="Who corrected them.")
    corrected_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class ConsentRecorded(Event):
    """The person gave consent for one purpose."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "ConsentRecorded"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The person who consented.")
    purpose: ConsentPurpose = Field(description="What they agreed to.")
    method: ConsentMethod = Field(description="How consent was given.")
    notice_language: str = Field(description="ISO 639-1 code of the notice's language.")
    recorded_by: str = Field(description="Who recorded it.")
    recorded_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class ConsentWithdrawn(Event):
    """The person withdrew consent for one purpose; services stop using it from now on."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "ConsentWithdrawn"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The person who withdrew consent.")
    purpose: ConsentPurpose = Field(description="The purpose withdrawn.")
    withdrawn_by: str = Field(description="Who recorded the withdrawal.")
    withdrawn_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class MigrantsMerged(Event):
    """Two records were found to be one person: the absorbed record now points to the survivor.

    Published on the absorbed person's stream; reports count the survivor only.
    """

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "MigrantsMerged"
    event_version: ClassVar[int] = 1

    absorbed_id: str = Field(description="The record that is absorbed; the subject.")
    survivor_id: str = Field(description="The record that remains.")
    score: float = Field(description="The duplicate score when the pair was resolved (0 to 1).")
    reason: str = Field(description="Why the registrar decided they are one person.")
    merged_by: str = Field(description="Who decided.")
    merged_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class MigrantsUnmerged(Event):
    """A merge was a mistake: the absorbed record stands on its own again."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "MigrantsUnmerged"
    event_version: ClassVar[int] = 1

    absorbed_id: str = Field(description="The record that was absorbed; the subject.")
    survivor_id: str = Field(description="The record it had been merged into.")
    reason: str = Field(description="Why the merge is undone.")
    unmerged_by: str = Field(description="Who decided.")
    unmerged_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class DuplicatesMarkedDistinct(Event):
    """A likely duplicate pair was judged to be two different people."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "DuplicatesMarkedDistinct"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="One of the pair; the subject.")
    other_id: str = Field(description="The other of the pair.")
    reason: str = Field(description="Why they are different people.")
    decided_by: str = Field(description="Who decided.")
    decided_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class MigrantErased(Event):
    """The person's personal data was erased: their key is destroyed; counts remain."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "MigrantErased"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The person erased.")
    reason: Literal["person_request", "duplicate_record", "registered_in_error", "other"] = Field(
        description="Why, as a code: free text about the person would outlive erasure."
    )
    erased_by: str = Field(description="The admin who erased.")
    erased_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class PersonalDataRead(Event):
    """Someone read a person's personal data (ARCHITECTURE §5): who, as what role, and why.

    Published on the stream ``reads:<migrant_id>`` so that reading never changes the version
    a correction must name in ``If-Match``.
    """

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "PersonalDataRead"
    event_version: ClassVar[int] = 1

    migrant_id: str = Field(description="The person whose data was read.")
    reader: str = Field(description="Who read it.")
    role: str = Field(description="The reader's role.")
    purpose: str = Field(description="Why: 'lookup', 'search', 'correction' or as given.")
    result: Literal["shown", "erased"] = Field(description="What the reader got.")
    read_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class DisclosureRequested(Event):
    """An authority asked for data about people. Recorded; nothing is released by the system."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "DisclosureRequested"
    event_version: ClassVar[int] = 1

    disclosure_id: str = Field(description="The request's id; the subject.")
    authority: str = Field(description="The body that asked, e.g. 'Maldives Police Service'.")
    requested_by: Sealed = Field(description="The official who asked. Personal data.")
    migrant_ids: tuple[str, ...] = Field(description="Whom the request is about.")
    data_requested: str = Field(description="What data was asked for.")
    legal_basis: str = Field(description="The legal basis the authority cited.")
    received_at: datetime = Field(description="When the request was received (UTC).")
    recorded_by: str = Field(description="Who recorded it.")


@CATALOG.register
class DisclosureDecided(Event):
    """The programme decided a disclosure request: released (what) or refused (why)."""

    producer: ClassVar[str] = "registry"
    event_type: ClassVar[str] = "DisclosureDecided"
    event_version: ClassVar[int] = 1

    disclosure_id: str = Field(description="The request decided; the subject.")
    decision: Literal["released", "refused"] = Field(description="The decision.")
    reason: str = Field(description="Why.")
    released_data: str | None = Field(default=None, description="What was released, when released.")
    decided_by: str = Field(description="Who decided.")
    decided_at: datetime = Field(description="When (UTC).")
