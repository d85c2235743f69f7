"""The rules of a helpline call, without servers: what may be logged, who may read what, and
what a retry with the same client id gets back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import ValidationError

from services.helpline.call_logging import already_logged
from services.helpline.call_schemas import CallCreate, Caller, view
from services.helpline.calls import LogCall, call_logged, check_call, decide_link, e164
from shared.auth import Role
from shared.catalogue.services import load_catalogue
from shared.contracts.base import Sealed
from shared.contracts.helpline import CallLinked
from shared.errors import Conflict, Invalid
from shared.eventstore.memory import InMemoryEventStore
from shared.eventstore.model import CommandRecord, EventMetadata, PendingEvent
from shared.settings import DEFAULT_SITES

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
CATALOGUE = load_catalogue()
MALE = timezone(timedelta(hours=5))


def call(**changes: Any) -> LogCall:
    base = LogCall(
        call_id="c-1",
        client_id="console-1",
        direction="incoming",
        started_at=datetime(2026, 11, 23, 13, 55, 1, 123456, tzinfo=MALE),
        duration_seconds=240,
        answered=True,
        language="bn",
        caller="anonymous",
        migrant_id=None,
        card_number=None,
        phone=None,
        categories=("vaccination",),
        services_requested=("vaccination_support",),
        services_provided=(),
        information_given="  vaccination centre hours ",
        notes=None,
        follow_up_needed=False,
        site=None,
        actor="operator-1",
    )
    return replace(base, **changes)


def refused(command: LogCall) -> str:
    with pytest.raises(Invalid) as caught:
        check_call(command, CATALOGUE, DEFAULT_SITES, NOW)
    return caught.value.message


def sealed(kid: str, text: str = "x") -> Sealed:
    return Sealed(kid=kid, iv="iv", ct=text)


def test_a_checked_call_is_in_utc_to_the_millisecond_with_its_text_trimmed() -> None:
    checked = check_call(call(notes="  "), CATALOGUE, DEFAULT_SITES, NOW)
    assert checked.started_at == datetime(2026, 11, 23, 8, 55, 1, 123000, tzinfo=UTC)
    assert (checked.information_given, checked.notes) == ("vaccination centre hours", None)
    assert (checked.subject, checked.key_id) == ("call:c-1", "call:c-1")


def test_a_known_callers_call_is_their_subject_and_sealed_with_their_key() -> None:
    checked = check_call(
        call(caller="migrant", migrant_id="m-1", notes="asked about the second dose"),
        CATALOGUE,
        DEFAULT_SITES,
        NOW,
    )
    event = call_logged(checked, phone=None, notes=sealed("m-1"))
    assert (checked.subject, event.migrant_id, event.notes) == ("m-1", "m-1", sealed("m-1"))
    with pytest.raises(ValueError, match="sealed under m-1"):
        call_logged(checked, phone=None, notes=sealed("call:c-1"))
    with pytest.raises(ValueError, match="notes must be sealed"):
        call_logged(checked, phone=None, notes=None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"answered": False}, "a missed call lasted 0 seconds: send duration_seconds 0"),
        (
            {"answered": False, "duration_seconds": 0, "services_provided": ("food_parcel",)},
            "nothing is provided or told on a missed call",
        ),
        (
            {"started_at": NOW + timedelta(minutes=6)},
            "started_at is in the future: check the date, the time and its time zone",
        ),
        ({"categories": ()}, "name at least one category: use 'other' when none fits"),
        (
            {"categories": ("health", "legal", "health")},
            "categories lists health more than once: list each once",
        ),
        (
            {"services_provided": ("food_parcel", "food_parcel")},
            "services_provided lists food_parcel more than once",
        ),
        ({"site": "Addu"}, "unknown site 'Addu': use one of Greater Malé, Kaafu Atoll"),
        (
            {"caller": "migrant", "migrant_id": "m-1", "phone": "+9607771234"},
            "a caller known by their record needs a migrant id and no phone",
        ),
        ({"caller": "migrant"}, "a caller known by their record needs a migrant id"),
        (
            {"caller": "phone_only", "phone": "+9607771234", "migrant_id": "m-1"},
            "a phone-only caller has a phone number and no record or card",
        ),
        ({"caller": "phone_only"}, "a phone-only caller has a phone number"),
        ({"phone": "+9607771234"}, "an anonymous caller has no phone, record or card"),
        ({"card_number": "K7QM2XR49HT"}, "an anonymous caller has no phone, record or card"),
    ],
)
def test_each_refusal_says_what_to_send_instead(changes: dict[str, Any], message: str) -> None:
    assert message in refused(call(**changes))


def test_an_unknown_service_code_is_refused_listing_the_codes() -> None:
    message = refused(call(services_requested=("vaccination_support", "visa_help")))
    assert message.startswith("unknown service 'visa_help': use one of food_parcel, hot_meal")


def test_a_console_clock_a_little_ahead_is_accepted() -> None:
    checked = check_call(call(started_at=NOW + timedelta(minutes=4)), CATALOGUE, DEFAULT_SITES, NOW)
    assert checked.started_at == NOW + timedelta(minutes=4)


def test_phone_numbers_get_one_spelling_and_nonsense_is_refused() -> None:
    assert e164("+960 777-1234", "MV") == e164("7771234", "MV") == "+9607771234"
    assert e164("+880 1712-345678", "MV") == "+8801712345678"
    with pytest.raises(Invalid, match=r"caller\.phone is not a phone number"):
        e164("call me", "MV")
    with pytest.raises(Invalid, match=r"caller\.phone is not a valid number"):
        e164("+960 12", "MV")


@pytest.mark.parametrize(
    ("caller", "named"),
    [
        ({}, "not none"),
        ({"anonymous": False}, "not none"),
        (
            {"migrant_id": "m-1", "phone": "+9607771234"},
            "not migrant_id and phone",
        ),
        ({"card_number": "K7QM2XR49HT", "anonymous": True}, "not card_number and anonymous"),
    ],
)
def test_a_caller_is_exactly_one_of_four_shapes(caller: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match="give exactly one of migrant_id") as caught:
        Caller.model_validate(caller)
    assert named in str(caught.value)


def test_a_start_without_a_time_zone_is_refused() -> None:
    body = {
        "client_id": "c",
        "direction": "incoming",
        "started_at": "2026-11-23T09:00:00",
        "duration_seconds": 0,
        "answered": False,
        "language": "bn",
        "caller": {"anonymous": True},
        "categories": ["other"],
    }
    with pytest.raises(ValidationError, match="started_at needs a time zone"):
        CallCreate.model_validate(body)


def test_a_call_is_linked_once_and_a_second_link_names_the_first_record() -> None:
    event = decide_link("c-1", None, "m-2", "operator-1", NOW)
    assert event == CallLinked(
        call_id="c-1", migrant_id="m-2", linked_by="operator-1", linked_at=NOW
    )
    with pytest.raises(Conflict, match="call c-1 is already linked to migrant m-2") as caught:
        decide_link("c-1", "m-2", "m-3", "operator-1", NOW)
    assert caught.value.details == {"call_id": "c-1", "migrant_id": "m-2"}


class FakeCipher:
    def __init__(self, erased: bool = False) -> None:
        self.opened: list[str] = []
        self.erased = erased

    async def open_many(self, sealed: Mapping[str, Sealed | None]) -> dict[str, str | None]:
        self.opened += [value.kid for value in sealed.values() if value is not None]
        return {
            name: None if value is None or self.erased else f"plain {value.ct}"
            for name, value in sealed.items()
        }


STORED: dict[str, Any] = {
    "_id": "c-1",
    "client_id": "console-1",
    "stream_id": "call:c-1",
    "direction": "incoming",
    "started_at": datetime(2026, 11, 23, 8, 55),  # MongoDB hands it back without a zone
    "duration_seconds": 240,
    "answered": True,
    "language": "bn",
    "caller": "phone_only",
    "migrant_id": None,
    "card_number": None,
    "phone": sealed("call:c-1", "phone").model_dump(),
    "categories": ["health"],
    "services_requested": [],
    "services_provided": [],
    "information_given": None,
    "notes": sealed("call:c-1", "notes").model_dump(),
    "follow_up_needed": True,
    "site": None,
    "logged_by": "operator-1",
    "linked_by": None,
    "linked_at": None,
}


@pytest.mark.parametrize("role", [Role.helpline, Role.admin])
async def test_operators_read_the_phone_and_notes(role: Role) -> None:
    shown = await view(STORED, role, FakeCipher())
    assert (shown["call_id"], shown["phone"], shown["notes"]) == (
        "c-1",
        "plain phone",
        "plain notes",
    )
    assert shown["started_at"] == datetime(2026, 11, 23, 8, 55, tzinfo=UTC)
    assert "stream_id" not in shown


@pytest.mark.parametrize("role", [r for r in Role if r not in {Role.helpline, Role.admin}])
async def test_any_other_role_gets_neither_and_nothing_is_opened(role: Role) -> None:
    cipher = FakeCipher()
    shown = await view(STORED, role, cipher)
    assert "phone" not in shown
    assert "notes" not in shown
    assert cipher.opened == []
    assert shown["categories"] == ["health"]


async def test_an_erased_callers_phone_and_notes_read_as_nothing() -> None:
    shown = await view(STORED, Role.helpline, FakeCipher(erased=True))
    assert (shown["phone"], shown["notes"]) == (None, None)


async def test_a_retry_gets_the_first_call_and_another_call_under_its_client_id_is_refused() -> (
    None
):
    # Given a call logged under client id console-1
    store = InMemoryEventStore()
    first = CommandRecord("call:console-1", "fingerprint-1", {"call_id": "c-1"})
    await store.append(
        "call:c-1",
        0,
        [PendingEvent(type="t", data={}, subject="call:c-1")],
        EventMetadata(actor="operator-1"),
        command=first,
    )
    # When the console sends it again, the first call is the answer
    assert await already_logged(store, "call:console-1", "fingerprint-1", "console-1") == "c-1"
    assert await already_logged(store, "call:console-2", "fingerprint-1", "console-2") is None
    # And a different call under the same client id is refused, naming the first
    with pytest.raises(
        Invalid, match=r"client_id 'console-1' was already used for another call \(c-1\)"
    ):
        await already_logged(store, "call:console-1", "fingerprint-2", "console-1")
