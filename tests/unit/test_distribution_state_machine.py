"""Distribution's decide / evolve under random command sequences (Hypothesis state machine).

Given two people, a caterer and a catalogue with entitlement rules, when field staff record
deliveries (some captured offline days late, some with a device clock ahead, some over the
rule with or without a manager's override), group activities and voids, and caseworkers move
repatriation cases along, in any order, then the rules the programme promises hold after every
step, and folding the log (as stored, or read back from the wire) rebuilds the live state.

Deliveries have no ``evolve`` in the domain: the handlers read the person's past deliveries
from the ledger (``services/distribution/ledger.py``). :func:`project` below is that ledger's
projection, in memory; repatriation cases fold with the domain's own ``evolve``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import get_args

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from services.distribution import repatriation
from services.distribution.domain import (
    FUTURE_TOLERANCE,
    Deliver,
    Past,
    RecordGroup,
    decide_delivery,
    decide_group,
    decide_void,
)
from services.distribution.repatriation import (
    NEXT,
    Case,
    RequestRepatriation,
    Step,
    decide_request,
    decide_step,
)
from shared.catalogue.services import CatalogueEntry, EntitlementRule, load_catalogue
from shared.contracts.base import Event
from shared.contracts.catalog import CATALOG
from shared.contracts.distribution import (
    DeliveryVoided,
    GroupActivityRecorded,
    RepatriationRequested,
    RepatriationStepRecorded,
    ServiceDelivered,
)
from shared.errors import BenSysError

SETTINGS = settings(
    max_examples=60, stateful_step_count=30, deadline=None, derandomize=True, database=None
)
BASE = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
PEOPLE = ("m-1", "m-2")
CATERER = "Island Caterers"
PACKAGED = load_catalogue()
WATER = CatalogueEntry(
    code="drinking_water",
    labels={"en": "Drinking water"},
    unit="bottle",
    entitlement=EntitlementRule(max_units=3, per_days=7),
    requires_card=False,
    recipients=("person",),
)
"""A rule of several units per period, so that quantities add up against it."""
SERVICES: Mapping[str, CatalogueEntry] = {
    entry.code: entry
    for entry in (
        PACKAGED.get("food_parcel"),  # 1 per 30 days, to a person
        WATER,
        PACKAGED.get("hot_meal"),  # 1 per day, to a person or a group
        PACKAGED.get("legal_aid"),  # no limit
        PACKAGED.get("caterer_delivery_pass"),  # to an organisation
        PACKAGED.get("awareness_session"),  # a group or a person, no limit
    )
}
STEPS: tuple[Step, ...] = get_args(Step)


def on_the_wire(event: Event) -> Event:
    """The event as an auditor reads it back: its JSON body decoded by its wire name."""
    return CATALOG.decode(type(event).ce_type(), json.loads(json.dumps(event.to_data())))


@dataclass(frozen=True)
class Row:
    """One delivery or group activity as the ledger holds it."""

    stream_id: str
    migrant_id: str | None
    service: str
    quantity: int
    delivered_at: datetime
    overridden: bool
    voided: bool = False


@dataclass(frozen=True)
class Distribution:
    """What the service knows: the ledger, the stream versions and the repatriation cases."""

    rows: dict[str, Row] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    cases: dict[str, Case] = field(default_factory=dict)


def project(state: Distribution, stream_id: str, event: Event) -> Distribution:
    """The ledger's and the cases' inline projections, applied to one appended event."""
    rows, cases = dict(state.rows), dict(state.cases)
    versions = {**state.versions, stream_id: state.versions.get(stream_id, 0) + 1}
    if isinstance(event, ServiceDelivered):
        rows[event.delivery_id] = Row(
            stream_id,
            event.migrant_id,
            event.service,
            event.quantity,
            event.delivered_at,
            event.override is not None,
        )
    elif isinstance(event, GroupActivityRecorded):
        rows[event.activity_id] = Row(
            stream_id, None, event.service, event.people_reached, event.held_at, False
        )
    elif isinstance(event, DeliveryVoided):
        rows[event.delivery_id] = replace(rows[event.delivery_id], voided=True)
    elif isinstance(event, RepatriationRequested | RepatriationStepRecorded):
        cases[event.case_id] = repatriation.evolve(cases.get(event.case_id), event)
    return Distribution(rows, versions, cases)


def replay(log: list[tuple[str, Event]]) -> Distribution:
    state = Distribution()
    for stream_id, event in log:
        state = project(state, stream_id, event)
    return state


def around(state: Distribution, migrant_id: str, entry: CatalogueEntry, at: datetime) -> list[Past]:
    """As ``Ledger.around``: the person's unvoided deliveries of the service near ``at``."""
    assert entry.entitlement is not None
    window = timedelta(days=entry.entitlement.per_days)
    return [
        Past(delivery_id, row.quantity, row.delivered_at)
        for delivery_id, row in state.rows.items()
        if (row.migrant_id, row.service) == (migrant_id, entry.code)
        and at - window < row.delivered_at < at + window
        and not row.voided
    ]


class DistributionMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = BASE
        self.live = Distribution()
        self.log: list[tuple[str, Event]] = []
        self.wire: list[tuple[str, Event]] = []
        self.recorded_at: dict[str, datetime] = {}
        """When each delivery or activity was recorded (the server's clock)."""
        self.by_manager: set[str] = set()
        """Deliveries recorded by someone allowed to override an entitlement rule."""
        self.closed: dict[str, Case] = {}
        """Repatriation cases as they were when they closed."""
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
        before = Distribution(dict(self.live.rows), dict(self.live.versions), dict(self.live.cases))
        try:
            event = decision()
        except BenSysError:
            assert self.live == before
            return None
        assert self.live == before, "deciding changes no state"
        self.live = project(self.live, stream_id, event)
        self.log.append((stream_id, event))
        self.wire.append((stream_id, on_the_wire(event)))
        for case_id, case in self.live.cases.items():
            if not case.is_open:
                self.closed.setdefault(case_id, case)
        return event

    # --- rules: what field staff, managers and caseworkers record ---------------------------

    @rule(
        recipient=st.sampled_from((*PEOPLE, CATERER)),
        service=st.sampled_from(sorted(SERVICES)),
        quantity=st.sampled_from((1, 1, 2, 1, 4)),
        hours_ago=st.one_of(st.just(0), st.integers(-2, 24 * 40)),
        override_reason=st.sampled_from((None, None, "family of six, no income")),
        manager=st.booleans(),
    )
    def deliver(
        self,
        *,
        recipient: str,
        service: str,
        quantity: int,
        hours_ago: int,
        override_reason: str | None,
        manager: bool,
    ) -> None:
        """As ``record_delivery``: the past deliveries come from the ledger, at its version."""
        now = self.tick()
        entry = SERVICES[service]
        person = recipient if recipient in PEOPLE else None
        delivery_id = self.new_id("d")
        client_id = f"tablet-1:{self.ids:04d}"
        command = Deliver(
            delivery_id=delivery_id,
            client_id=client_id,
            service=service,
            quantity=quantity,
            site="Seenu Atoll",
            delivered_at=now - timedelta(hours=hours_ago),
            actor="manager-1" if manager else "distributor-1",
            migrant_id=person,
            organisation=None if person else recipient,
            override_reason=override_reason,
            may_override=manager,
        )
        past = (
            around(self.live, person, entry, command.delivered_at)
            if person is not None and entry.entitlement is not None
            else []
        )
        stream = person if person is not None else f"delivery:{client_id}"
        if self.decide(stream, lambda: decide_delivery(entry, command, past, now)):
            self.recorded_at[delivery_id] = now
            if manager:
                self.by_manager.add(delivery_id)

    @rule(
        which=st.integers(0, 5),
        hours_later=st.integers(-24 * 40, 24 * 40),
        quantity=st.sampled_from((1, 1, 2)),
        override_reason=st.sampled_from((None, None, "family of six, no income")),
        manager=st.booleans(),
    )
    def deliver_again(
        self,
        which: int,
        hours_later: int,
        quantity: int,
        override_reason: str | None,
        manager: bool,
    ) -> None:
        """Someone comes back for the same service (or a late offline capture of an earlier
        visit arrives): the case an entitlement rule is for."""
        before = [
            (row.migrant_id, row.service, row.delivered_at)
            for row in self.live.rows.values()
            if row.migrant_id is not None
        ]
        if not before:
            return
        person, service, at = before[::-1][which % len(before)]
        assert person is not None
        hours_ago = max(int((self.now - at) / timedelta(hours=1)) - hours_later, 0)
        self.deliver(
            recipient=person,
            service=service,
            quantity=quantity,
            hours_ago=hours_ago,
            override_reason=override_reason,
            manager=manager,
        )

    @rule(
        service=st.sampled_from(("awareness_session", "hot_meal", "food_parcel")),
        people_reached=st.integers(1, 40),
        female=st.one_of(st.none(), st.integers(0, 40)),
        male=st.one_of(st.none(), st.integers(0, 40)),
        hours_ago=st.integers(-2, 48),
    )
    def record_group_activity(
        self,
        service: str,
        people_reached: int,
        female: int | None,
        male: int | None,
        hours_ago: int,
    ) -> None:
        now = self.tick()
        activity_id = self.new_id("a")
        command = RecordGroup(
            activity_id=activity_id,
            client_id=f"tablet-1:{self.ids:04d}",
            service=service,
            people_reached=people_reached,
            female=female,
            male=male,
            language="dv",
            organisation=None,
            site="Seenu Atoll",
            held_at=now - timedelta(hours=hours_ago),
            actor="distributor-1",
        )
        entry = SERVICES[service]
        if self.decide(f"activity:{activity_id}", lambda: decide_group(entry, command, now)):
            self.recorded_at[activity_id] = now

    @rule(which=st.integers(0, 7))
    def void(self, which: int) -> None:
        """As ``POST /deliveries/{id}/void``: the ledger says whether it is void already."""
        if not self.live.rows:
            return
        ids = list(self.live.rows)[::-1]
        delivery_id = ids[which % len(ids)]
        row = self.live.rows[delivery_id]
        now = self.tick()
        self.decide(
            row.stream_id,
            lambda: decide_void(
                delivery_id,
                row.migrant_id,
                voided=row.voided,
                reason="entered twice",
                actor="manager-1",
                now=now,
            ),
        )

    @rule(person=st.sampled_from(PEOPLE), country=st.sampled_from(("BD", "NP", "bd", "Nepal")))
    def request_repatriation(self, person: str, country: str) -> None:
        """As ``POST /repatriations``: the person's open case comes from the read model."""
        now = self.tick()
        open_case = next(
            (c for c in self.live.cases.values() if c.migrant_id == person and c.is_open), None
        )
        command = RequestRepatriation(
            case_id=self.new_id("case"),
            migrant_id=person,
            destination_country=country,
            site="Kdh Atoll",
            actor="caseworker-1",
        )
        self.decide(
            f"repatriation:{command.case_id}", lambda: decide_request(command, open_case, now)
        )

    @rule(
        which=st.integers(0, 3),
        step=st.one_of(st.none(), st.sampled_from(STEPS)),
        as_asked=st.sampled_from((True, True, False)),
        with_authority=st.sampled_from((None, "High Commission of Bangladesh", "  ")),
        reason=st.sampled_from((None, "decided to stay", " ")),
    )
    def record_repatriation_step(
        self,
        which: int,
        step: Step | None,
        as_asked: bool,
        with_authority: str | None,
        reason: str | None,
    ) -> None:
        """``step`` None: the case's next step forward. ``as_asked``: the caseworker fills in
        what the step needs (and nothing else)."""
        if not self.live.cases:
            return
        case = list(self.live.cases.values())[::-1][which % len(self.live.cases)]
        if step is None:
            step = case.possible_steps[0] if case.possible_steps else "departed"
        if as_asked:
            with_authority = (
                "High Commission of Nepal" if step == "travel_document_in_progress" else None
            )
            reason = "decided to stay" if step == "cancelled" else None
        now, chosen = self.tick(), step
        self.decide(
            f"repatriation:{case.case_id}",
            lambda: decide_step(
                case,
                chosen,
                with_authority=with_authority,
                reason=reason,
                actor="caseworker-1",
                now=now,
            ),
        )

    @rule(hours=st.integers(1, 24 * 20))
    def time_passes(self, hours: int) -> None:
        self.now += timedelta(hours=hours)

    # --- invariants: what beneficiaries, managers and donors rely on ------------------------

    @invariant()
    def an_auditors_replay_of_the_log_rebuilds_the_live_state(self) -> None:
        assert replay(self.log) == self.live
        assert replay(self.wire) == self.live
        for case_id, case in self.live.cases.items():
            stream = [e for s, e in self.wire if s == f"repatriation:{case_id}"]
            assert repatriation.fold(stream) == case

    @invariant()
    def a_version_counts_the_events_of_its_stream(self) -> None:
        for stream_id, version in self.live.versions.items():
            assert version == sum(1 for s, _ in self.log if s == stream_id)
        for case in self.live.cases.values():
            assert case.version == self.live.versions[f"repatriation:{case.case_id}"]

    @invariant()
    def a_delivery_is_voided_at_most_once_and_stays_void(self) -> None:
        voided = [e.delivery_id for _, e in self.log if isinstance(e, DeliveryVoided)]
        assert len(voided) == len(set(voided)), voided
        for delivery_id in voided:
            assert self.live.rows[delivery_id].voided

    @invariant()
    def an_entitlement_rule_is_exceeded_only_by_a_managers_override(self) -> None:
        """Every unvoided delivery made without override kept its rule against the unvoided
        deliveries recorded before it, however late either was captured; so in any span
        shorter than the period the units exceed the limit only where a manager overrode."""
        earlier: list[ServiceDelivered] = []
        for _, event in self.log:
            if not isinstance(event, ServiceDelivered):
                continue
            entry = SERVICES[event.service]
            rule_ = entry.entitlement
            kept = (
                rule_ is not None
                and event.migrant_id is not None
                and event.override is None
                and not self.live.rows[event.delivery_id].voided
            )
            if kept and rule_ is not None:
                window = timedelta(days=rule_.per_days)
                used = sum(
                    e.quantity
                    for e in earlier
                    if (e.migrant_id, e.service) == (event.migrant_id, event.service)
                    and abs(e.delivered_at - event.delivered_at) < window
                    and not self.live.rows[e.delivery_id].voided
                )
                assert used + event.quantity <= rule_.max_units, (event, used)
            earlier.append(event)

    @invariant()
    def only_a_manager_overrides_and_only_a_rule_of_a_persons_service(self) -> None:
        for _, event in self.log:
            if isinstance(event, ServiceDelivered) and event.override is not None:
                assert event.delivery_id in self.by_manager
                assert event.override.reason.strip()
                assert event.migrant_id is not None
                assert SERVICES[event.service].entitlement is not None

    @invariant()
    def what_is_delivered_goes_to_whom_the_catalogue_says_and_is_not_in_the_future(
        self,
    ) -> None:
        for stream_id, event in self.log:
            if isinstance(event, ServiceDelivered):
                kind = "person" if event.migrant_id is not None else "organisation"
                assert kind in SERVICES[event.service].recipients
                assert stream_id == (event.migrant_id or f"delivery:{event.client_id}")
                assert event.delivered_at <= self.recorded_at[event.delivery_id] + FUTURE_TOLERANCE
            elif isinstance(event, GroupActivityRecorded):
                assert "group" in SERVICES[event.service].recipients
                assert (event.female or 0) + (event.male or 0) <= event.people_reached
                assert event.held_at <= self.recorded_at[event.activity_id] + FUTURE_TOLERANCE

    @invariant()
    def a_person_has_at_most_one_open_repatriation_case(self) -> None:
        for person in PEOPLE:
            open_cases = [
                c.case_id for c in self.live.cases.values() if c.migrant_id == person and c.is_open
            ]
            assert len(open_cases) <= 1, open_cases

    @invariant()
    def a_repatriation_case_moves_only_forward_and_a_closed_one_stays_closed(self) -> None:
        for case_id, case in self.closed.items():
            assert self.live.cases[case_id] == case
        for case in self.live.cases.values():
            assert case.steps[0].step == "requested"
            for before, after in zip(case.steps, case.steps[1:], strict=False):
                assert after.step in NEXT[before.step]
            for taken in case.steps:
                assert (taken.with_authority is not None) == (
                    taken.step == "travel_document_in_progress"
                )
                assert (taken.reason is not None) == (taken.step == "cancelled")
            assert case.destination_country.isalpha()
            assert case.destination_country.isupper()


def test_random_distribution_commands_keep_every_rule_and_replay_to_the_live_state() -> None:
    run_state_machine_as_test(DistributionMachine, settings=SETTINGS)
