"""HTTP shapes of the distribution service, kept apart from the events they become."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

CLIENT_ID = Field(
    min_length=1,
    max_length=100,
    description="The id the field device gave this record: sending it again changes nothing.",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DeliveryCreate(_Strict):
    client_id: str = CLIENT_ID
    migrant_id: str | None = Field(default=None, max_length=100, description="Who received it.")
    card_number: str | None = Field(
        default=None, max_length=40, description="The BenCard shown; names the person too."
    )
    organisation: str | None = Field(
        default=None, min_length=2, max_length=200, description="For delivery passes."
    )
    service: str = Field(min_length=1, max_length=60, description="Code from GET /services.")
    quantity: int = Field(default=1, ge=1, le=1000)
    site: str = Field(min_length=1, max_length=100)
    delivered_at: datetime | None = Field(
        default=None, description="When it was handed over (default: now). With a time zone."
    )
    override_reason: str | None = Field(
        default=None,
        min_length=3,
        max_length=500,
        description="Managers only: deliver although an entitlement rule says no, and why.",
    )

    @model_validator(mode="after")
    def one_recipient(self) -> DeliveryCreate:
        person = self.migrant_id is not None or self.card_number is not None
        if person == (self.organisation is not None):
            raise ValueError(
                "name the recipient: a person (migrant_id and/or card_number) or an "
                "organisation, not both"
            )
        if self.delivered_at is not None and self.delivered_at.tzinfo is None:
            raise ValueError("delivered_at needs a time zone, e.g. 2026-11-23T09:30:00+05:00")
        return self


class DeliveryBatch(_Strict):
    deliveries: list[dict[str, Any]] = Field(
        min_length=1, description="Deliveries captured offline, applied in this order."
    )


class GroupActivityCreate(_Strict):
    client_id: str = CLIENT_ID
    service: str = Field(min_length=1, max_length=60)
    people_reached: int = Field(ge=1, le=100_000)
    female: int | None = Field(default=None, ge=0, le=100_000)
    male: int | None = Field(default=None, ge=0, le=100_000)
    language: str = Field(pattern="^[a-z]{2}$", description="ISO 639-1, e.g. 'bn'.")
    organisation: str | None = Field(default=None, min_length=2, max_length=200)
    site: str = Field(min_length=1, max_length=100)
    held_at: datetime | None = Field(default=None, description="Default: now.")


class VoidRequest(_Strict):
    reason: str = Field(min_length=3, max_length=500, description="Why, e.g. 'entered twice'.")
