"""The helpline's referrals and follow-ups as pure rules: who may be referred and by whom, the
order of a partner's answers, when a follow-up is late, and a directory file that says what is
wrong with it. Every refusal is checked for the words that tell the operator what to do."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import get_args

import pytest

from services.helpline import follow_ups, referrals
from services.helpline.follow_ups import ScheduleFollowUp, decide_complete, decide_schedule
from services.helpline.partners import (
    Partner,
    PartnerDirectory,
    PartnerDirectoryError,
    PartnerKind,
    load_partners,
)
from services.helpline.referrals import MakeReferral, decide_outcome, decide_referral
from shared.catalogue.services import load_catalogue
from shared.contracts.base import Event
from shared.contracts.helpline import ReferralOutcome
from shared.errors import Conflict, Forbidden, Invalid

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
TODAY = NOW.date()
PARTNERS = PartnerDirectory(
    [
        Partner("health_protection_agency", "HPA", "health", ("vaccination_support",), None),
        Partner("legal_aid_centre", "Legal aid centre", "legal", ("legal_aid",), None),
        Partner("iom_maldives", "IOM Maldives", "protection", (), "Malé office"),
    ]
)


def referral(migrant_id: str | None = "m-1", *, admin: bool = False, **extra: str) -> MakeReferral:
    return MakeReferral(
        referral_id="r-1",
        partner=extra.pop("partner", "iom_maldives"),
        actor="admin-1" if admin else "helpline-1",
        actor_is_admin=admin,
        migrant_id=migrant_id,
        **extra,
    )


# --- the partner directory -----------------------------------------------------------------


def test_the_packaged_directory_loads_and_names_only_catalogue_services() -> None:
    directory = load_partners(services=load_catalogue().codes)
    assert {"health_protection_agency", "iom_maldives", "brcs_restoring_family_links"} <= set(
        directory.codes
    )
    assert {p.kind for p in directory} <= set(get_args(PartnerKind))


def test_an_unknown_partner_is_refused_with_the_codes_to_use() -> None:
    with pytest.raises(Invalid) as refused:
        PARTNERS.get("unhcr")
    assert "unknown partner 'unhcr'" in refused.value.message
    assert "health_protection_agency, legal_aid_centre, iom_maldives" in refused.value.message


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"code": "Bad Code", "name": "X Y", "kind": "health"}, "code: must be snake_case"),
        ({"code": "x", "name": "X Y", "kind": "embassy"}, "kind: Input should be 'health'"),
        ({"code": "x", "name": "X Y", "kind": "health", "phone": "1"}, "unknown key 'phone'"),
        ({"code": "x", "name": "X Y", "kind": "health", "services": ["pizza"]}, "pizza not in"),
    ],
)
def test_a_bad_directory_file_names_the_entry_and_the_fix(
    tmp_path: Path, entry: dict[str, object], problem: str
) -> None:
    path = tmp_path / "partners.json"
    good = {"code": "iom_maldives", "name": "IOM", "kind": "protection"}
    path.write_text(json.dumps({"partners": [good, entry]}), encoding="utf-8")
    with pytest.raises(PartnerDirectoryError) as bad:
        load_partners(path, services=("legal_aid",))
    assert f"partner directory {path}: partners[1]" in str(bad.value)
    assert problem in str(bad.value)


def test_a_repeated_code_or_an_unreadable_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "partners.json"
    same = {"code": "iom_maldives", "name": "IOM", "kind": "protection"}
    path.write_text(json.dumps({"partners": [same, same]}), encoding="utf-8")
    with pytest.raises(PartnerDirectoryError, match=r"already used by partners\[0\]"):
        load_partners(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(PartnerDirectoryError, match="is not valid JSON"):
        load_partners(path)
    with pytest.raises(PartnerDirectoryError, match="BENSYS_PARTNER_DIRECTORY_FILE"):
        load_partners(tmp_path / "missing.json")


# --- referring -----------------------------------------------------------------------------


def test_a_person_who_consented_is_referred_without_an_override() -> None:
    made = decide_referral(
        referral(service="legal_aid", partner="legal_aid_centre"), PARTNERS, True, NOW
    )
    assert (made.migrant_id, made.partner, made.consent_override_reason) == (
        "m-1",
        "legal_aid_centre",
        None,
    )
    assert (made.referred_by, made.referred_at) == ("helpline-1", NOW)


def test_a_person_without_consent_is_refused_and_told_an_admin_may_override() -> None:
    with pytest.raises(Conflict) as refused:
        decide_referral(referral(), PARTNERS, False, NOW)
    message = refused.value.message
    assert "migrant m-1 has not consented to partner_referral" in message
    assert "an admin may refer them without it" in message
    assert "consent_override_reason" in message


def test_an_admin_override_is_recorded_with_its_reason() -> None:
    command = referral(admin=True, consent_override_reason="  at risk of harm tonight ")
    made = decide_referral(command, PARTNERS, False, NOW)
    assert made.consent_override_reason == "at risk of harm tonight"
    assert made.referred_by == "admin-1"


def test_only_an_admin_may_override_and_only_a_missing_consent() -> None:
    with pytest.raises(Forbidden, match="only an admin may refer a person without their consent"):
        decide_referral(referral(consent_override_reason="urgent"), PARTNERS, False, NOW)
    with pytest.raises(Invalid, match="nothing to override: migrant m-1 has consented"):
        decide_referral(referral(admin=True, consent_override_reason="x y"), PARTNERS, True, NOW)
    anonymous = referral(None, admin=True, consent_override_reason="x y")
    with pytest.raises(Invalid, match="nothing to override: an anonymous referral needs no"):
        decide_referral(anonymous, PARTNERS, None, NOW)


def test_an_anonymous_caller_is_referred_without_consent() -> None:
    made = decide_referral(referral(None, call_id="c-9"), PARTNERS, None, NOW)
    assert (made.migrant_id, made.call_id) == (None, "c-9")


def test_a_partner_is_not_sent_a_service_it_does_not_take() -> None:
    wrong = referral(partner="health_protection_agency", service="legal_aid")
    with pytest.raises(Invalid) as refused:
        decide_referral(wrong, PARTNERS, True, NOW)
    assert "HPA (health_protection_agency) does not take legal_aid" in refused.value.message
    assert "partners that take legal_aid: legal_aid_centre" in refused.value.message
    # A partner that lists no services takes any
    assert decide_referral(referral(service="legal_aid"), PARTNERS, True, NOW).service


def test_unknown_partner_is_refused_before_consent_is_considered() -> None:
    with pytest.raises(Invalid, match="unknown partner 'unhcr'"):
        decide_referral(referral(partner="unhcr"), PARTNERS, False, NOW)


# --- the partner's answers -----------------------------------------------------------------


def answered(*outcomes: ReferralOutcome) -> tuple[referrals.Referral, list[Event]]:
    event: Event = decide_referral(referral(), PARTNERS, True, NOW)
    events = [event]
    state = referrals.evolve(None, event)
    for number, outcome in enumerate(outcomes, start=1):
        event = decide_outcome(state, outcome, actor="helpline-2", now=NOW + timedelta(days=number))
        events.append(event)
        state = referrals.evolve(state, event)
    return state, events


def test_accepted_then_completed_closes_the_referral_and_folds_to_the_same_state() -> None:
    state, events = answered("accepted", "completed")
    assert (state.status, state.is_open, state.possible_outcomes, state.version) == (
        "completed",
        False,
        (),
        3,
    )
    assert [a.outcome for a in state.answers] == ["accepted", "completed"]
    assert referrals.fold(events) == state
    assert referrals.fold([]) is None


@pytest.mark.parametrize("first", ["accepted", "completed", "declined", "no_response"])
def test_any_outcome_may_come_first(first: ReferralOutcome) -> None:
    state, _ = answered(first)
    assert state.status == first


def test_after_accepted_only_a_closing_outcome_may_follow() -> None:
    state, _ = answered("accepted")
    assert state.possible_outcomes == ("completed", "declined", "no_response")
    with pytest.raises(Conflict) as refused:
        decide_outcome(state, "accepted", actor="helpline-2", now=NOW)
    message = refused.value.message
    assert "is accepted: the outcome that can be recorded now is completed, declined or " in message
    assert message.endswith("or no_response")
    assert refused.value.details["possible_outcomes"] == ["completed", "declined", "no_response"]


@pytest.mark.parametrize("final", ["completed", "declined", "no_response"])
def test_a_closed_referral_takes_no_more_outcomes(final: ReferralOutcome) -> None:
    state, _ = answered(final)
    with pytest.raises(Conflict, match="closed and nothing more can be recorded"):
        decide_outcome(state, "accepted", actor="helpline-2", now=NOW)


# --- follow-ups ----------------------------------------------------------------------------


def scheduled(due_on: date, today: date = TODAY) -> follow_ups.FollowUp:
    command = ScheduleFollowUp("f-1", due_on, " helpline-3 ", "helpline-1", migrant_id="m-1")
    return follow_ups.evolve(None, decide_schedule(command, today=today, now=NOW))


def test_a_follow_up_due_today_is_open_and_not_late_until_tomorrow() -> None:
    follow_up = scheduled(TODAY)
    assert follow_up.scheduled.assignee == "helpline-3"
    assert (follow_up.is_open, follow_up.is_overdue(TODAY)) == (True, False)
    assert follow_up.is_overdue(TODAY + timedelta(days=1))


def test_a_due_day_in_the_past_is_refused_with_today() -> None:
    command = ScheduleFollowUp("f-1", TODAY - timedelta(days=1), "helpline-3", "helpline-1")
    with pytest.raises(Invalid) as refused:
        decide_schedule(command, today=TODAY, now=NOW)
    assert "due_on 2026-11-22 is in the past (today is 2026-11-23, UTC)" in refused.value.message
    blank = ScheduleFollowUp("f-1", TODAY, "  ", "helpline-1")
    with pytest.raises(Invalid, match="name the assignee"):
        decide_schedule(blank, today=TODAY, now=NOW)


def test_a_follow_up_is_completed_once_and_folds_to_the_same_state() -> None:
    follow_up = scheduled(TODAY)
    done_event = decide_complete(follow_up, "reached", actor="helpline-3", now=NOW)
    done = follow_ups.evolve(follow_up, done_event)
    assert (done.is_open, done.is_overdue(TODAY + timedelta(days=9)), done.version) == (
        False,
        False,
        2,
    )
    assert done_event.migrant_id == "m-1"
    assert follow_ups.fold([follow_up.scheduled, done_event]) == done
    with pytest.raises(Conflict) as twice:
        decide_complete(done, "resolved", actor="helpline-4", now=NOW)
    assert "already completed (reached) by helpline-3" in twice.value.message
    assert "schedule a new follow-up" in twice.value.message
