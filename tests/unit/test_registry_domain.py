"""The registry's decide function: rules about registering a person, without any I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from services.registry.domain import Migrant, RegisterMigrant, decide_register, evolve
from shared.contracts.base import Sealed
from shared.contracts.registry import ConsentGiven, MigrantRegistered
from shared.errors import Conflict, Invalid
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
    assert evolve(Migrant(), event) == Migrant(version=1, registered=True)


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


def test_the_same_person_cannot_be_registered_twice() -> None:
    with pytest.raises(Conflict):
        decide_register(Migrant(version=1, registered=True), command(), sites=DEFAULT_SITES)
