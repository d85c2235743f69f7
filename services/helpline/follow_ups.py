"""Follow-ups: someone must call back or act by a day, and say what came of it.

Pure and synchronous (STYLE habit 5). ``today`` is a parameter, never read from a clock here:
"overdue" and "in the past" are the day in UTC that the caller says it is, so a test (or a
report run for a past day) decides the same way the service did. A follow-up is its own stream
and is completed once: a second completion would double the "done" count and hide who acted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Literal

from shared.contracts.base import Event
from shared.contracts.helpline import FollowUpCompleted, FollowUpScheduled
from shared.errors import Conflict, Invalid

FollowUpOutcome = Literal["reached", "not_reached", "resolved", "referred", "other"]


@dataclass(frozen=True)
class FollowUp:
    """One follow-up, folded from its stream; ``version`` is that stream's version."""

    scheduled: FollowUpScheduled
    completed: FollowUpCompleted | None
    version: int

    @property
    def follow_up_id(self) -> str:
        return self.scheduled.follow_up_id

    @property
    def is_open(self) -> bool:
        return self.completed is None

    def is_overdue(self, today: date) -> bool:
        """Still open after its day: due before ``today`` (one due today is not late yet)."""
        return self.is_open and self.scheduled.due_on < today


def evolve(state: FollowUp | None, event: Event) -> FollowUp:
    if isinstance(event, FollowUpScheduled):
        return FollowUp(event, None, 1)
    if state is None:
        raise ValueError(f"a follow-up starts with FollowUpScheduled, not {event!r}")
    if isinstance(event, FollowUpCompleted):
        return replace(state, completed=event, version=state.version + 1)
    return replace(state, version=state.version + 1)


def fold(events: Sequence[Event]) -> FollowUp | None:
    """The follow-up from its stream's events; ``None`` for a stream that does not exist."""
    state: FollowUp | None = None
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class ScheduleFollowUp:
    follow_up_id: str
    due_on: date
    assignee: str
    actor: str
    call_id: str | None = None
    migrant_id: str | None = None


def decide_schedule(command: ScheduleFollowUp, *, today: date, now: datetime) -> FollowUpScheduled:
    if command.due_on < today:
        raise Invalid(
            f"due_on {command.due_on.isoformat()} is in the past (today is "
            f"{today.isoformat()}, UTC): give today or a later day"
        )
    assignee = command.assignee.strip()
    if not assignee:
        raise Invalid("name the assignee: the staff member who must call back or act")
    return FollowUpScheduled(
        follow_up_id=command.follow_up_id,
        call_id=command.call_id,
        migrant_id=command.migrant_id,
        due_on=command.due_on,
        assignee=assignee,
        scheduled_by=command.actor,
        scheduled_at=now,
    )


def decide_complete(
    follow_up: FollowUp, outcome: FollowUpOutcome, *, actor: str, now: datetime
) -> FollowUpCompleted:
    done = follow_up.completed
    if done is not None:
        raise Conflict(
            f"follow-up {follow_up.follow_up_id} was already completed ({done.outcome}) by "
            f"{done.completed_by} at {done.completed_at.isoformat()}: schedule a new "
            "follow-up if more must be done",
            details={"outcome": done.outcome, "completed_by": done.completed_by},
        )
    return FollowUpCompleted(
        follow_up_id=follow_up.follow_up_id,
        migrant_id=follow_up.scheduled.migrant_id,
        outcome=outcome,
        completed_by=actor,
        completed_at=now,
    )
