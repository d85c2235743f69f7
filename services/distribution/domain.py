"""The distribution domain: what a delivery may be, and the entitlement rules it must keep.

Pure functions; the handlers fetch the catalogue entry, the person's past deliveries and the
stream version, then call these. An entitlement rule such as "one food parcel per 30 days" is
kept in both directions: deliveries captured offline arrive late, so a parcel recorded for last
Tuesday must respect the one handed out online last Friday as much as the other way round.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from shared.contracts.distribution import (
    DeliveryVoided,
    GroupActivityRecorded,
    Override,
    ServiceDelivered,
)
from shared.errors import Conflict, Forbidden, Invalid

if TYPE_CHECKING:
    from shared.catalogue.services import CatalogueEntry, EntitlementRule

FUTURE_TOLERANCE = timedelta(minutes=5)
"""How far ahead of the server a device's clock may be before its times are refused."""


@dataclass(frozen=True)
class Past:
    delivery_id: str
    quantity: int
    delivered_at: datetime


class EntitlementRefused(Conflict):
    """The delivery breaks a rule; the message names it and when the person is next eligible."""

    code = "entitlement"


@dataclass(frozen=True)
class Deliver:
    """A delivery as the field recorded it, its recipient already resolved."""

    delivery_id: str
    client_id: str
    service: str
    quantity: int
    site: str
    delivered_at: datetime
    actor: str
    migrant_id: str | None = None
    card_number: str | None = None
    organisation: str | None = None
    override_reason: str | None = None
    may_override: bool = False


def check_time(at: datetime, now: datetime, what: str) -> None:
    if at > now + FUTURE_TOLERANCE:
        raise Invalid(f"{what} {at.isoformat()} is in the future: check the device's clock")


def decide_delivery(
    entry: CatalogueEntry, command: Deliver, past: Sequence[Past], now: datetime
) -> ServiceDelivered:
    kind = "person" if command.migrant_id is not None else "organisation"
    if kind not in entry.recipients:
        raise Invalid(
            f"{entry.code} is delivered to {' or '.join(entry.recipients)}, not to "
            f"{'a person' if kind == 'person' else 'an organisation'}"
            + ("; record it as a group activity" if "group" in entry.recipients else "")
        )
    check_time(command.delivered_at, now, "delivered_at")
    override = None
    if entry.entitlement is not None and command.migrant_id is not None:
        override = _entitled(entry, entry.entitlement, command, past)
    elif command.override_reason is not None:
        raise Invalid(f"{entry.code} has no entitlement rule to override")
    return ServiceDelivered(
        delivery_id=command.delivery_id,
        client_id=command.client_id,
        migrant_id=command.migrant_id,
        card_number=command.card_number,
        organisation=command.organisation,
        service=entry.code,
        quantity=command.quantity,
        unit=entry.unit,
        site=command.site,
        delivered_at=command.delivered_at,
        delivered_by=command.actor,
        override=override,
    )


def _entitled(
    entry: CatalogueEntry, rule: EntitlementRule, command: Deliver, past: Sequence[Past]
) -> Override | None:
    window = timedelta(days=rule.per_days)
    near = [p for p in past if abs(p.delivered_at - command.delivered_at) < window]
    used = sum(p.quantity for p in near)
    text = rule.describe(entry.unit)
    if used + command.quantity <= rule.max_units:
        if command.override_reason is not None:
            raise Invalid(f"nothing to override: this delivery keeps the rule ({text})")
        return None
    if command.override_reason is not None:
        if not command.may_override:
            raise Forbidden("only a manager or an admin may override an entitlement rule")
        return Override(rule=text, reason=command.override_reason, overridden_by=command.actor)
    if not near:  # nothing received lately: this quantity alone is more than the rule allows
        raise EntitlementRefused(
            f"{entry.code}: {text}; {command.quantity} at once is more than that: record at "
            f"most {rule.max_units}. A manager may override with a reason.",
            details={
                "rule": text,
                "next_eligible_on": command.delivered_at.date().isoformat(),
                "previous": [],
            },
        )
    latest = max(p.delivered_at for p in near)
    eligible = latest + window
    raise EntitlementRefused(
        f"{entry.code}: {text}; this person received {used} on "
        + ", ".join(sorted(p.delivered_at.date().isoformat() for p in near))
        + f" and is next eligible on {eligible.date().isoformat()}. A manager may override "
        "with a reason.",
        details={
            "rule": text,
            "next_eligible_on": eligible.date().isoformat(),
            "previous": [p.delivery_id for p in near],
        },
    )


@dataclass(frozen=True)
class RecordGroup:
    activity_id: str
    client_id: str
    service: str
    people_reached: int
    female: int | None
    male: int | None
    language: str
    organisation: str | None
    site: str
    held_at: datetime
    actor: str


def decide_group(
    entry: CatalogueEntry, command: RecordGroup, now: datetime
) -> GroupActivityRecorded:
    if "group" not in entry.recipients:
        raise Invalid(f"{entry.code} is not a group activity: record it as a delivery")
    check_time(command.held_at, now, "held_at")
    counted = (command.female or 0) + (command.male or 0)
    if counted > command.people_reached:
        raise Invalid(
            f"female + male ({counted}) is more than people_reached ({command.people_reached})"
        )
    return GroupActivityRecorded(
        activity_id=command.activity_id,
        client_id=command.client_id,
        service=entry.code,
        people_reached=command.people_reached,
        female=command.female,
        male=command.male,
        language=command.language,
        organisation=command.organisation,
        site=command.site,
        held_at=command.held_at,
        recorded_by=command.actor,
    )


def decide_void(
    delivery_id: str,
    migrant_id: str | None,
    *,
    voided: bool,
    reason: str,
    actor: str,
    now: datetime,
) -> DeliveryVoided:
    if voided:
        raise Conflict(f"delivery {delivery_id} is already void")
    return DeliveryVoided(
        delivery_id=delivery_id,
        migrant_id=migrant_id,
        reason=reason,
        voided_by=actor,
        voided_at=now,
    )
