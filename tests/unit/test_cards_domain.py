"""The cards domain: one active card per person, replacement and revocation, doses."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from services.cards.domain import (
    Holder,
    NewCard,
    RecordDose,
    decide_dose,
    decide_issue,
    decide_replace,
    decide_revoke,
    fold,
)
from shared.contracts.base import Event, Sealed
from shared.contracts.cards import CardIssued, CardReplaced, CardRevoked, DoseRecorded
from shared.errors import Conflict, Invalid, NotFound

NAME = Sealed(kid="m-1", iv="aXY", ct="Y3Q")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def new_card(number: str, at: datetime = NOW) -> NewCard:
    return NewCard(
        card_number=number,
        printed_name=NAME,
        sex="female",
        birth_year=None,
        issued_at=at,
        expires_at=at + timedelta(days=730),
        key_id="k1",
        site="Kdh Atoll",
        actor="registrar-1",
    )


def dose(number: str, vaccine: str = "measles_rubella", dose_number: int = 1) -> RecordDose:
    return RecordDose(
        dose_id=f"d-{vaccine}-{dose_number}",
        card_number=number,
        vaccine=vaccine,
        dose_number=dose_number,
        course_doses=2,
        administered_on=date(2026, 11, 20),
        centre="Kulhudhuffushi Regional Hospital",
        site="Kdh Atoll",
        actor="nurse-1",
        now=NOW,
    )


def history(*steps: list[Event]) -> Holder:
    return fold("m-1", [event for events in steps for event in events])


def test_a_person_gets_one_active_card_and_a_second_issue_is_refused() -> None:
    [issued] = decide_issue(Holder("m-1"), new_card("AAAAAAAAAAA"), "request")
    assert isinstance(issued, CardIssued)
    holder = history([issued])
    assert holder.active_card is not None
    assert holder.active_card.number == "AAAAAAAAAAA"
    with pytest.raises(Conflict, match="already has an active card"):
        decide_issue(holder, new_card("BBBBBBBBBBB"), "registration")


def test_an_expired_card_is_retired_when_a_new_one_is_issued() -> None:
    # Given a card issued three years ago (valid for two)
    old = decide_issue(Holder("m-1"), new_card("OLD", NOW - timedelta(days=1100)), "request")
    # When a new one is issued today
    events = decide_issue(history(old), new_card("NEW"), "request")
    # Then the old one is revoked as expired, and only the new one is active
    assert [type(e) for e in events] == [CardRevoked, CardIssued]
    assert isinstance(events[0], CardRevoked)
    assert events[0].reason == "expired"
    after = history(old, events)
    assert [c.number for c in after.cards.values() if c.status == "active"] == ["NEW"]


def test_replacing_retires_the_old_card_and_activates_the_new_one() -> None:
    issued = decide_issue(Holder("m-1"), new_card("OLD"), "request")
    holder = history(issued)
    [replaced] = decide_replace(holder, "OLD", new_card("NEW"), "lost")
    assert isinstance(replaced, CardReplaced)
    after = history(issued, [replaced])
    assert after.cards["OLD"].status == "replaced"
    assert after.cards["OLD"].superseded_by == "NEW"
    assert after.active_card is not None
    assert after.active_card.number == "NEW"
    # A replaced card cannot be replaced again: the message names the card to use
    with pytest.raises(Conflict, match="their active card is NEW"):
        decide_replace(after, "OLD", new_card("THIRD"), "lost")


def test_a_revoked_card_cannot_be_revoked_again_nor_carry_doses() -> None:
    issued = decide_issue(Holder("m-1"), new_card("CARD"), "request")
    revoked = decide_revoke(history(issued), "CARD", "misuse", actor="admin-1", now=NOW)
    holder = history(issued, revoked)
    assert holder.active_card is None
    with pytest.raises(Conflict, match="already revoked"):
        decide_revoke(holder, "CARD", "misuse", actor="admin-1", now=NOW)
    with pytest.raises(Conflict, match="not valid"):
        decide_dose(holder, dose("CARD"))


def test_another_persons_card_is_not_found_on_this_holder() -> None:
    with pytest.raises(NotFound):
        decide_revoke(Holder("m-1"), "SOMEONEELSE", "misuse", actor="admin-1", now=NOW)


def test_doses_are_recorded_once_each_and_within_the_course() -> None:
    issued = decide_issue(Holder("m-1"), new_card("CARD"), "request")
    [first] = decide_dose(history(issued), dose("CARD"))
    assert isinstance(first, DoseRecorded)
    assert (first.dose_number, first.course_doses, first.site) == (1, 2, "Kdh Atoll")
    holder = history(issued, [first])
    assert len(holder.doses) == 1
    with pytest.raises(Conflict, match="already recorded"):
        decide_dose(holder, dose("CARD"))
    with pytest.raises(Invalid, match="course of 2"):
        decide_dose(holder, dose("CARD", dose_number=3))
    future = RecordDose(
        **{**dose("CARD", dose_number=2).__dict__, "administered_on": date(2026, 12, 1)}
    )
    with pytest.raises(Invalid, match="in the future"):
        decide_dose(holder, future)
    assert decide_dose(holder, dose("CARD", dose_number=2))
