"""The cards service's pure domain: a holder's cards and doses, and what a command adds.

One stream per holder (the migrant id) holds every card they were given and every dose
recorded against one, so "one active card per person" is checked against a single version
and a person's events keep their order on the topic. No I/O here: the printed name arrives
sealed, the card number and the signing key id arrive chosen.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Literal

from shared.contracts.base import Event, Sealed
from shared.contracts.cards import (
    CardIssued,
    CardReplaced,
    CardRevoked,
    DoseRecorded,
    IssueTrigger,
    ReplacementReason,
    RevocationReason,
)
from shared.contracts.registry import Sex
from shared.errors import Conflict, Invalid, NotFound

CardStatus = Literal["active", "replaced", "revoked"]


@dataclass(frozen=True)
class Card:
    number: str
    status: CardStatus
    issued_at: datetime
    expires_at: datetime
    reason: str | None = None
    superseded_by: str | None = None

    def usable(self, now: datetime) -> bool:
        return self.status == "active" and self.issued_at <= now < self.expires_at


@dataclass(frozen=True)
class Dose:
    vaccine: str
    dose_number: int
    administered_on: date
    centre: str


@dataclass(frozen=True)
class Holder:
    """What the cards service knows of one person's cards, folded from their stream."""

    migrant_id: str
    version: int = 0
    cards: dict[str, Card] = field(default_factory=dict)
    doses: tuple[Dose, ...] = ()

    @property
    def active_card(self) -> Card | None:
        return next((c for c in self.cards.values() if c.status == "active"), None)

    def card(self, number: str) -> Card:
        found = self.cards.get(number)
        if found is None:
            raise NotFound(f"card {number} does not belong to migrant {self.migrant_id}")
        return found


def evolve(state: Holder, event: Event) -> Holder:
    state = replace(state, version=state.version + 1)
    cards = dict(state.cards)
    if isinstance(event, CardIssued):
        cards[event.card_number] = Card(
            event.card_number, "active", event.issued_at, event.expires_at
        )
    elif isinstance(event, CardReplaced):
        old = cards[event.old_card_number]
        cards[old.number] = replace(
            old, status="replaced", reason=event.reason, superseded_by=event.card_number
        )
        cards[event.card_number] = Card(
            event.card_number, "active", event.issued_at, event.expires_at
        )
    elif isinstance(event, CardRevoked):
        old = cards[event.card_number]
        cards[old.number] = replace(
            old, status="revoked", reason=event.reason, superseded_by=event.superseded_by
        )
    elif isinstance(event, DoseRecorded):
        dose = Dose(event.vaccine, event.dose_number, event.administered_on, event.centre)
        return replace(state, doses=(*state.doses, dose))
    return replace(state, cards=cards)


def fold(migrant_id: str, events: list[Event]) -> Holder:
    state = Holder(migrant_id=migrant_id)
    for event in events:
        state = evolve(state, event)
    return state


@dataclass(frozen=True)
class NewCard:
    """A card about to be issued: everything but the holder's history, chosen by the handler."""

    card_number: str
    printed_name: Sealed
    sex: Sex
    birth_year: Sealed | None
    issued_at: datetime
    expires_at: datetime
    key_id: str
    site: str
    actor: str


def decide_issue(state: Holder, card: NewCard, trigger: IssueTrigger) -> list[Event]:
    active = state.active_card
    if active is not None and active.usable(card.issued_at):
        raise Conflict(
            f"migrant {state.migrant_id} already has an active card ({active.number}): "
            "replace it (POST /cards/{number}/replace) or revoke it first",
            details={"card_number": active.number},
        )
    events: list[Event] = []
    if active is not None:  # an expired card is retired so that one card stays active
        events.append(
            _revoked(
                state,
                active.number,
                "expired",
                superseded_by=None,
                actor=card.actor,
                now=card.issued_at,
            )
        )
    events.append(
        CardIssued(
            migrant_id=state.migrant_id,
            card_number=card.card_number,
            printed_name=card.printed_name,
            sex=card.sex,
            birth_year=card.birth_year,
            issued_at=card.issued_at,
            expires_at=card.expires_at,
            key_id=card.key_id,
            site=card.site,
            trigger=trigger,
            issued_by=card.actor,
        )
    )
    return events


