"""The rules of a helpline call, pure: what may be logged, and when a call may be linked.

A call is checked while its phone number and notes are still plain (:func:`check_call`), so a
refused call never creates a data key in the vault; the event is built once they are sealed
(:func:`call_logged`). Every refusal says what to send instead, because the operator is still
on the line or has just hung up.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Literal

import phonenumbers

from shared.catalogue.services import ServiceCatalogue
from shared.contracts.base import Sealed
from shared.contracts.helpline import CallCategory, CallLinked, CallLogged
from shared.errors import Conflict, Invalid

CallerKind = Literal["migrant", "phone_only", "anonymous"]
CLOCK_SKEW = timedelta(minutes=5)
"""Consoles' clocks drift: a start this far ahead of ours is a drift, further is a typo."""


@dataclass(frozen=True)
class LogCall:
    """The command: a call as the operator describes it, with the caller already resolved."""

    call_id: str
    client_id: str
    direction: Literal["incoming", "outgoing"]
    started_at: datetime
    duration_seconds: int
    answered: bool
    language: str
    caller: CallerKind
    migrant_id: str | None
    card_number: str | None
    phone: str | None
    categories: tuple[CallCategory, ...]
    services_requested: tuple[str, ...]
    services_provided: tuple[str, ...]
    information_given: str | None
    notes: str | None
    follow_up_needed: bool
    site: str | None
    actor: str

    @property
    def key_id(self) -> str:
        """Whose key seals the phone and notes: the person's, else the call's own."""
        return self.migrant_id if self.migrant_id is not None else self.subject

    @property
    def subject(self) -> str:
        """The stream and subject: the person when known, else the call (ARCHITECTURE §2)."""
        return self.migrant_id if self.migrant_id is not None else f"call:{self.call_id}"


def e164(raw: str, default_region: str) -> str:
    """One spelling per number (E.164), so a caller's later calls can be found by it."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise Invalid(
            "caller.phone is not a phone number: give it as +<country code> <number>",
            details={"field": "caller.phone"},
        ) from None
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(
            "caller.phone is not a valid number: check the digits and the country code",
            details={"field": "caller.phone"},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def check_call(
    command: LogCall, catalogue: ServiceCatalogue, sites: Collection[str], now: datetime
) -> LogCall:
    """The command as it will be recorded (UTC, ms, trimmed text), or Invalid saying why not."""
    _check_caller(command)
    if command.site is not None and command.site not in sites:
        raise Invalid(
            f"unknown site {command.site!r}: use one of {', '.join(sites)}, or leave it out",
            details={"site": command.site, "known_sites": list(sites)},
        )
    if not command.answered and command.duration_seconds != 0:
        raise Invalid("a missed call lasted 0 seconds: send duration_seconds 0, or answered true")
    information_given = _text(command.information_given)
    if not command.answered and (command.services_provided or information_given):
        raise Invalid(
            "nothing is provided or told on a missed call: leave services_provided and "
            "information_given empty, or send answered true"
        )
    started_at = command.started_at.astimezone(UTC)
    if started_at > now + CLOCK_SKEW:
        raise Invalid("started_at is in the future: check the date, the time and its time zone")
    if not command.categories:
        raise Invalid("name at least one category: use 'other' when none fits")
    _unique("categories", command.categories)
    for field, codes in (
        ("services_requested", command.services_requested),
        ("services_provided", command.services_provided),
    ):
        _unique(field, codes)
        for code in codes:
            catalogue.get(code)
    return replace(
        command,
        started_at=started_at.replace(microsecond=started_at.microsecond // 1000 * 1000),
        information_given=information_given,
        notes=_text(command.notes),
    )


def call_logged(command: LogCall, *, phone: Sealed | None, notes: Sealed | None) -> CallLogged:
    """The event of a checked command, with its phone and notes sealed under ``key_id``."""
    for name, plain, sealed in (("phone", command.phone, phone), ("notes", command.notes, notes)):
        if (plain is None) != (sealed is None) or (
            sealed is not None and sealed.kid != command.key_id
        ):
            raise ValueError(f"{name} must be sealed under {command.key_id} exactly when given")
    return CallLogged(
        call_id=command.call_id,
        client_id=command.client_id,
        direction=command.direction,
        started_at=command.started_at,
        duration_seconds=command.duration_seconds,
        answered=command.answered,
        language=command.language,
        caller=command.caller,
        migrant_id=command.migrant_id,
        card_number=command.card_number,
        phone=phone,
        categories=command.categories,
        services_requested=command.services_requested,
        services_provided=command.services_provided,
        information_given=command.information_given,
        notes=notes,
        follow_up_needed=command.follow_up_needed,
        site=command.site,
        logged_by=command.actor,
    )


def decide_link(
    call_id: str, linked_to: str | None, migrant_id: str, actor: str, now: datetime
) -> CallLinked:
    """Join a call to a record once; ``linked_to`` is the record it already has, if any."""
    if linked_to is not None:
        raise Conflict(
            f"call {call_id} is already linked to migrant {linked_to}: a call is linked once; "
            "if that record is wrong, have the registry merge the two records",
            details={"call_id": call_id, "migrant_id": linked_to},
        )
    return CallLinked(call_id=call_id, migrant_id=migrant_id, linked_by=actor, linked_at=now)


def _check_caller(command: LogCall) -> None:
    known = command.migrant_id is not None
    if command.caller == "migrant" and (not known or command.phone is not None):
        raise Invalid(
            "a caller known by their record needs a migrant id and no phone: the registry "
            "holds their number"
        )
    if command.caller == "phone_only" and (known or command.card_number or not command.phone):
        raise Invalid("a phone-only caller has a phone number and no record or card")
    if command.caller == "anonymous" and (known or command.card_number or command.phone):
        raise Invalid("an anonymous caller has no phone, record or card: choose another caller")


def _unique(field: str, values: Sequence[str]) -> None:
    repeated = sorted({value for value in values if values.count(value) > 1})
    if repeated:
        raise Invalid(f"{field} lists {', '.join(repeated)} more than once: list each once")


def _text(value: str | None) -> str | None:
    stripped = None if value is None else value.strip()
    return stripped or None
