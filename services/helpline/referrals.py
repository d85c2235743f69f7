"""Referrals to partners: who may be referred, and the order the partner's answers come in.

Pure and synchronous (STYLE habit 5). A referral is its own stream, so an outcome is appended
at the version the referral was folded at and two operators recording answers at once cannot
both win. Referring a registered person shares their case with an organisation outside the
programme, so it needs their consent to ``partner_referral``; an admin may refer without it
(someone in danger cannot always be asked first), and the event then carries the reason, so
the override is answerable in the audit trail. An anonymous caller is referred by what they
say on the call: there is no record to share, so nothing to consent to.

A partner may accept and later complete, decline or stop answering; ``completed``,
``declined`` and ``no_response`` close the referral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.helpline.partners import PartnerDirectory
from shared.contracts.base import Event
from shared.contracts.helpline import ReferralClosed, ReferralMade, ReferralOutcome
from shared.errors import Conflict, Forbidden, Invalid

ReferralStatus = Literal["pending", "accepted", "completed", "declined", "no_response"]
"""``pending`` until the partner's first answer, then the latest outcome."""

NEXT: dict[ReferralStatus, tuple[ReferralOutcome, ...]] = {
    "pending": ("accepted", "completed", "declined", "no_response"),
    "accepted": ("completed", "declined", "no_response"),
    "completed": (),
    "declined": (),
    "no_response": (),
}
"""From each status, the outcomes that may be recorded next; none once the referral is closed."""

PURPOSE = "partner_referral"


@dataclass(frozen=True)
class Answer:
    outcome: ReferralOutcome
    at: datetime
    by: str


@dataclass(frozen=True)
class Referral:
    """One referral, folded from its stream; ``version`` is that stream's version."""

    made: ReferralMade
    answers: tuple[Answer, ...]
    version: int

    @property
    def referral_id(self) -> str:
        return self.made.referral_id

    @property
    def status(self) -> ReferralStatus:
        return self.answers[-1].outcome if self.answers else "pending"

    @property
    def possible_outcomes(self) -> tuple[ReferralOutcome, ...]:
        return NEXT[self.status]

    @property
    def is_open(self) -> bool:
        return bool(self.possible_outcomes)

    @property
    def updated_at(self) -> datetime:
        return self.answers[-1].at if self.answers else self.made.referred_at


def evolve(state: Referral | None, event: Event) -> Referral:
    if isinstance(event, ReferralMade):
        return Referral(event, (), 1)
    if state is None:
        raise ValueError(f"a referral starts with ReferralMade, not {event!r}")
    if isinstance(event, ReferralClosed):
        answer = Answer(event.outcome, event.recorded_at, event.recorded_by)
        return replace(state, answers=(*state.answers, answer), version=state.version + 1)
    return replace(state, version=state.version + 1)


def fold(events: Sequence[Event]) -> Referral | None:
    """The referral from its stream's events; ``None`` for a stream that does not exist."""
    state: Referral | None = None
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class MakeReferral:
    referral_id: str
    partner: str
    actor: str
    actor_is_admin: bool
    migrant_id: str | None = None
    call_id: str | None = None
    service: str | None = None
    consent_override_reason: str | None = None


def decide_referral(
    command: MakeReferral, partners: PartnerDirectory, consented: bool | None, now: datetime
) -> ReferralMade:
    """``consented``: the person's consent to ``partner_referral``; None for an anonymous one."""
    if (command.migrant_id is None) != (consented is None):
        raise ValueError("consented is None exactly when the referral names no migrant_id")
    partner = partners.get(command.partner)
    if command.service is not None and not partner.takes(command.service):
        others = [p.code for p in partners if p.services and command.service in p.services]
        raise Invalid(
            f"{partner.name} ({partner.code}) does not take {command.service}: it takes "
            f"{', '.join(partner.services)}"
            + (f"; partners that take {command.service}: {', '.join(others)}" if others else ""),
            details={"partner": partner.code, "takes": list(partner.services)},
        )
    reason = (command.consent_override_reason or "").strip() or None
    if reason is not None and not command.actor_is_admin:
        raise Forbidden(
            "only an admin may refer a person without their consent: leave "
            "consent_override_reason out, or ask an admin"
        )
    if reason is not None and consented is not False:
        whose = (
            "an anonymous referral needs no consent"
            if consented is None
            else f"migrant {command.migrant_id} has consented to {PURPOSE}"
        )
        raise Invalid(f"nothing to override: {whose}; leave consent_override_reason out")
    if consented is False and reason is None:
        raise Conflict(
            f"migrant {command.migrant_id} has not consented to {PURPOSE}: record their "
            "consent in the registry and retry, or an admin may refer them without it by "
            "giving the reason in consent_override_reason",
            details={"migrant_id": command.migrant_id, "missing_consent": PURPOSE},
        )
    return ReferralMade(
        referral_id=command.referral_id,
        call_id=command.call_id,
        migrant_id=command.migrant_id,
        partner=partner.code,
        service=command.service,
        consent_override_reason=reason,
        referred_by=command.actor,
        referred_at=now,
    )


def decide_outcome(
    referral: Referral, outcome: ReferralOutcome, *, actor: str, now: datetime
) -> ReferralClosed:
    if outcome not in referral.possible_outcomes:
        raise Conflict(
            f"referral {referral.referral_id} is {referral.status}: {_what_next(referral)}",
            details={
                "status": referral.status,
                "possible_outcomes": list(referral.possible_outcomes),
            },
        )
    return ReferralClosed(
        referral_id=referral.referral_id,
        migrant_id=referral.made.migrant_id,
        outcome=outcome,
        recorded_by=actor,
        recorded_at=now,
    )


def _what_next(referral: Referral) -> str:
    if not referral.is_open:
        return "it is closed and nothing more can be recorded; make a new referral if needed"
    *first, last = referral.possible_outcomes
    choices = f"{', '.join(first)} or {last}" if first else last
    return f"the outcome that can be recorded now is {choices}"