def decide_replace(
    state: Holder, old_number: str, card: NewCard, reason: ReplacementReason
) -> list[Event]:
    old = state.card(old_number)
    if old.status != "active":
        raise Conflict(
            f"card {old_number} is {old.status} and cannot be replaced; " + _where_to_look(state),
            details={"status": old.status, "superseded_by": old.superseded_by},
        )
    return [
        CardReplaced(
            migrant_id=state.migrant_id,
            old_card_number=old_number,
            card_number=card.card_number,
            reason=reason,
            printed_name=card.printed_name,
            sex=card.sex,
            birth_year=card.birth_year,
            issued_at=card.issued_at,
            expires_at=card.expires_at,
            key_id=card.key_id,
            site=card.site,
            replaced_by=card.actor,
        )
    ]


def decide_revoke(
    state: Holder,
    number: str,
    reason: RevocationReason,
    *,
    superseded_by: str | None = None,
    actor: str,
    now: datetime,
) -> list[Event]:
    card = state.card(number)
    if card.status != "active":
        raise Conflict(
            f"card {number} is already {card.status}; " + _where_to_look(state),
            details={"status": card.status},
        )
    return [_revoked(state, number, reason, superseded_by=superseded_by, actor=actor, now=now)]


@dataclass(frozen=True)
class RecordDose:
    dose_id: str
    card_number: str
    vaccine: str
    dose_number: int
    course_doses: int
    administered_on: date
    centre: str
    site: str
    actor: str
    now: datetime


def decide_dose(state: Holder, command: RecordDose) -> list[Event]:
    card = state.card(command.card_number)
    if not card.usable(command.now):
        raise Conflict(
            f"card {card.number} is not valid ({_why_not(card, command.now)}); "
            "a dose is recorded only against the holder's valid card",
            details={"status": card.status},
        )
    if command.administered_on > command.now.date():
        raise Invalid(f"administered_on {command.administered_on} is in the future")
    if command.dose_number > command.course_doses:
        raise Invalid(
            f"{command.vaccine} has a course of {command.course_doses} dose(s); "
            f"dose {command.dose_number} does not exist"
        )
    for dose in state.doses:
        if (dose.vaccine, dose.dose_number) == (command.vaccine, command.dose_number):
            raise Conflict(
                f"dose {command.dose_number} of {command.vaccine} was already recorded "
                f"on {dose.administered_on} at {dose.centre}"
            )
    return [
        DoseRecorded(
            dose_id=command.dose_id,
            migrant_id=state.migrant_id,
            card_number=card.number,
            vaccine=command.vaccine,
            dose_number=command.dose_number,
            course_doses=command.course_doses,
            administered_on=command.administered_on,
            centre=command.centre,
            site=command.site,
            recorded_by=command.actor,
            recorded_at=command.now,
        )
    ]


def _revoked(
    state: Holder,
    number: str,
    reason: RevocationReason,
    *,
    superseded_by: str | None,
    actor: str,
    now: datetime,
) -> CardRevoked:
    return CardRevoked(
        migrant_id=state.migrant_id,
        card_number=number,
        reason=reason,
        superseded_by=superseded_by,
        revoked_by=actor,
        revoked_at=now,
    )


def _why_not(card: Card, now: datetime) -> str:
    if card.status != "active":
        return card.status
    return "expired" if now >= card.expires_at else "not yet valid"


def _where_to_look(state: Holder) -> str:
    active = state.active_card
    if active is None:
        return "the person has no active card"
    return f"their active card is {active.number}"
