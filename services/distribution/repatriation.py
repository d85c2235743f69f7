"""Voluntary repatriation as a tracked case: requested, travel document, booked, departed.

Pure and synchronous (STYLE habit 5). A case is its own stream, so a step decided here is
appended at the version the case was folded at, and two people recording a step at once
cannot both win. The steps only move forward: a travel document handled by an embassy or high
commission, travel booked, departure; a case may be cancelled, with a reason, until the person
has left. A person has at most one open case, so a second request names the first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from shared.contracts.base import Event
from shared.contracts.distribution import (
    RepatriationRequested,
    RepatriationStep,
    RepatriationStepRecorded,
)
from shared.errors import Conflict, Invalid

Step = Literal["travel_document_in_progress", "travel_booked", "departed", "cancelled"]
"""A step that can be recorded on an open case (``requested`` is how a case opens)."""

NEXT: dict[RepatriationStep, tuple[Step, ...]] = {
    "requested": ("travel_document_in_progress", "cancelled"),
    "travel_document_in_progress": ("travel_booked", "cancelled"),
    "travel_booked": ("departed", "cancelled"),
    "departed": (),
    "cancelled": (),
}
"""From each status, the steps that may be recorded next; none once departed or cancelled."""

COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class StepTaken:
    step: RepatriationStep
    at: datetime
    by: str
    with_authority: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Case:
    """One repatriation case, folded from its stream; ``version`` is that stream's version."""

    case_id: str
    migrant_id: str
    destination_country: str
    site: str
    steps: tuple[StepTaken, ...]
    version: int

    @property
    def status(self) -> RepatriationStep:
        return self.steps[-1].step

    @property
    def opened_at(self) -> datetime:
        return self.steps[0].at

    @property
    def updated_at(self) -> datetime:
        return self.steps[-1].at

    @property
    def possible_steps(self) -> tuple[Step, ...]:
        return NEXT[self.status]

    @property
    def is_open(self) -> bool:
        return bool(self.possible_steps)


def evolve(state: Case | None, event: Event) -> Case:
    if isinstance(event, RepatriationRequested):
        opened = StepTaken("requested", event.requested_at, event.recorded_by)
        return Case(
            event.case_id, event.migrant_id, event.destination_country, event.site, (opened,), 1
        )
    if state is None:
        raise ValueError(f"a repatriation case starts with RepatriationRequested, not {event!r}")
    if isinstance(event, RepatriationStepRecorded):
        taken = StepTaken(
            event.step, event.recorded_at, event.recorded_by, event.with_authority, event.reason
        )
        return replace(state, steps=(*state.steps, taken), version=state.version + 1)
    return replace(state, version=state.version + 1)


def fold(events: Sequence[Event]) -> Case | None:
    """The case from its stream's events; ``None`` for a stream that does not exist."""
    state: Case | None = None
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class RequestRepatriation:
    case_id: str
    migrant_id: str
    destination_country: str
    site: str
    actor: str


def decide_request(
    command: RequestRepatriation, open_case: Case | None, now: datetime
) -> RepatriationRequested:
    """``open_case`` is the person's open case, if any: one at a time keeps the count honest."""
    if open_case is not None:
        raise already_open(open_case)
    if not COUNTRY.fullmatch(command.destination_country):
        raise Invalid(
            f"destination_country {command.destination_country!r} is not an ISO 3166-1 "
            "alpha-2 code: use two capital letters, e.g. 'BD' for Bangladesh"
        )
    return RepatriationRequested(
        case_id=command.case_id,
        migrant_id=command.migrant_id,
        destination_country=command.destination_country,
        site=command.site,
        requested_at=now,
        recorded_by=command.actor,
    )


def already_open(open_case: Case) -> Conflict:
    """The refusal of a second open case, given by the handler and by the read model's index."""
    return Conflict(
        f"migrant {open_case.migrant_id} already has an open repatriation case "
        f"{open_case.case_id} ({open_case.status}, at {open_case.site}): record the next step "
        "on it, or cancel it before opening another",
        details={"case_id": open_case.case_id, "status": open_case.status},
    )


def decide_step(
    case: Case,
    step: Step,
    *,
    with_authority: str | None = None,
    reason: str | None = None,
    actor: str,
    now: datetime,
) -> RepatriationStepRecorded:
    if step not in case.possible_steps:
        raise Conflict(
            f"repatriation case {case.case_id} is {case.status}: {_what_next(case)}",
            details={"status": case.status, "possible_steps": list(case.possible_steps)},
        )
    authority = (with_authority or "").strip() or None
    why = (reason or "").strip() or None
    if step == "travel_document_in_progress" and authority is None:
        raise Invalid(
            "name the embassy or high commission issuing the travel document in "
            "with_authority, e.g. 'High Commission of Bangladesh'"
        )
    if step != "travel_document_in_progress" and authority is not None:
        raise Invalid("with_authority belongs to travel_document_in_progress only: leave it out")
    if step == "cancelled" and why is None:
        raise Invalid("say in reason why the case is cancelled, e.g. 'decided to stay'")
    if step != "cancelled" and why is not None:
        raise Invalid("reason belongs to a cancellation only: leave it out")
    return RepatriationStepRecorded(
        case_id=case.case_id,
        migrant_id=case.migrant_id,
        step=step,
        with_authority=authority,
        reason=why,
        recorded_at=now,
        recorded_by=actor,
    )


def _what_next(case: Case) -> str:
    if case.status == "departed":
        return "the person has departed and the case is closed; nothing more can be recorded"
    if case.status == "cancelled":
        return "the case is closed; open a new case if the person asks again"
    return "the step that can be recorded now is " + " or ".join(case.possible_steps)
