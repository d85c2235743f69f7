"""The cards service's decide / evolve under random command sequences (Hypothesis state machine).

Given two holders' streams, when registrars issue, replace and revoke cards and health
providers record doses, in any order and often wrongly (a card that is not theirs, one already
replaced, an expired card, a dose given twice or one the course does not have), while days and
years pass, then every holder has at most one active card, a retired card never comes back,
no dose is counted twice, and folding the log (as stored, or read back from the wire)
rebuilds exactly the live state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import get_args

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from services.cards.domain import (
    Card,
    Holder,
    NewCard,
    RecordDose,
    decide_dose,
    decide_issue,
    decide_replace,
    decide_revoke,
    evolve,
    fold,
)
from shared.contracts.base import Event, Sealed
from shared.contracts.cards import (
    CardIssued,
    CardReplaced,
    DoseRecorded,
    IssueTrigger,
    ReplacementReason,
    RevocationReason,
)
from shared.contracts.catalog import CATALOG
from shared.errors import BenSysError

SETTINGS = settings(
    max_examples=60, stateful_step_count=30, deadline=None, derandomize=True, database=None
)
BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
HOLDERS = ("m-1", "m-2")
UNKNOWN_CARD = "BC999999999"
COURSES = {"measles_rubella": 2, "tetanus_diphtheria": 3, "hpv": 1}
"""Doses in each vaccine's course, as the catalogue says."""

holders = st.sampled_from(HOLDERS)
validity = st.sampled_from((730, 365, 30, 1))
"""Days a card is valid: settings allow 1 to 3650; short ones expire within a run."""
picks = st.integers(0, 3)
"""Which card: 0 the active one (else the newest), 1 and 2 the newest and the one before,
3 a number that is not the holder's."""


def on_the_wire(event: Event) -> Event:
    """The event as an auditor reads it back: its JSON body decoded by its wire name."""
    return CATALOG.decode(type(event).ce_type(), json.loads(json.dumps(event.to_data())))


def snapshot(state: Holder) -> Holder:
    """A copy that a decision mutating the holder's card dict in place would not change."""
    return replace(state, cards=dict(state.cards))


class CardsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = BASE
        self.live = {h: Holder(migrant_id=h) for h in HOLDERS}
        self.streams: dict[str, list[Event]] = {h: [] for h in HOLDERS}
        self.wire: dict[str, list[Event]] = {h: [] for h in HOLDERS}
        self.retired: dict[str, dict[str, Card]] = {h: {} for h in HOLDERS}
        """Each holder's replaced or revoked cards, as they were when first seen retired."""
        self.numbers = 0
        self.doses = 0

    # --- helpers -----------------------------------------------------------------------------

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def new_card(self, holder: str, days: int) -> NewCard:
        """What the handler chooses: a fresh number, the time in whole seconds, the expiry."""
        self.numbers += 1
        at = self.tick()
        return NewCard(
            card_number=f"BC{self.numbers:09d}",
            printed_name=Sealed(kid=holder, iv="aXY", ct=f"name{self.numbers}"),
            sex="female",
            birth_year=None,
            issued_at=at,
            expires_at=at + timedelta(days=days),
            key_id="k1",
            site="Kdh Atoll",
            actor="registrar-1",
        )

    def card_number(self, holder: str, pick: int) -> str:
        state = self.live[holder]
        newest_first = list(state.cards)[::-1]
        if pick == 0 and state.active_card is not None:
            return state.active_card.number
        index = max(pick - 1, 0)
        return newest_first[index] if pick < 3 and index < len(newest_first) else UNKNOWN_CARD

    def decide(self, holder: str, decision: Callable[[], Sequence[Event]]) -> None:
        """Run one decision; a refusal is an expected outcome and must leave everything as it
        was. Each accepted event is checked against the state it was decided on."""
        before = {h: snapshot(state) for h, state in self.live.items()}
        try:
            events = list(decision())
        except BenSysError:
            assert self.live == before
            return
        assert self.live == before, "deciding changes no state"
        for event in events:
            self.check_transition(self.live[holder], event)
            self.live[holder] = evolve(self.live[holder], event)
            self.streams[holder].append(event)
            self.wire[holder].append(on_the_wire(event))
        for number, card in self.live[holder].cards.items():
            if card.status != "active":
                self.retired[holder].setdefault(number, card)

    @staticmethod
    def check_transition(state: Holder, event: Event) -> None:
        if isinstance(event, DoseRecorded):
            card = state.cards[event.card_number]
            assert card.usable(event.recorded_at), "a dose goes only on a valid card"
            assert event.administered_on <= event.recorded_at.date()
            assert event.dose_number <= event.course_doses
        if isinstance(event, CardIssued | CardReplaced):
            assert event.card_number not in state.cards

    # --- rules: what registrars, the cards service and health providers do ----------------

    @initialize(days=validity)
    def both_holders_were_registered_asking_for_a_card(self, days: int) -> None:
        for holder in HOLDERS:
            self.issue(holder, days, "registration")

    @rule(holder=holders, days=validity, trigger=st.sampled_from(get_args(IssueTrigger)))
    def issue(self, holder: str, days: int, trigger: IssueTrigger) -> None:
        card = self.new_card(holder, days)
        self.decide(holder, lambda: decide_issue(self.live[holder], card, trigger))

    @rule(
        holder=holders,
        pick=picks,
        days=validity,
        reason=st.sampled_from(get_args(ReplacementReason)),
    )
    def replace_card(self, holder: str, pick: int, days: int, reason: ReplacementReason) -> None:
        old = self.card_number(holder, pick)
        card = self.new_card(holder, days)
        self.decide(holder, lambda: decide_replace(self.live[holder], old, card, reason))

    @rule(
        holder=holders,
        pick=picks,
        reason=st.sampled_from(get_args(RevocationReason)),
        superseded_by=st.sampled_from((None, "BC000000001")),
    )
    def revoke(
        self, holder: str, pick: int, reason: RevocationReason, superseded_by: str | None
    ) -> None:
        number = self.card_number(holder, pick)
        at = self.tick()
        self.decide(
            holder,
            lambda: decide_revoke(
                self.live[holder],
                number,
                reason,
                superseded_by=superseded_by,
                actor="registrar-1",
                now=at,
            ),
        )

    @rule(
        holder=holders,
        pick=picks,
        vaccine=st.sampled_from(sorted(COURSES)),
        dose_number=st.integers(1, 3),
        days_ago=st.integers(-1, 20),
    )
    def record_dose(
        self, holder: str, pick: int, vaccine: str, dose_number: int, days_ago: int
    ) -> None:
        self.doses += 1
        at = self.tick()
        command = RecordDose(
            dose_id=f"d-{self.doses}",
            card_number=self.card_number(holder, pick),
            vaccine=vaccine,
            dose_number=dose_number,
            course_doses=COURSES[vaccine],
            administered_on=at.date() - timedelta(days=days_ago),
            centre="Kulhudhuffushi Regional Hospital",
            site="Kdh Atoll",
            actor="nurse-1",
            now=at,
        )
        self.decide(holder, lambda: decide_dose(self.live[holder], command))

    @rule(holder=holders, which=st.integers(0, 3), days_ago=st.integers(0, 3))
    def record_a_dose_already_given(self, holder: str, which: int, days_ago: int) -> None:
        """Another centre, or a retry, records a dose the holder has already had."""
        given = self.live[holder].doses
        if given:
            dose = given[which % len(given)]
            self.record_dose(holder, 0, dose.vaccine, dose.dose_number, days_ago)

    @rule(days=st.integers(0, 400), hours=st.integers(0, 23))
    def time_passes(self, days: int, hours: int) -> None:
        self.now += timedelta(days=days, hours=hours)

    # --- invariants: what holders and health providers rely on ------------------------------

    @invariant()
    def an_auditors_replay_of_the_log_rebuilds_the_live_state(self) -> None:
        for holder, events in self.streams.items():
            assert fold(holder, events) == self.live[holder]
            assert fold(holder, self.wire[holder]) == self.live[holder]

    @invariant()
    def a_version_counts_the_events_of_its_stream(self) -> None:
        for holder, events in self.streams.items():
            assert self.live[holder].version == len(events)

    @invariant()
    def a_holder_has_at_most_one_active_card(self) -> None:
        for state in self.live.values():
            active = [c.number for c in state.cards.values() if c.status == "active"]
            assert len(active) <= 1, active

    @invariant()
    def a_replaced_or_revoked_card_stays_exactly_as_it_was_retired(self) -> None:
        for holder, retired in self.retired.items():
            for number, card in retired.items():
                assert self.live[holder].cards[number] == card

    @invariant()
    def a_replaced_card_names_its_replacement_and_every_card_expires_after_issue(self) -> None:
        for state in self.live.values():
            for card in state.cards.values():
                assert card.issued_at < card.expires_at
                if card.status == "replaced":
                    assert card.superseded_by in state.cards
                    assert state.cards[card.superseded_by].issued_at >= card.issued_at

    @invariant()
    def a_dose_is_recorded_once_per_vaccine_and_dose_number(self) -> None:
        for state in self.live.values():
            given = [(d.vaccine, d.dose_number) for d in state.doses]
            assert len(given) == len(set(given)), given
            assert all(d.dose_number <= COURSES[d.vaccine] for d in state.doses)
            assert all(d.administered_on <= self.now.date() for d in state.doses)

    @invariant()
    def doses_are_kept_when_cards_change(self) -> None:
        for holder, events in self.streams.items():
            recorded = [e.dose_id for e in events if isinstance(e, DoseRecorded)]
            assert len(self.live[holder].doses) == len(recorded)


def test_random_card_commands_keep_every_promise_and_replay_to_the_live_state() -> None:
    run_state_machine_as_test(CardsMachine, settings=SETTINGS)
