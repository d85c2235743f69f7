"""Events the reporting service publishes on ``bensys.partner.v1``: the partner feed.

A partner organisation (IOM, a health authority's programme office, a donor's monitoring
team) learns what the programme did, never who for. Each domain event a partner subscribes to
becomes one of these, written for that partner alone:

- every id (person, delivery, call) is a pseudonym: ``HMAC-SHA-256(partner secret, id)``, the
  first 128 bits in hex. One secret per partner, so two partners' feeds cannot be joined by id;
  one partner sees the same person under the same pseudonym in every event, so it can count
  unique people and follow a person's services over time;
- no personal data at all: no name, phone, date of birth, document, address, notes, card
  number or free text. Sex, age band, nationality, language and site travel, as in reports;
- days, not moments: each event carries the programme's calendar day it belongs to, and the
  envelope has no ``time``, so a partner cannot line a record up with a clinic's or an
  employer's own timestamps.

The envelope is CloudEvents 1.0 in Kafka's binary mode like every BenSys topic: ``ce_id`` (a
UUID derived from the partner and the source event, so a redelivered event keeps its id),
``ce_source`` (``/bensys/partner/<partner id>``), ``ce_type``, ``ce_subject`` (the pseudonym of
the person, or of the delivery or call when there is no person) and the extension
``ce_partner`` (whose feed this message belongs to). The Kafka key is the subject: one person's
events stay in order.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts.base import Event
from shared.contracts.catalog import CATALOG
from shared.contracts.helpline import CallCategory
from shared.contracts.registry import Sex

PSEUDONYM_DESCRIPTION = "HMAC-SHA-256 of the id under this partner's secret, 128 bits in hex."


class PartnerEvent(Event):
    """What every partner event shares: its producer and the day it belongs to."""

    producer: ClassVar[str] = "partner"


@CATALOG.register
class PersonRegistered(PartnerEvent):
    """Someone was registered with the programme."""

    event_type: ClassVar[str] = "PersonRegistered"
    event_version: ClassVar[int] = 1

    person: str = Field(description=f"The person. {PSEUDONYM_DESCRIPTION}")
    sex: Sex = Field(description="As the person states it.")
    age_band: str = Field(description="Age band at registration, e.g. '25-34', or 'unknown'.")
    nationality: str = Field(description="ISO 3166-1 alpha-2 country code, e.g. 'BD'.")
    preferred_languages: tuple[str, ...] = Field(
        description="ISO 639-1 codes, most preferred first."
    )
    site: str = Field(description="Programme site where the person registered.")
    day: date = Field(description="The programme's calendar day of the registration.")


@CATALOG.register
class PersonsMerged(PartnerEvent):
    """Two records were found to be one person: count ``person`` as ``survivor`` from now."""

    event_type: ClassVar[str] = "PersonsMerged"
    event_version: ClassVar[int] = 1

    person: str = Field(description=f"The record absorbed. {PSEUDONYM_DESCRIPTION}")
    survivor: str = Field(description=f"The record that remains. {PSEUDONYM_DESCRIPTION}")
    day: date = Field(description="The programme's calendar day of the merge.")


@CATALOG.register
class PersonErased(PartnerEvent):
    """A person was erased from the programme: delete whatever you hold under ``person``."""

    event_type: ClassVar[str] = "PersonErased"
    event_version: ClassVar[int] = 1

    person: str = Field(description=f"The person. {PSEUDONYM_DESCRIPTION}")
    day: date = Field(description="The programme's calendar day of the erasure.")


@CATALOG.register
class CardIssued(PartnerEvent):
    """A person was given a BenCard (the number is never in the feed)."""

    event_type: ClassVar[str] = "CardIssued"
    event_version: ClassVar[int] = 1

    person: str = Field(description=f"The holder. {PSEUDONYM_DESCRIPTION}")
    site: str = Field(description="The holder's programme site.")
    day: date = Field(description="The programme's calendar day of the issue.")


@CATALOG.register
class DoseGiven(PartnerEvent):
    """A vaccine dose was given to a card holder."""

    event_type: ClassVar[str] = "DoseGiven"
    event_version: ClassVar[int] = 1

    person: str = Field(description=f"The person vaccinated. {PSEUDONYM_DESCRIPTION}")
    vaccine: str = Field(description="Vaccine code from the catalogue, e.g. 'measles_rubella'.")
    dose_number: int = Field(ge=1, description="Which dose of that vaccine: 1, 2, …")
    course_doses: int = Field(ge=1, description="Doses that complete the course.")
    site: str = Field(description="The person's programme site.")
    day: date = Field(description="The day the dose was given.")


@CATALOG.register
class ServiceDelivered(PartnerEvent):
    """Assistance was given to a person or an organisation."""

    event_type: ClassVar[str] = "ServiceDelivered"
    event_version: ClassVar[int] = 1

    delivery: str = Field(description=f"The delivery, for voids. {PSEUDONYM_DESCRIPTION}")
    person: str | None = Field(
        description=f"Who received it; null when given to an organisation. {PSEUDONYM_DESCRIPTION}"
    )
    service: str = Field(description="Service code from the catalogue, e.g. 'food_parcel'.")
    quantity: int = Field(ge=1, description="How many units.")
    unit: str = Field(description="The catalogue's unit, e.g. 'parcel', 'session', 'pass'.")
    site: str = Field(description="Programme site where it was delivered.")
    day: date = Field(description="The programme's calendar day of the delivery.")


@CATALOG.register
class DeliveryVoided(PartnerEvent):
    """A delivery was recorded by mistake: do not count it."""

    event_type: ClassVar[str] = "DeliveryVoided"
    event_version: ClassVar[int] = 1

    delivery: str = Field(description=f"The delivery voided. {PSEUDONYM_DESCRIPTION}")
    day: date = Field(description="The programme's calendar day of the void.")


@CATALOG.register
class CallLogged(PartnerEvent):
    """A call on the 1458 helpline: what it was about, never what was said."""

    event_type: ClassVar[str] = "CallLogged"
    event_version: ClassVar[int] = 1

    call: str = Field(description=f"The call. {PSEUDONYM_DESCRIPTION}")
    person: str | None = Field(
        description=f"The registered caller, if known. {PSEUDONYM_DESCRIPTION}"
    )
    direction: Literal["incoming", "outgoing"] = Field(description="Who called whom.")
    answered: bool = Field(description="False for a missed call.")
    duration_seconds: int = Field(ge=0, description="How long it lasted; 0 when missed.")
    language: str = Field(description="ISO 639-1 code of the language spoken.")
    categories: tuple[CallCategory, ...] = Field(description="What the call was about.")
    services_requested: tuple[str, ...] = Field(description="Service codes asked for.")
    services_provided: tuple[str, ...] = Field(description="Service codes given on the call.")
    site: str | None = Field(description="The site the call concerns, if any.")
    day: date = Field(description="The programme's calendar day of the call.")
