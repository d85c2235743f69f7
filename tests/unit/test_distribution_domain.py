"""The distribution domain: entitlement rules both ways in time, overrides, recipients, groups."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from services.distribution.domain import (
    Deliver,
    EntitlementRefused,
    Past,
    RecordGroup,
    decide_delivery,
    decide_group,
    decide_void,
)
from shared.catalogue.services import CatalogueEntry, EntitlementRule
from shared.errors import Conflict, Forbidden, Invalid

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PARCEL = CatalogueEntry(
    code="food_parcel",
    labels={"en": "Food parcel"},
    unit="parcel",
    entitlement=EntitlementRule(max_units=1, per_days=30),
    requires_card=False,
    recipients=("person",),
)
SESSION = CatalogueEntry(
    code="awareness_session",
    labels={"en": "Information and awareness session"},
    unit="session",
    entitlement=None,
    requires_card=False,
    recipients=("group", "person"),
)


def parcel(at: datetime = NOW, **changes: object) -> Deliver:
    command = Deliver(
        delivery_id="d-new",
        client_id="tab-1:0001",
        service="food_parcel",
        quantity=1,
        site="Seenu Atoll",
        delivered_at=at,
        actor="distributor-1",
        migrant_id="m-1",
    )
    return replace(command, **changes)  # type: ignore[arg-type]


def test_a_first_parcel_is_delivered_without_override() -> None:
    event = decide_delivery(PARCEL, parcel(), [], NOW)
    assert (event.migrant_id, event.unit, event.override) == ("m-1", "parcel", None)


def test_a_second_parcel_within_30_days_is_refused_with_the_next_eligible_day() -> None:
    past = [Past("d-1", 1, NOW - timedelta(days=10))]
    with pytest.raises(EntitlementRefused) as refused:
        decide_delivery(PARCEL, parcel(), past, NOW)
    assert refused.value.details["next_eligible_on"] == "2026-12-13"
    assert "at most 1 parcel per 30 days" in refused.value.message
    # and 31 days later it is fine
    assert decide_delivery(PARCEL, parcel(), [Past("d-1", 1, NOW - timedelta(days=31))], NOW)


def test_a_late_offline_capture_respects_a_later_delivery_too() -> None:
    # Given a parcel handed out online today
    past = [Past("d-online", 1, NOW)]
    # When a tablet that was offline sends one it recorded five days ago
    with pytest.raises(EntitlementRefused):
        decide_delivery(PARCEL, parcel(NOW - timedelta(days=5)), past, NOW)


def test_a_quantity_over_the_rule_on_its_own_is_refused_as_an_entitlement_not_a_crash() -> None:
    # Given a person who has had no parcel lately
    # When two parcels are recorded at once, against "at most 1 parcel per 30 days"
    with pytest.raises(EntitlementRefused) as refused:
        decide_delivery(PARCEL, parcel(quantity=2), [], NOW)
    # Then it is refused with the rule, as any other entitlement (it once failed in max())
    assert "2 at once is more than that: record at most 1" in refused.value.message
    assert refused.value.details["next_eligible_on"] == NOW.date().isoformat()
    # And a manager may still allow it, with a reason
    allowed = parcel(quantity=2, override_reason="household of six", may_override=True)
    assert decide_delivery(PARCEL, allowed, [], NOW).override is not None


def test_only_a_manager_may_override_and_the_override_is_recorded() -> None:
    past = [Past("d-1", 1, NOW - timedelta(days=3))]
    asked = parcel(override_reason="household of six after the fire")
    with pytest.raises(Forbidden):
        decide_delivery(PARCEL, asked, past, NOW)
    event = decide_delivery(PARCEL, replace(asked, may_override=True), past, NOW)
    assert event.override is not None
    assert event.override.rule == "at most 1 parcel per 30 days"
    assert event.override.reason == "household of six after the fire"
    # An override with nothing to override is a mistake worth telling
    with pytest.raises(Invalid, match="nothing to override"):
        decide_delivery(PARCEL, replace(asked, may_override=True), [], NOW)


def test_recipients_and_times_are_checked() -> None:
    with pytest.raises(Invalid, match="not to an organisation"):
        decide_delivery(PARCEL, parcel(migrant_id=None, organisation="Malé Caterers"), [], NOW)
    with pytest.raises(Invalid, match="in the future"):
        decide_delivery(PARCEL, parcel(NOW + timedelta(hours=1)), [], NOW)


def group(**changes: object) -> RecordGroup:
    command = RecordGroup(
        activity_id="a-1",
        client_id="session-1",
        service="awareness_session",
        people_reached=40,
        female=12,
        male=28,
        language="bn",
        organisation=None,
        site="Seenu Atoll",
        held_at=NOW,
        actor="distributor-1",
    )
    return replace(command, **changes)  # type: ignore[arg-type]


def test_group_activities_keep_their_counts_consistent() -> None:
    assert decide_group(SESSION, group(), NOW).people_reached == 40
    with pytest.raises(Invalid, match="more than people_reached"):
        decide_group(SESSION, group(male=30), NOW)
    with pytest.raises(Invalid, match="not a group activity"):
        decide_group(PARCEL, group(service="food_parcel"), NOW)


def test_a_delivery_is_voided_once() -> None:
    event = decide_void("d-1", "m-1", voided=False, reason="entered twice", actor="a", now=NOW)
    assert (event.delivery_id, event.migrant_id) == ("d-1", "m-1")
    with pytest.raises(Conflict, match="already void"):
        decide_void("d-1", "m-1", voided=True, reason="again", actor="a", now=NOW)
