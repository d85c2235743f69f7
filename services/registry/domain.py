"""The registry's pure domain: decide which events a command produces. No I/O here.

Personal data arrives already sealed (sealing needs the key vault, which is I/O), so these
functions only check rules and shape facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from shared.age import age_band
from shared.contracts.base import Sealed
from shared.contracts.registry import ConsentGiven, MigrantRegistered, Sex
from shared.errors import Conflict, Invalid


@dataclass(frozen=True)
class RegisterMigrant:
    migrant_id: str
    full_name: Sealed
    date_of_birth: Sealed | None
    born_on: date | None
    sex: Sex
    nationality: str
    preferred_languages: tuple[str, ...]
    site: str
    consent: ConsentGiven
    issue_card: bool
    registered_by: str
    registered_at: datetime


@dataclass(frozen=True)
class Migrant:
    """What the registry knows of one person, folded from their stream."""

    version: int = 0
    registered: bool = False


def evolve(state: Migrant, event: MigrantRegistered) -> Migrant:
    return Migrant(version=state.version + 1, registered=True)


def decide_register(
    state: Migrant, command: RegisterMigrant, *, sites: tuple[str, ...]
) -> list[MigrantRegistered]:
    if state.registered:
        raise Conflict(f"migrant {command.migrant_id} is already registered")
    if "registration" not in command.consent.purposes:
        raise Invalid(
            "a person can be registered only with their consent to 'registration': "
            "record that consent, or do not register them",
            details={"field": "consent.purposes"},
        )
    if command.site not in sites:
        raise Invalid(
            f"unknown site {command.site!r}: use one of {', '.join(sites)}",
            details={"field": "site", "allowed": list(sites)},
        )
    if command.born_on is not None and command.born_on > command.registered_at.date():
        raise Invalid("date_of_birth is in the future", details={"field": "date_of_birth"})
    return [
        MigrantRegistered(
            migrant_id=command.migrant_id,
            full_name=command.full_name,
            date_of_birth=command.date_of_birth,
            sex=command.sex,
            age_band=age_band(command.born_on, command.registered_at.date()),
            nationality=command.nationality,
            preferred_languages=command.preferred_languages,
            site=command.site,
            consent=command.consent,
            issue_card=command.issue_card,
            registered_by=command.registered_by,
            registered_at=command.registered_at,
        )
    ]
