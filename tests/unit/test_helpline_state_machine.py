"""The helpline's decide / evolve under random command sequences (Hypothesis state machine).

Given two registered callers (one who consented to partner referrals, one who did not, and
either may change their mind in the registry), when operators and admins log calls, link them
to records, refer callers to partners, record the partners' answers, and schedule and complete
follow-ups, in any order and often wrongly, then what callers and supervisors rely on holds
after every step, and folding the log (as stored, or read back from the wire) rebuilds the
live state.

Calls have no ``evolve`` in the domain: the call log (``services/helpline/call_log.py``) is
their read model, and :func:`project` below is that projection in memory. Referrals and
follow-ups fold with the domain's own ``evolve``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal, get_args

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from services.helpline import follow_ups, referrals
from services.helpline.calls import CallerKind, LogCall, call_logged, check_call, decide_link
from services.helpline.follow_ups import (
    FollowUp,
    FollowUpOutcome,
    ScheduleFollowUp,
    decide_complete,
    decide_schedule,
)
from services.helpline.partners import load_partners
from services.helpline.referrals import NEXT, MakeReferral, Referral, decide_outcome
from shared.catalogue.services import load_catalogue
from shared.contracts.base import Event, Sealed
from shared.contracts.catalog import CATALOG
from shared.contracts.helpline import (
    CallCategory,
    CallLinked,
    CallLogged,
    FollowUpCompleted,
    FollowUpScheduled,
    ReferralClosed,
    ReferralMade,
    ReferralOutcome,
)
from shared.errors import BenSysError
from shared.settings import DEFAULT_SITES

SETTINGS = settings(
    max_examples=60, stateful_step_count=30, deadline=None, derandomize=True, database=None
)
BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PEOPLE = ("m-1", "m-2")
CATALOGUE = load_catalogue()
PARTNERS = load_partners(services=CATALOGUE.codes)
PARTNER_CODES = (
    "mrc_psychosocial_support",  # takes any service
    "health_protection_agency",  # health services only
    "mrc_psychosocial_support",
    "iom_maldives",  # repatriation only
    "mrc_psychosocial_support",
    "unhcr",  # not in the directory: refused
)
SERVICES = (None, "vaccination_support", "voluntary_repatriation_assistance", "legal_aid")

callers = st.sampled_from((None, *PEOPLE))
"""The person concerned: one of the registered two, or no record (anonymous)."""


def on_the_wire(event: Event) -> Event:
    """The event as an auditor reads it back: its JSON body decoded by its wire name."""
    return CATALOG.decode(type(event).ce_type(), json.loads(json.dumps(event.to_data())))


@dataclass(frozen=True)
class Call:
    """One call as the call log holds it: where its events are and whose call it is."""

    stream_id: str
    migrant_id: str | None
    links: int = 0


@dataclass(frozen=True)
class Helpline:
    calls: dict[str, Call] = field(default_factory=dict)
    referrals: dict[str, Referral] = field(default_factory=dict)
    follow_ups: dict[str, FollowUp] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)


def project(state: Helpline, stream_id: str, event: Event) -> Helpline:
    """The call log's, referrals' and follow-ups' inline projections, for one appended event."""
    calls, made, due = dict(state.calls), dict(state.referrals), dict(state.follow_ups)
    versions = {**state.versions, stream_id: state.versions.get(stream_id, 0) + 1}
    if isinstance(event, CallLogged):
        calls[event.call_id] = Call(stream_id, event.migrant_id)
    elif isinstance(event, CallLinked):
        linked = calls[event.call_id]
        calls[event.call_id] = Call(linked.stream_id, event.migrant_id, linked.links + 1)
    elif isinstance(event, ReferralMade | ReferralClosed):
        made[event.referral_id] = referrals.evolve(made.get(event.referral_id), event)
    elif isinstance(event, FollowUpScheduled | FollowUpCompleted):
        due[event.follow_up_id] = follow_ups.evolve(due.get(event.follow_up_id), event)
    return Helpline(calls, made, due, versions)


def replay(log: list[tuple[str, Event]]) -> Helpline:
    state = Helpline()
    for stream_id, event in log:
        state = project(state, stream_id, event)
    return state


