"""The registry's decide / evolve under random command sequences (Hypothesis state machine).

Given four people's streams (three registered at the start), when registrars and admins send
any mix of registrations, corrections, consents, merges, unmerges, "different people" decisions
and erasures (many of them wrong: unknown sites, a withdrawal of registration consent, a merge
into oneself), then what the registry promises the people in it holds after every step, and an
auditor who folds the log (as stored, or as it travels on the wire) rebuilds the live state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, get_args

from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from services.registry.domain import (
    CLEAR_FIELDS,
    Migrant,
    RegisterMigrant,
    decide_correct,
    decide_erase,
    decide_mark_distinct,
    decide_merge,
    decide_record_consent,
    decide_register,
    decide_unmerge,
    decide_withdraw_consent,
    evolve,
    fold,
)
from shared.age import age_band
from shared.contracts.base import Event, Sealed
from shared.contracts.catalog import CATALOG
from shared.contracts.registry import (
    ConsentGiven,
    ConsentPurpose,
    ConsentRecorded,
    ConsentWithdrawn,
    DuplicatesMarkedDistinct,
    IdentityDocument,
    MigrantErased,
    MigrantRegistered,
    MigrantsMerged,
    MigrantsUnmerged,
    Sex,
)
from shared.errors import BenSysError
from shared.settings import DEFAULT_SITES

SETTINGS = settings(
    max_examples=60, stateful_step_count=30, deadline=None, derandomize=True, database=None
)
SEARCHING = settings(SETTINGS, max_examples=150, phases=(Phase.explicit, Phase.generate))
"""For a known bug: stop at the first counterexample, unshrunk (shrinking takes a minute)."""
BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
MIGRANTS = ("m-1", "m-2", "m-3", "m-4")
PURPOSES: tuple[ConsentPurpose, ...] = get_args(ConsentPurpose)
SITES = (*DEFAULT_SITES, "Atlantis")  # the last is unknown: refused
ERASURE_REASONS = ("person_request", "duplicate_record", "registered_in_error", "other")

migrants = st.sampled_from(MIGRANTS)
newcomers = st.sampled_from(MIGRANTS[::-1])
"""Whom to register: the fourth person, who is not registered yet, most of the time."""
pairs = st.sampled_from(
    [(a, b) for a in MIGRANTS[:3] for b in MIGRANTS[:3] if a != b]
    + [(MIGRANTS[0], MIGRANTS[3]), (MIGRANTS[3], MIGRANTS[1]), (MIGRANTS[2], MIGRANTS[2])]
)
"""Two records, rarely the same one or one not registered (decisions refused)."""
other_consents = st.sets(st.sampled_from(("health_vaccination", "partner_referral")))
corrections = st.fixed_dictionaries(
    {},
    optional={
        "site": st.sampled_from(SITES),
        "sex": st.sampled_from(get_args(Sex)),
        "nationality": st.sampled_from(("BD", "NP", "IN")),
        "preferred_languages": st.sampled_from((("bn",), ("ne", "en"))),
        "vulnerabilities": st.sampled_from(((), ("pregnant",))),
        "full_name": st.just("sealed"),
        "phone": st.sampled_from(("sealed", None)),
        "other_names": st.integers(0, 2),
        "identity_document": st.sampled_from(("sealed", None)),
        "date_of_birth": st.integers(0, 70),
    },
)


def on_the_wire(event: Event) -> Event:
    """The event as an auditor reads it back: its JSON body decoded by its wire name."""
    data = json.loads(json.dumps(event.to_data()))
    return CATALOG.decode(type(event).ce_type(), data)


def snapshot(state: Migrant) -> Migrant:
    """A copy that a decision mutating the state's dicts in place would not change."""
    return replace(state, sealed=dict(state.sealed), clear=dict(state.clear))


def holds_sealed(value: Any) -> bool:
    """Whether personal data (a sealed value, or a document holding one) is inside ``value``."""
    if isinstance(value, Sealed | IdentityDocument):
        return True
    if isinstance(value, dict):
        return any(holds_sealed(v) for v in value.values())
    if isinstance(value, tuple | list | frozenset | set):
        return any(holds_sealed(v) for v in value)
    return False


