"""The registry's decide function: rules about registering a person, without any I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from services.registry.domain import (
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
)
from services.registry.registration import registered_at
from services.registry.schemas import MigrantCreate
from shared.contracts.base import Sealed
from shared.contracts.registry import ConsentGiven, MigrantRegistered
from shared.errors import Conflict, Gone, Invalid
from shared.settings import DEFAULT_SITES

SEALED = Sealed(kid="m-1", iv="aXY", ct="Y3Q")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def command(**changes: object) -> RegisterMigrant:
    values: dict[str, object] = {
        "migrant_id": "m-1",
        "full_name": SEALED,
        "date_of_birth": SEALED,
        "born_on": date(1990, 4, 2),
        "sex": "female",
        "nationality": "BD",
        "preferred_languages": ("bn", "en"),
        "site": "Kdh Atoll",
        "consent": ConsentGiven(purposes=("registration",), method="verbal", notice_language="bn"),
        "issue_card": False,
        "registered_by": "registrar-1",
        "registered_at": NOW,
    }
    values.update(changes)
    return RegisterMigrant(**values)  # type: ignore[arg-type]


def test_a_consenting_person_is_registered_with_an_age_band_not_a_birth_date() -> None:
    [event] = decide_register(Migrant(), command(), sites=DEFAULT_SITES)
    assert isinstance(event, MigrantRegistered)
    assert event.age_band == "35-44"
    assert event.date_of_birth == SEALED  # the exact date travels only sealed
    assert event.registered_by == "registrar-1"
    state = evolve(Migrant(), event)
    assert (state.version, state.registered, state.consents) == (
        1,
        True,
        frozenset({"registration"}),
    )
    assert state.sealed["full_name"] == SEALED


def test_no_registration_without_consent_to_registration() -> None:
    consent = ConsentGiven(purposes=("health_vaccination",), method="verbal", notice_language="bn")
    with pytest.raises(Invalid, match="consent to 'registration'"):
        decide_register(Migrant(), command(consent=consent), sites=DEFAULT_SITES)


def test_an_unknown_site_is_refused_naming_the_known_ones() -> None:
    with pytest.raises(Invalid, match="Greater Malé"):
        decide_register(Migrant(), command(site="Atlantis"), sites=DEFAULT_SITES)


def test_a_birth_date_in_the_future_is_refused() -> None:
    with pytest.raises(Invalid, match="future"):
        decide_register(Migrant(), command(born_on=date(2030, 1, 1)), sites=DEFAULT_SITES)


def test_a_person_without_a_known_birth_date_has_an_unknown_age_band() -> None:
    [event] = decide_register(
        Migrant(), command(born_on=None, date_of_birth=None), sites=DEFAULT_SITES
    )
    assert event.age_band == "unknown"


def test_an_approximate_year_of_birth_gives_an_age_band_as_a_correction_would() -> None:
    # Many people know only roughly when they were born: reports still need their age band
    [event] = decide_register(
        Migrant(),
        command(born_on=None, date_of_birth=None, approximate_year=1998),
        sites=DEFAULT_SITES,
    )
    assert event.age_band == "25-34"


def test_the_same_person_cannot_be_registered_twice() -> None:
    with pytest.raises(Conflict):
        decide_register(Migrant(version=1, registered=True), command(), sites=DEFAULT_SITES)


def registered(migrant_id: str = "m-1") -> Migrant:
    [event] = decide_register(Migrant(), command(migrant_id=migrant_id), sites=DEFAULT_SITES)
    return evolve(Migrant(migrant_id=migrant_id), event)


def test_consent_is_recorded_once_and_withdrawn_per_purpose() -> None:
    state = registered()
    [recorded] = decide_record_consent(
        state, "partner_referral", method="verbal", notice_language="bn", by="r", at=NOW
    )
    state = evolve(state, recorded)
    assert state.consents == {"registration", "partner_referral"}
    assert (
        decide_record_consent(
            state, "partner_referral", method="verbal", notice_language="bn", by="r", at=NOW
        )
        == []
    )
    [withdrawn] = decide_withdraw_consent(state, "partner_referral", by="r", at=NOW)
    assert evolve(state, withdrawn).consents == {"registration"}
    with pytest.raises(Invalid, match="erase"):
        decide_withdraw_consent(state, "registration", by="r", at=NOW)


def test_a_correction_names_only_what_changed() -> None:
    state = registered()
    [event] = decide_correct(
        state, {"site": "Seenu Atoll", "sex": "female"}, by="r", at=NOW, sites=DEFAULT_SITES
    )
    assert event.corrected_fields == ("site",)
    assert evolve(state, event).clear["site"] == "Seenu Atoll"
    assert decide_correct(state, {"sex": "female"}, by="r", at=NOW, sites=DEFAULT_SITES) == []


def test_merges_point_to_the_survivor_and_are_undone_only_by_a_new_event() -> None:
    a, b = registered("a"), registered("b")
    [merged] = decide_merge(a, b, score=0.9, reason="same phone", by="r", at=NOW)
    a = evolve(a, merged)
    assert a.merged_into == "b"
    with pytest.raises(Conflict, match="merged into b"):
        a.require_active()
    [unmerged] = decide_unmerge(a, reason="brothers", by="r", at=NOW)
    a = evolve(a, unmerged)
    [distinct] = decide_mark_distinct(a, b, reason="brothers", by="r", at=NOW)
    a = evolve(a, distinct)
    with pytest.raises(Conflict, match="different people"):
        decide_merge(a, b, score=0.9, reason="again", by="r", at=NOW)
    with pytest.raises(Invalid):
        decide_merge(b, b, score=1.0, reason="self", by="r", at=NOW)


def test_a_pair_marked_as_different_people_is_not_merged_from_the_other_side_either() -> None:
    # The decision is written on a's stream only; b's merge into a must still respect it
    a, b = registered("a"), registered("b")
    [distinct] = decide_mark_distinct(a, b, reason="brothers", by="r", at=NOW)
    a = evolve(a, distinct)
    with pytest.raises(Conflict, match="different people"):
        decide_merge(b, a, score=0.9, reason="same phone", by="r", at=NOW)


def test_an_erased_person_keeps_no_sealed_data_in_state_and_refuses_further_work() -> None:
    state = registered()
    [erased] = decide_erase(state, reason="person_request", by="admin", at=NOW)
    state = evolve(state, erased)
    assert state.sealed == {}
    assert decide_erase(state, reason="person_request", by="admin", at=NOW) == []
    with pytest.raises(Gone):
        decide_correct(state, {"site": "Kdh Atoll"}, by="r", at=NOW, sites=DEFAULT_SITES)


def test_a_form_captured_on_paper_keeps_the_day_it_was_filled_but_never_a_future_one() -> None:
    body = MigrantCreate.model_validate(
        {
            "full_name": "Rahim Mia",
            "sex": "male",
            "nationality": "BD",
            "preferred_languages": ["bn"],
            "site": "Kdh Atoll",
            "consent": {"purposes": ["registration"], "notice_language": "bn"},
            "registered_at": "2026-03-02T10:00:00+05:00",
        }
    )
    assert registered_at(body) == datetime(2026, 3, 2, 5, 0, tzinfo=UTC)
    with pytest.raises(Invalid, match="in the future"):
        registered_at(body.model_copy(update={"registered_at": datetime(2999, 1, 1, tzinfo=UTC)}))
    with pytest.raises(Invalid, match="before 2000"):
        registered_at(body.model_copy(update={"registered_at": datetime(1990, 1, 1, tzinfo=UTC)}))
    with pytest.raises(ValidationError, match="needs a time zone"):
        MigrantCreate.model_validate(
            body.model_dump(mode="json") | {"registered_at": "2026-03-02T10:00:00"}
        )