@dataclass(frozen=True)
class Referred:
    """What the helpline knew when it referred someone: their consent, the referrer's role."""

    consented: bool | None
    by_admin: bool


class HelplineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = BASE
        self.live = Helpline()
        self.log: list[tuple[str, Event]] = []
        self.wire: list[tuple[str, Event]] = []
        self.consents = {"m-1": True, "m-2": False}
        """Each person's consent to partner_referral, as the registry last said."""
        self.referred: dict[str, Referred] = {}
        self.closed: dict[str, Referral] = {}
        self.completed: dict[str, FollowUp] = {}
        self.call_owner: dict[str, str] = {}
        """Calls whose caller is known, and who it is, from the moment it became known."""
        self.ids = 0

    # --- helpers -----------------------------------------------------------------------------

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def new_id(self, prefix: str) -> str:
        self.ids += 1
        return f"{prefix}-{self.ids}"

    def decide(self, stream_id: str, decision: Callable[[], Event]) -> Event | None:
        """Run one decision; a refusal is an expected outcome and must leave everything as it
        was (the state's dicts included)."""
        live = self.live
        before = Helpline(
            dict(live.calls), dict(live.referrals), dict(live.follow_ups), dict(live.versions)
        )
        try:
            event = decision()
        except BenSysError:
            assert self.live == before
            return None
        assert self.live == before, "deciding changes no state"
        self.live = project(self.live, stream_id, event)
        self.log.append((stream_id, event))
        self.wire.append((stream_id, on_the_wire(event)))
        for referral_id, referral in self.live.referrals.items():
            if not referral.is_open:
                self.closed.setdefault(referral_id, referral)
        for follow_up_id, follow_up in self.live.follow_ups.items():
            if not follow_up.is_open:
                self.completed.setdefault(follow_up_id, follow_up)
        for call_id, call in self.live.calls.items():
            if call.migrant_id is not None:
                self.call_owner.setdefault(call_id, call.migrant_id)
        return event

    def pick(self, ids: list[str], which: int) -> str | None:
        return ids[::-1][which % len(ids)] if ids else None

    # --- rules: what the registry tells, and what operators and admins do -------------------

    @rule(person=st.sampled_from(PEOPLE), consented=st.booleans())
    def the_registry_reports_a_consent_change(self, person: str, consented: bool) -> None:
        self.consents[person] = consented

    @rule(
        caller=st.sampled_from(get_args(CallerKind)),
        person=st.sampled_from(PEOPLE),
        as_described=st.sampled_from((True, True, False)),
        with_phone=st.booleans(),
        answered=st.sampled_from((True, True, False)),
        duration=st.sampled_from((240, 0)),
        categories=st.sampled_from(
            (("health",), ("legal", "repatriation"), ("health",), (), ("other", "other"))
        ),
        services_provided=st.sampled_from(((), ("legal_aid",), (), ("pizza",))),
        notes=st.sampled_from((None, "  wants a call back  ", " ")),
        minutes_ago=st.integers(-10, 600),
    )
    def log_call(
        self,
        *,
        caller: CallerKind,
        person: str,
        as_described: bool,
        with_phone: bool,
        answered: bool,
        duration: int,
        categories: tuple[CallCategory, ...],
        services_provided: tuple[str, ...],
        notes: str | None,
        minutes_ago: int,
    ) -> None:
        """As ``POST /calls``: checked while plain, then sealed under the caller's key.
        ``as_described``: the phone is given exactly when the kind of caller needs one."""
        now = self.tick()
        if as_described:
            with_phone = caller == "phone_only"
        command = LogCall(
            call_id=self.new_id("c"),
            client_id=f"console-1:{self.ids}",
            direction="incoming",
            started_at=now - timedelta(minutes=minutes_ago),
            duration_seconds=duration if answered else 0,
            answered=answered,
            language="bn",
            caller=caller,
            migrant_id=person if caller == "migrant" else None,
            card_number=None,
            phone="+9607712345" if with_phone else None,
            categories=categories,
            services_requested=(),
            services_provided=services_provided,
            information_given=None,
            notes=notes,
            follow_up_needed=False,
            site=DEFAULT_SITES[0],
            actor="operator-1",
        )

        def decision() -> CallLogged:
            checked = check_call(command, CATALOGUE, DEFAULT_SITES, now)
            kid = checked.key_id
            return call_logged(
                checked,
                phone=None if checked.phone is None else Sealed(kid=kid, iv="iv", ct="phone"),
                notes=None if checked.notes is None else Sealed(kid=kid, iv="iv", ct="notes"),
            )

        subject = person if caller == "migrant" else f"call:{command.call_id}"
        self.decide(subject, decision)

    @rule(which=st.integers(0, 5), person=st.sampled_from(PEOPLE))
    def link_call(self, which: int, person: str) -> None:
        """As ``POST /calls/{id}/link``: the call log says whose call it is already."""
        call_id = self.pick(list(self.live.calls), which)
        if call_id is None:
            return
        call = self.live.calls[call_id]
        now = self.tick()
        self.decide(
            call.stream_id,
            lambda: decide_link(call_id, call.migrant_id, person, "operator-1", now),
        )

    @rule(
        person=callers,
        partner=st.sampled_from(PARTNER_CODES),
        service=st.sampled_from(SERVICES),
        admin=st.booleans(),
        override_reason=st.sampled_from((None, None, "at risk of harm tonight", "  ")),
    )
    def refer(
        self,
        person: str | None,
        partner: str,
        service: str | None,
        admin: bool,
        override_reason: str | None,
    ) -> None:
        """As ``POST /referrals``: consent comes from the registry's facts, None if anonymous."""
        now = self.tick()
        consented = None if person is None else self.consents[person]
        command = MakeReferral(
            referral_id=self.new_id("r"),
            partner=partner,
            actor="admin-1" if admin else "operator-1",
            actor_is_admin=admin,
            migrant_id=person,
            service=service,
            consent_override_reason=override_reason,
        )
        made = self.decide(
            f"referral:{command.referral_id}",
            lambda: referrals.decide_referral(command, PARTNERS, consented, now),
        )
        if made is not None:
            self.referred[command.referral_id] = Referred(consented, admin)

    @rule(which=st.integers(0, 5), outcome=st.sampled_from(get_args(ReferralOutcome)))
    def record_partner_answer(self, which: int, outcome: ReferralOutcome) -> None:
        referral_id = self.pick(list(self.live.referrals), which)
        if referral_id is None:
            return
        referral = self.live.referrals[referral_id]
        now = self.tick()
        self.decide(
            f"referral:{referral_id}",
            lambda: decide_outcome(referral, outcome, actor="operator-1", now=now),
        )

    @rule(
        person=callers,
        due_in_days=st.integers(-2, 14),
        assignee=st.sampled_from(("helpline-2", " helpline-3 ", "  ")),
    )
    def schedule_follow_up(self, person: str | None, due_in_days: int, assignee: str) -> None:
        now = self.tick()
        command = ScheduleFollowUp(
            follow_up_id=self.new_id("f"),
            due_on=now.date() + timedelta(days=due_in_days),
            assignee=assignee,
            actor="operator-1",
            migrant_id=person,
        )
        self.decide(
            f"follow-up:{command.follow_up_id}",
            lambda: decide_schedule(command, today=now.date(), now=now),
        )

    @rule(which=st.integers(0, 5), outcome=st.sampled_from(get_args(FollowUpOutcome)))
    def complete_follow_up(self, which: int, outcome: FollowUpOutcome) -> None:
        follow_up_id = self.pick(list(self.live.follow_ups), which)
        if follow_up_id is None:
            return
        follow_up = self.live.follow_ups[follow_up_id]
        now = self.tick()
        self.decide(
            f"follow-up:{follow_up_id}",
            lambda: decide_complete(follow_up, outcome, actor="helpline-2", now=now),
        )

    @rule(hours=st.integers(1, 24 * 10))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    # --- invariants: what callers and supervisors rely on -----------------------------------

    @invariant()
    def an_auditors_replay_of_the_log_rebuilds_the_live_state(self) -> None:
        assert replay(self.log) == self.live
        assert replay(self.wire) == self.live
        for referral_id, referral in self.live.referrals.items():
            stream = [e for s, e in self.wire if s == f"referral:{referral_id}"]
            assert referrals.fold(stream) == referral
        for follow_up_id, follow_up in self.live.follow_ups.items():
            stream = [e for s, e in self.wire if s == f"follow-up:{follow_up_id}"]
            assert follow_ups.fold(stream) == follow_up

    @invariant()
    def a_version_counts_the_events_of_its_stream(self) -> None:
        for stream_id, version in self.live.versions.items():
            assert version == sum(1 for s, _ in self.log if s == stream_id)
        for referral_id, referral in self.live.referrals.items():
            assert referral.version == self.live.versions[f"referral:{referral_id}"]
        for follow_up_id, follow_up in self.live.follow_ups.items():
            assert follow_up.version == self.live.versions[f"follow-up:{follow_up_id}"]

    @invariant()
    def a_person_is_referred_only_with_consent_or_an_admins_stated_reason(self) -> None:
        for referral_id, referred in self.referred.items():
            made = self.live.referrals[referral_id].made
            if made.migrant_id is None:
                assert made.consent_override_reason is None, "nothing to override"
            elif referred.consented:
                assert made.consent_override_reason is None
            else:
                assert referred.by_admin
                assert made.consent_override_reason, "the override must say why"
                assert made.consent_override_reason == made.consent_override_reason.strip()

    @invariant()
    def a_referral_goes_to_a_known_partner_that_takes_the_service(self) -> None:
        for referral in self.live.referrals.values():
            partner = PARTNERS.get(referral.made.partner)
            assert referral.made.service is None or partner.takes(referral.made.service)

    @invariant()
    def a_closed_referral_stays_closed_and_answers_come_in_order(self) -> None:
        for referral_id, referral in self.closed.items():
            assert self.live.referrals[referral_id] == referral
        for referral in self.live.referrals.values():
            status: Literal["pending"] | ReferralOutcome = "pending"
            for answer in referral.answers:
                assert answer.outcome in NEXT[status]
                status = answer.outcome

    @invariant()
    def a_completed_follow_up_stays_completed_once(self) -> None:
        for follow_up_id, follow_up in self.completed.items():
            assert self.live.follow_ups[follow_up_id] == follow_up
        completions = [e.follow_up_id for _, e in self.log if isinstance(e, FollowUpCompleted)]
        assert len(completions) == len(set(completions)), completions

    @invariant()
    def a_follow_up_is_due_no_earlier_than_it_was_set_and_has_an_assignee(self) -> None:
        for follow_up in self.live.follow_ups.values():
            scheduled = follow_up.scheduled
            assert scheduled.due_on >= scheduled.scheduled_at.date()
            assert scheduled.assignee
            assert scheduled.assignee == scheduled.assignee.strip()

    @invariant()
    def a_call_is_linked_once_and_its_caller_never_changes(self) -> None:
        for call_id, owner in self.call_owner.items():
            assert self.live.calls[call_id].migrant_id == owner
        for call in self.live.calls.values():
            assert call.links <= 1

    @invariant()
    def a_logged_call_is_consistent_and_its_personal_data_sealed_to_its_caller(self) -> None:
        for stream_id, event in self.log:
            if not isinstance(event, CallLogged):
                continue
            assert stream_id == (event.migrant_id or f"call:{event.call_id}")
            assert (event.caller == "migrant") == (event.migrant_id is not None)
            assert (event.caller == "phone_only") <= (event.phone is not None)
            assert event.caller != "anonymous" or event.phone is None
            for sealed in (event.phone, event.notes):
                assert sealed is None or sealed.kid == stream_id
            assert event.answered or (event.duration_seconds == 0 and not event.services_provided)
            assert event.categories
            assert len(set(event.categories)) == len(event.categories)
            assert event.started_at.tzinfo is not None


def test_random_helpline_commands_keep_every_promise_and_replay_to_the_live_state() -> None:
    run_state_machine_as_test(HelplineMachine, settings=SETTINGS)
