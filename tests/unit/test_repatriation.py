"""The repatriation case's pure domain: the steps move forward only, in order, each with what
it needs, and the case folded from its events is the case the decisions built."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.distribution.repatriation import (
    Case,
    RequestRepatriation,
    Step,
    decide_request,
    decide_step,
    evolve,
    fold,
)
from shared.contracts.base import Event
from shared.errors import Conflict, Invalid

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HIGH_COMMISSION = "High Commission of Bangladesh"


def requested(migrant_id: str = "m-1", country: str = "BD") -> RequestRepatriation:
    return RequestRepatriation("case-1", migrant_id, country, "Seenu Atoll", "distributor-1")


def opened() -> tuple[Case, list[Event]]:
    event = decide_request(requested(), None, NOW)
    return evolve(None, event), [event]


def step(case: Case, to: Step, events: list[Event], **extra: str) -> Case:
    event = decide_step(
        case, to, actor="distributor-1", now=NOW + timedelta(days=case.version), **extra
    )
    events.append(event)
    return evolve(case, event)


def test_a_case_goes_from_request_to_departure_and_folds_to_the_same_state() -> None:
    # Given a person who asked to go home to Bangladesh
    case, events = opened()
    assert (case.status, case.possible_steps) == (
        "requested",
        ("travel_document_in_progress", "cancelled"),
    )
    # When the travel document is issued, travel booked, and they leave
    case = step(case, "travel_document_in_progress", events, with_authority=HIGH_COMMISSION)
    case = step(case, "travel_booked", events)
    case = step(case, "departed", events)
    # Then the case is closed, every step is kept, and folding the events gives the same case
    assert (case.status, case.is_open, case.version) == ("departed", False, 4)
    assert [s.step for s in case.steps] == [
        "requested",
        "travel_document_in_progress",
        "travel_booked",
        "departed",
    ]
    assert case.steps[1].with_authority == HIGH_COMMISSION
    assert (case.opened_at, case.updated_at) == (NOW, NOW + timedelta(days=3))
    assert fold(events) == case


def test_a_case_may_be_cancelled_with_a_reason_before_departure() -> None:
    case, events = opened()
    case = step(case, "travel_document_in_progress", events, with_authority=HIGH_COMMISSION)
    case = step(case, "cancelled", events, reason="decided to stay")
    assert (case.status, case.steps[-1].reason, case.is_open) == (
        "cancelled",
        "decided to stay",
        False,
    )
    assert fold(events) == case


@pytest.mark.parametrize(
    ("done", "refused"),
    [
        ((), "travel_booked"),  # skipping the travel document
        ((), "departed"),
        (("travel_document_in_progress",), "travel_document_in_progress"),  # a repeat
        (("travel_document_in_progress", "travel_booked"), "travel_document_in_progress"),
    ],
)
def test_a_step_out_of_order_is_refused_naming_what_is_possible(
    done: tuple[Step, ...], refused: Step
) -> None:
    case, events = opened()
    for earlier in done:
        extra = {"with_authority": HIGH_COMMISSION} if earlier.startswith("travel_doc") else {}
        case = step(case, earlier, events, **extra)
    with pytest.raises(Conflict) as refusal:
        decide_step(case, refused, with_authority=HIGH_COMMISSION, actor="d", now=NOW)
    assert f"is {case.status}" in refusal.value.message
    assert " or ".join(case.possible_steps) in refusal.value.message
    assert refusal.value.details["possible_steps"] == list(case.possible_steps)


@pytest.mark.parametrize("closing", ["departed", "cancelled"])
def test_nothing_is_recorded_after_departure_or_cancellation(closing: Step) -> None:
    case, events = opened()
    if closing == "departed":
        case = step(case, "travel_document_in_progress", events, with_authority=HIGH_COMMISSION)
        case = step(case, "travel_booked", events)
        case = step(case, "departed", events)
    else:
        case = step(case, "cancelled", events, reason="decided to stay")
    with pytest.raises(Conflict, match="closed"):
        decide_step(case, "cancelled", reason="entered by mistake", actor="d", now=NOW)


def test_the_travel_document_needs_the_authority_handling_it() -> None:
    case, _ = opened()
    for missing in (None, "   "):
        with pytest.raises(Invalid, match="embassy or high commission"):
            decide_step(
                case, "travel_document_in_progress", with_authority=missing, actor="d", now=NOW
            )


def test_a_cancellation_needs_a_reason() -> None:
    case, _ = opened()
    with pytest.raises(Invalid, match="why the case is cancelled"):
        decide_step(case, "cancelled", actor="d", now=NOW)


def test_details_that_belong_to_another_step_are_refused_not_dropped() -> None:
    case, _ = opened()
    with pytest.raises(Invalid, match="reason belongs to a cancellation"):
        decide_step(
            case,
            "travel_document_in_progress",
            with_authority=HIGH_COMMISSION,
            reason="urgent",
            actor="d",
            now=NOW,
        )
    with pytest.raises(Invalid, match="with_authority belongs"):
        decide_step(
            case, "cancelled", with_authority=HIGH_COMMISSION, reason="x", actor="d", now=NOW
        )


def test_a_second_open_case_for_one_person_is_refused_naming_the_first() -> None:
    first, _ = opened()
    with pytest.raises(Conflict, match="already has an open repatriation case case-1") as refusal:
        decide_request(requested(), first, NOW)
    assert refusal.value.details == {"case_id": "case-1", "status": "requested"}


def test_a_destination_must_be_an_iso_country_code() -> None:
    with pytest.raises(Invalid, match="'BD' for Bangladesh"):
        decide_request(requested(country="bd"), None, NOW)
