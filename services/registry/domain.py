"""The registry's pure domain: fold a person's events into state, decide what a command adds.

No I/O here. Personal data arrives already sealed (sealing needs the key vault), so these
functions check rules and shape facts; the handlers load, seal, append and index.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from shared.age import age_band
from shared.contracts.base import Event, Sealed
from shared.contracts.registry import (
    ConsentGiven,
    ConsentPurpose,
    ConsentRecorded,
    ConsentWithdrawn,
    DuplicatesMarkedDistinct,
    IdentityDocument,
    MigrantDetailsCorrected,
    MigrantErased,
    MigrantRegistered,
    MigrantsMerged,
    MigrantsUnmerged,
    Sex,
)
from shared.errors import Conflict, Gone, Invalid, NotFound

PERSONAL_FIELDS = (
    "full_name",
    "other_names",
    "date_of_birth",
    "approximate_birth_year",
    "phone",
    "address",
    "employer",
    "identity_document",
)
CLEAR_FIELDS = ("sex", "nationality", "preferred_languages", "site", "vulnerabilities")


@dataclass(frozen=True)
class Migrant:
    """What the registry knows of one person, folded from their stream."""

    migrant_id: str = ""
    version: int = 0
    registered: bool = False
    erased: bool = False
    merged_into: str | None = None
    consents: frozenset[str] = frozenset()
    sealed: dict[str, Any] = field(default_factory=dict)
    clear: dict[str, Any] = field(default_factory=dict)
    distinct_from: frozenset[str] = frozenset()

    def require_active(self) -> None:
        if not self.registered:
            raise NotFound(f"no migrant {self.migrant_id}")
        if self.erased:
            raise Gone(f"migrant {self.migrant_id} was erased; their data cannot be used")
        if self.merged_into:
            raise Conflict(
                f"migrant {self.migrant_id} was merged into {self.merged_into}: "
                "work on that record instead",
                details={"merged_into": self.merged_into},
            )


def evolve(state: Migrant, event: Event) -> Migrant:  # noqa: PLR0911 - one branch per event
    state = replace(state, version=state.version + 1)
    if isinstance(event, MigrantRegistered):
        return replace(
            state,
            migrant_id=event.migrant_id,
            registered=True,
            consents=frozenset(event.consent.purposes),
            sealed={name: getattr(event, name) for name in PERSONAL_FIELDS},
            clear={name: getattr(event, name) for name in (*CLEAR_FIELDS, "age_band")},
        )
    if isinstance(event, MigrantDetailsCorrected):
        sealed = dict(state.sealed)
        clear = dict(state.clear)
        for name in event.corrected_fields:
            if name in PERSONAL_FIELDS:
                sealed[name] = getattr(event, name)
            elif name in CLEAR_FIELDS:
                clear[name] = getattr(event, name)
        if event.age_band is not None:
            clear["age_band"] = event.age_band
        return replace(state, sealed=sealed, clear=clear)
    if isinstance(event, ConsentRecorded):
        return replace(state, consents=state.consents | {event.purpose})
    if isinstance(event, ConsentWithdrawn):
        return replace(state, consents=state.consents - {event.purpose})
    if isinstance(event, MigrantsMerged):
        return replace(state, merged_into=event.survivor_id)
    if isinstance(event, MigrantsUnmerged):
        return replace(state, merged_into=None)
    if isinstance(event, DuplicatesMarkedDistinct):
        return replace(state, distinct_from=state.distinct_from | {event.other_id})
    if isinstance(event, MigrantErased):
        return replace(state, erased=True, sealed={})
    return state


def fold(migrant_id: str, events: list[Event]) -> Migrant:
    state = Migrant(migrant_id=migrant_id)
    for event in events:
        state = evolve(state, event)
    return state


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
    other_names: tuple[Sealed, ...] = ()
    approximate_birth_year: Sealed | None = None
    phone: Sealed | None = None
    address: Sealed | None = None
    employer: Sealed | None = None
    identity_document: IdentityDocument | None = None
    vulnerabilities: tuple[str, ...] = ()
    approximate_year: int | None = None
    """The approximate year of birth in clear, for the age band only (as a correction does)."""


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
    check_site(command.site, sites)
    if command.born_on is not None and command.born_on > command.registered_at.date():
        raise Invalid("date_of_birth is in the future", details={"field": "date_of_birth"})
    return [
        MigrantRegistered(
            migrant_id=command.migrant_id,
            full_name=command.full_name,
            date_of_birth=command.date_of_birth,
            sex=command.sex,
            age_band=age_band(
                command.born_on
                or (date(command.approximate_year, 7, 1) if command.approximate_year else None),
                command.registered_at.date(),
            ),
            nationality=command.nationality,
            preferred_languages=command.preferred_languages,
            site=command.site,
            consent=command.consent,
            issue_card=command.issue_card,
            registered_by=command.registered_by,
            registered_at=command.registered_at,
            other_names=command.other_names,
            approximate_birth_year=command.approximate_birth_year,
            phone=command.phone,
            address=command.address,
            employer=command.employer,
            identity_document=command.identity_document,
            vulnerabilities=command.vulnerabilities,
        )
    ]


def check_site(site: str, sites: tuple[str, ...]) -> None:
    if site not in sites:
        raise Invalid(
            f"unknown site {site!r}: use one of {', '.join(sites)}",
            details={"field": "site", "allowed": list(sites)},
        )


def decide_correct(
    state: Migrant, changes: dict[str, Any], *, by: str, at: datetime, sites: tuple[str, ...]
) -> list[MigrantDetailsCorrected]:
    """``changes`` holds sealed values for personal fields and plain values for the rest."""
    state.require_active()
    if "site" in changes:
        check_site(changes["site"], sites)
    changed = {
        name: value
        for name, value in changes.items()
        if name in PERSONAL_FIELDS or state.clear.get(name) != value or name == "age_band"
    }
    named = tuple(sorted(name for name in changed if name != "age_band"))
    if not named:
        return []
    return [
        MigrantDetailsCorrected(
            migrant_id=state.migrant_id,
            corrected_fields=named,
            corrected_by=by,
            corrected_at=at,
            **changed,
        )
    ]


def decide_record_consent(
    state: Migrant,
    purpose: ConsentPurpose,
    *,
    method: str,
    notice_language: str,
    by: str,
    at: datetime,
) -> list[ConsentRecorded]:
    state.require_active()
    if purpose in state.consents:
        return []
    return [
        ConsentRecorded(
            migrant_id=state.migrant_id,
            purpose=purpose,
            method=method,  # type: ignore[arg-type]  # validated by the HTTP schema
            notice_language=notice_language,
            recorded_by=by,
            recorded_at=at,
        )
    ]


def decide_withdraw_consent(
    state: Migrant, purpose: ConsentPurpose, *, by: str, at: datetime
) -> list[ConsentWithdrawn]:
    state.require_active()
    if purpose == "registration":
        raise Invalid(
            "consent to 'registration' cannot be withdrawn while the record exists: "
            "erase the person instead (DELETE /migrants/{id}, role admin)"
        )
    if purpose not in state.consents:
        return []
    return [
        ConsentWithdrawn(
            migrant_id=state.migrant_id, purpose=purpose, withdrawn_by=by, withdrawn_at=at
        )
    ]


def decide_merge(
    absorbed: Migrant, survivor: Migrant, *, score: float, reason: str, by: str, at: datetime
) -> list[MigrantsMerged]:
    if absorbed.migrant_id == survivor.migrant_id:
        raise Invalid("a record cannot be merged into itself")
    absorbed.require_active()
    survivor.require_active()
    # The decision is written on one of the two streams: either may hold it.
    if (
        survivor.migrant_id in absorbed.distinct_from
        or absorbed.migrant_id in survivor.distinct_from
    ):
        raise Conflict(
            "these two were marked as different people; merging them contradicts that "
            "decision: record why it was wrong in the merge reason and send again with "
            "override_distinct=true"
        )
    return [
        MigrantsMerged(
            absorbed_id=absorbed.migrant_id,
            survivor_id=survivor.migrant_id,
            score=score,
            reason=reason,
            merged_by=by,
            merged_at=at,
        )
    ]


def decide_unmerge(
    absorbed: Migrant, *, reason: str, by: str, at: datetime
) -> list[MigrantsUnmerged]:
    if absorbed.erased:
        raise Gone(f"migrant {absorbed.migrant_id} was erased")
    if absorbed.merged_into is None:
        raise Conflict(f"migrant {absorbed.migrant_id} is not merged into anyone")
    return [
        MigrantsUnmerged(
            absorbed_id=absorbed.migrant_id,
            survivor_id=absorbed.merged_into,
            reason=reason,
            unmerged_by=by,
            unmerged_at=at,
        )
    ]


def decide_mark_distinct(
    state: Migrant, other: Migrant, *, reason: str, by: str, at: datetime
) -> list[DuplicatesMarkedDistinct]:
    if state.migrant_id == other.migrant_id:
        raise Invalid("a record is always the same person as itself")
    state.require_active()
    other.require_active()
    if other.migrant_id in state.distinct_from:
        return []
    return [
        DuplicatesMarkedDistinct(
            migrant_id=state.migrant_id,
            other_id=other.migrant_id,
            reason=reason,
            decided_by=by,
            decided_at=at,
        )
    ]


def decide_erase(state: Migrant, *, reason: str, by: str, at: datetime) -> list[MigrantErased]:
    if not state.registered:
        raise NotFound(f"no migrant {state.migrant_id}")
    if state.erased:
        return []
    return [
        MigrantErased(
            migrant_id=state.migrant_id,
            reason=reason,  # type: ignore[arg-type]  # validated by the HTTP schema
            erased_by=by,
            erased_at=at,
        )
    ]
