"""Events the distribution service publishes on ``bensys.distribution.v1``: the published contract.

A delivery to a person has that person's migrant id as its subject, so their deliveries stay
in order with everything else about them; a delivery to an organisation (a caterer's delivery
pass) or a group activity is its own subject. No personal data travels here: who received what,
where and when is what reports count, and the person is named only by their id.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts.base import Event, EventPart
from shared.contracts.catalog import CATALOG


class Override(EventPart):
    """A manager allowed a delivery that an entitlement rule would have refused."""

    rule: str = Field(
        description="The rule that was overridden, e.g. 'at most 1 parcel per 30 days'."
    )
    reason: str = Field(description="Why the manager allowed it.")
    overridden_by: str = Field(description="The manager's subject.")


@CATALOG.register
class ServiceDelivered(Event):
    """Assistance was delivered to one person, or to an organisation (a caterer's pass)."""

    producer: ClassVar[str] = "distribution"
    event_type: ClassVar[str] = "ServiceDelivered"
    event_version: ClassVar[int] = 1

    delivery_id: str = Field(description="The delivery's id.")
    client_id: str = Field(description="The id the field device gave it; a retry reuses it.")
    migrant_id: str | None = Field(
        default=None, description="The person who received it; the subject when present."
    )
    card_number: str | None = Field(
        default=None, description="The BenCard presented, when the person showed one."
    )
    organisation: str | None = Field(
        default=None, description="The organisation that received it (delivery passes)."
    )
    service: str = Field(description="Service code from the catalogue, e.g. 'food_parcel'.")
    quantity: int = Field(ge=1, description="How many units.")
    unit: str = Field(description="The catalogue's unit, e.g. 'parcel', 'session', 'pass'.")
    site: str = Field(description="Programme site where it was delivered.")
    delivered_at: datetime = Field(description="When it was delivered (UTC), as captured.")
    delivered_by: str = Field(description="Who delivered it.")
    override: Override | None = Field(
        default=None, description="Set when a manager allowed it against an entitlement rule."
    )


@CATALOG.register
class GroupActivityRecorded(Event):
    """An activity for a group without named beneficiaries: a session, meals to a caterer."""

    producer: ClassVar[str] = "distribution"
    event_type: ClassVar[str] = "GroupActivityRecorded"
    event_version: ClassVar[int] = 1

    activity_id: str = Field(description="The activity's id; the subject.")
    client_id: str = Field(description="The id the field device gave it; a retry reuses it.")
    service: str = Field(description="Service code from the catalogue.")
    people_reached: int = Field(ge=1, description="How many people took part or were served.")
    female: int | None = Field(default=None, ge=0, description="Of whom women, if counted.")
    male: int | None = Field(default=None, ge=0, description="Of whom men, if counted.")
    language: str = Field(description="ISO 639-1 code of the language it was held in.")
    organisation: str | None = Field(
        default=None, description="The organisation served, e.g. the caterer."
    )
    site: str = Field(description="Programme site.")
    held_at: datetime = Field(description="When it took place (UTC).")
    recorded_by: str = Field(description="Who recorded it.")


@CATALOG.register
class DeliveryVoided(Event):
    """A delivery or group activity was recorded by mistake; reports subtract it."""

    producer: ClassVar[str] = "distribution"
    event_type: ClassVar[str] = "DeliveryVoided"
    event_version: ClassVar[int] = 1

    delivery_id: str = Field(description="The delivery or activity voided.")
    migrant_id: str | None = Field(
        default=None, description="The person it was for, if any; then the subject."
    )
    reason: str = Field(description="Why it is void, e.g. 'entered twice'.")
    voided_by: str = Field(description="Who voided it.")
    voided_at: datetime = Field(description="When (UTC).")


RepatriationStep = Literal[
    "requested", "travel_document_in_progress", "travel_booked", "departed", "cancelled"
]


@CATALOG.register
class RepatriationRequested(Event):
    """A person asked for help to return home voluntarily: a case is opened."""

    producer: ClassVar[str] = "distribution"
    event_type: ClassVar[str] = "RepatriationRequested"
    event_version: ClassVar[int] = 1

    case_id: str = Field(description="The repatriation case.")
    migrant_id: str = Field(description="The person; the subject.")
    destination_country: str = Field(description="ISO 3166-1 alpha-2 code, e.g. 'BD'.")
    site: str = Field(description="Programme site handling the case.")
    requested_at: datetime = Field(description="When (UTC).")
    recorded_by: str = Field(description="Who opened the case.")


@CATALOG.register
class RepatriationStepRecorded(Event):
    """A repatriation case moved on: travel document in progress, booked, departed, cancelled."""

    producer: ClassVar[str] = "distribution"
    event_type: ClassVar[str] = "RepatriationStepRecorded"
    event_version: ClassVar[int] = 1

    case_id: str = Field(description="The repatriation case.")
    migrant_id: str = Field(description="The person; the subject.")
    step: Literal["travel_document_in_progress", "travel_booked", "departed", "cancelled"] = Field(
        description="The step reached."
    )
    with_authority: str | None = Field(
        default=None,
        description="For the travel document: the embassy or high commission handling it.",
    )
    reason: str | None = Field(default=None, description="For a cancellation: why.")
    recorded_at: datetime = Field(description="When (UTC).")
    recorded_by: str = Field(description="Who recorded it.")