class RegistryMachine(RuleBasedStateMachine):
    """Live states per person, folded one decision at a time, and the full log beside them."""

    judged: Bundle[tuple[str, str]] = Bundle("judged")
    """Pairs a registrar has judged to be different people (or tried to)."""

    def __init__(self) -> None:
        super().__init__()
        self.now = BASE
        self.live = {m: Migrant(migrant_id=m) for m in MIGRANTS}
        self.streams: dict[str, list[Event]] = {m: [] for m in MIGRANTS}
        self.wire: dict[str, list[Event]] = {m: [] for m in MIGRANTS}
        """Each stream as an auditor reads it back from the wire."""
        self.log: list[tuple[str, Event]] = []
        self.overridden_merges: set[int] = set()
        """Positions in ``log`` of merges a registrar sent with ``override_distinct``."""
        self.ever_erased: set[str] = set()
        self.seals = 0

    # --- helpers -----------------------------------------------------------------------------

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def sealed(self, migrant_id: str) -> Sealed:
        self.seals += 1
        return Sealed(kid=migrant_id, iv="aXY", ct=f"c{self.seals}")

    def decide(self, stream: str, decision: Callable[[], Sequence[Event]]) -> list[Event]:
        """Run one decision; a refusal is an expected outcome and must leave everything as it
        was. Deciding, refused or not, changes no state (not even the dicts inside one)."""
        before = {m: snapshot(state) for m, state in self.live.items()}
        try:
            events = list(decision())
        except BenSysError:
            assert self.live == before
            return []
        assert self.live == before
        for event in events:
            self.live[stream] = evolve(self.live[stream], event)
            self.streams[stream].append(event)
            self.wire[stream].append(on_the_wire(event))
            self.log.append((stream, event))
        return events

    # --- rules: the commands a registrar or an admin sends ----------------------------------

    @initialize(consents=st.lists(other_consents, min_size=3, max_size=3))
    def three_people_are_registered(self, consents: list[set[ConsentPurpose]]) -> None:
        """Most of a registry's work is on people already in it: start with three of four."""
        for migrant_id, others, years_old in zip(MIGRANTS, consents, (30, None, 45), strict=False):
            self.register(
                migrant_id=migrant_id,
                registration_consent=True,
                other_purposes=others,
                site=SITES[0],
                years_old=years_old,
                approximate_year=1995,
                issue_card=False,
                with_phone=True,
            )

    @rule(
        migrant_id=newcomers,
        registration_consent=st.sampled_from((True, True, True, False)),
        other_purposes=other_consents,
        site=st.sampled_from(SITES),
        years_old=st.one_of(st.none(), st.integers(-1, 80)),
        approximate_year=st.one_of(st.none(), st.integers(1950, 2010)),
        issue_card=st.booleans(),
        with_phone=st.booleans(),
    )
    def register(
        self,
        *,
        migrant_id: str,
        registration_consent: bool,
        other_purposes: set[ConsentPurpose],
        site: str,
        years_old: int | None,
        approximate_year: int | None,
        issue_card: bool,
        with_phone: bool,
    ) -> None:
        at = self.tick()
        asked: tuple[ConsentPurpose, ...] = ("registration",) if registration_consent else ()
        purposes = asked + tuple(sorted(other_purposes))
        born_on = None if years_old is None else (at - timedelta(days=365 * years_old)).date()
        command = RegisterMigrant(
            migrant_id=migrant_id,
            full_name=self.sealed(migrant_id),
            date_of_birth=None if born_on is None else self.sealed(migrant_id),
            born_on=born_on,
            sex="female",
            nationality="BD",
            preferred_languages=("bn", "en"),
            site=site,
            consent=ConsentGiven(purposes=purposes, method="verbal", notice_language="bn"),
            issue_card=issue_card,
            registered_by="registrar-1",
            registered_at=at,
            phone=self.sealed(migrant_id) if with_phone else None,
            approximate_year=approximate_year if born_on is None else None,
        )
        self.decide(
            migrant_id, lambda: decide_register(self.live[migrant_id], command, sites=DEFAULT_SITES)
        )

    @rule(migrant_id=migrants, sent=corrections)
    def correct(self, migrant_id: str, sent: dict[str, Any]) -> None:
        """``sent`` is what the HTTP schema let through; personal values arrive sealed."""
        at = self.tick()
        changes: dict[str, Any] = {}
        for name, value in sent.items():
            if name in {"full_name", "phone"}:
                changes[name] = None if value is None else self.sealed(migrant_id)
            elif name == "other_names":
                changes[name] = tuple(self.sealed(migrant_id) for _ in range(value))
            elif name == "identity_document":
                changes[name] = (
                    None
                    if value is None
                    else IdentityDocument(type="passport", number=self.sealed(migrant_id))
                )
            elif name == "date_of_birth":
                changes[name] = self.sealed(migrant_id)
                changes["age_band"] = age_band(date(at.year - value, 3, 1), at.date())
            else:
                changes[name] = value
        state = self.live[migrant_id]
        self.decide(
            migrant_id,
            lambda: decide_correct(state, changes, by="registrar-1", at=at, sites=DEFAULT_SITES),
        )

    @rule(migrant_id=migrants, purpose=st.sampled_from(PURPOSES))
    def record_consent(self, migrant_id: str, purpose: ConsentPurpose) -> None:
        at = self.tick()
        state = self.live[migrant_id]
        self.decide(
            migrant_id,
            lambda: decide_record_consent(
                state, purpose, method="written", notice_language="bn", by="registrar-1", at=at
            ),
        )

    @rule(migrant_id=migrants, purpose=st.sampled_from(PURPOSES))
    def withdraw_consent(self, migrant_id: str, purpose: ConsentPurpose) -> None:
        at = self.tick()
        state = self.live[migrant_id]
        self.decide(
            migrant_id,
            lambda: decide_withdraw_consent(state, purpose, by="registrar-1", at=at),
        )

    @rule(pair=pairs, override_distinct=st.booleans())
    def merge(self, pair: tuple[str, str], override_distinct: bool) -> None:
        """As ``POST /migrants/{absorbed}/merge``: an override forgets the two records'
        "different people" decision about each other, for this decision only."""
        absorbed, survivor = pair
        at = self.tick()
        state = self.live[absorbed]
        other = self.live[survivor]
        if override_distinct:
            state = replace(state, distinct_from=state.distinct_from - {survivor})
            other = replace(other, distinct_from=other.distinct_from - {absorbed})
        events = self.decide(
            absorbed,
            lambda: decide_merge(
                state,
                other,
                score=0.9,
                reason="same phone",
                by="registrar-1",
                at=at,
            ),
        )
        if events and override_distinct:
            self.overridden_merges.add(len(self.log) - 1)

    @rule(migrant_id=migrants)
    def unmerge(self, migrant_id: str) -> None:
        at = self.tick()
        state = self.live[migrant_id]
        self.decide(
            migrant_id, lambda: decide_unmerge(state, reason="brothers", by="registrar-1", at=at)
        )

    @rule(target=judged, pair=pairs)
    def mark_distinct(self, pair: tuple[str, str]) -> tuple[str, str]:
        migrant_id, other_id = pair
        at = self.tick()
        state, other = self.live[migrant_id], self.live[other_id]
        self.decide(
            migrant_id,
            lambda: decide_mark_distinct(state, other, reason="brothers", by="registrar-1", at=at),
        )
        return pair

    @rule(pair=judged, either_way=st.booleans(), override_distinct=st.booleans())
    def merge_a_pair_judged_different(
        self, pair: tuple[str, str], either_way: bool, override_distinct: bool
    ) -> None:
        """The pair comes up again as likely duplicates, from one record or the other."""
        self.merge(pair[::-1] if either_way else pair, override_distinct)

    @rule(migrant_id=migrants, reason=st.sampled_from(ERASURE_REASONS))
    def erase(self, migrant_id: str, reason: str) -> None:
        at = self.tick()
        state = self.live[migrant_id]
        events = self.decide(
            migrant_id, lambda: decide_erase(state, reason=reason, by="admin-1", at=at)
        )
        if events:
            self.ever_erased.add(migrant_id)

    @rule(hours=st.integers(1, 24 * 400))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    # --- invariants: what the people in the registry rely on --------------------------------

    @invariant()
    def an_auditors_replay_of_the_log_rebuilds_the_live_state(self) -> None:
        for migrant_id, events in self.streams.items():
            assert fold(migrant_id, events) == self.live[migrant_id]
            assert fold(migrant_id, self.wire[migrant_id]) == self.live[migrant_id]

    @invariant()
    def a_version_counts_the_events_of_its_stream(self) -> None:
        for migrant_id, events in self.streams.items():
            assert self.live[migrant_id].version == len(events)

    @invariant()
    def a_person_is_registered_once_and_only_with_consent_to_registration(self) -> None:
        for events in self.streams.values():
            registrations = [e for e in events if isinstance(e, MigrantRegistered)]
            assert len(registrations) == (1 if events else 0)
            if events:
                assert events[0] is registrations[0]
                assert "registration" in registrations[0].consent.purposes
                assert registrations[0].site in DEFAULT_SITES

    @invariant()
    def consent_to_registration_is_never_withdrawn(self) -> None:
        for _, event in self.log:
            assert not (isinstance(event, ConsentWithdrawn) and event.purpose == "registration")
        for state in self.live.values():
            assert not state.registered or "registration" in state.consents

    @invariant()
    def consents_held_are_those_given_and_not_withdrawn_since(self) -> None:
        for migrant_id, events in self.streams.items():
            held: set[str] = set()
            for event in events:
                if isinstance(event, MigrantRegistered):
                    held |= set(event.consent.purposes)
                elif isinstance(event, ConsentRecorded):
                    held.add(event.purpose)
                elif isinstance(event, ConsentWithdrawn):
                    held.discard(event.purpose)
            assert self.live[migrant_id].consents == held

    @invariant()
    def an_erased_person_stays_erased_and_no_personal_data_is_left(self) -> None:
        for migrant_id in self.ever_erased:
            state = self.live[migrant_id]
            assert state.erased
            assert state.sealed == {}
            assert not holds_sealed(state.clear)
            assert set(state.clear) <= {*CLEAR_FIELDS, "age_band"}
            events = self.streams[migrant_id]
            erasures = [i for i, e in enumerate(events) if isinstance(e, MigrantErased)]
            assert erasures == [len(events) - 1], "nothing is recorded about an erased person"

    @invariant()
    def a_merged_record_takes_nothing_but_an_unmerge_or_an_erasure(self) -> None:
        for events in self.streams.values():
            merged = False
            for event in events:
                assert not merged or isinstance(event, MigrantsUnmerged | MigrantErased), event
                if isinstance(event, MigrantsMerged):
                    merged = True
                elif isinstance(event, MigrantsUnmerged):
                    merged = False

    @invariant()
    def merges_point_to_another_registered_record_and_never_go_round(self) -> None:
        for migrant_id, state in self.live.items():
            seen = {migrant_id}
            current = state
            while current.merged_into is not None:
                assert current.merged_into not in seen, f"merge cycle through {seen}"
                seen.add(current.merged_into)
                current = self.live[current.merged_into]
                assert current.registered

    @invariant()
    def a_merge_never_contradicts_the_absorbed_records_different_people_decision(self) -> None:
        self._check_merges_against_distinct_decisions(either_record=False)

    def _check_merges_against_distinct_decisions(self, *, either_record: bool) -> None:
        distinct: set[tuple[str, str]] = set()
        for position, (_, event) in enumerate(self.log):
            if isinstance(event, DuplicatesMarkedDistinct):
                distinct.add((event.migrant_id, event.other_id))
            elif isinstance(event, MigrantsMerged) and position not in self.overridden_merges:
                pair = (event.absorbed_id, event.survivor_id)
                assert pair not in distinct, f"{pair} were marked as different people"
                if either_record:
                    assert pair[::-1] not in distinct, f"{pair[::-1]} were marked different"


class RegistryMachineWithSymmetricDistinct(RegistryMachine):
    """The same commands, plus the promise that "different people" is about the pair."""

    @invariant()
    def a_merge_never_contradicts_a_different_people_decision_on_either_record(self) -> None:
        self._check_merges_against_distinct_decisions(either_record=True)


def test_random_registry_commands_keep_every_promise_and_replay_to_the_live_state() -> None:
    run_state_machine_as_test(RegistryMachine, settings=SETTINGS)


def test_a_pair_marked_as_different_people_is_never_merged_either_way_without_override() -> None:
    run_state_machine_as_test(RegistryMachineWithSymmetricDistinct, settings=SEARCHING)
