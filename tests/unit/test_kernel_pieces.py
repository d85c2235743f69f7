"""Small kernel pieces: age bands, the envelope, the catalog's upcasters, settings, suppression."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from services.reporting.api import suppress_small_cells
from shared.age import age_band
from shared.contracts.base import Event
from shared.contracts.catalog import EventCatalog, UnknownEventType
from shared.eventstore.chain import GENESIS
from shared.eventstore.model import StoredEvent
from shared.messaging.envelope import MalformedEnvelope, from_kafka_record, to_kafka_record
from shared.settings import DEV_JWT_SECRET, DEV_MASTER_KEY, ServiceSettings


@pytest.mark.parametrize(
    ("born", "band"),
    [
        (date(2010, 11, 24), "0-17"),  # 15, a day before turning 16
        (date(2008, 11, 23), "18-24"),  # 18 today
        (date(1990, 1, 1), "35-44"),
        (date(1960, 1, 1), "60+"),
        (None, "unknown"),
        (date(2030, 1, 1), "unknown"),
    ],
)
def test_age_bands_are_taken_at_the_time_of_the_event(born: date | None, band: str) -> None:
    assert age_band(born, date(2026, 11, 23)) == band


def stored(**changes: object) -> StoredEvent:
    values: dict[str, object] = {
        "event_id": "01a207c3-7f70-70e9-b237-0ae56cbcedca",
        "stream_id": "m-1",
        "version": 3,
        "position": 17,
        "type": "bensys.registry.MigrantRegistered.v1",
        "subject": "m-1",
        "data": {"site": "Seenu Atoll", "note": "ދިވެހި"},
        "occurred_at": datetime(2026, 11, 23, 9, 30, 1, 123000, tzinfo=UTC),
        "actor": "registrar-1",
        "site": None,
        "correlation_id": "c-1",
        "causation_id": None,
        "traceparent": None,
        "chainhash": GENESIS,
    }
    values.update(changes)
    return StoredEvent(**values)  # type: ignore[arg-type]


def test_an_envelope_round_trips_and_leaves_absent_extensions_out() -> None:
    record = to_kafka_record(stored(), service="registry")
    names = [name for name, _ in record.headers]
    assert "ce_site" not in names
    assert "ce_causationid" not in names
    envelope = from_kafka_record(record.headers, record.value)
    assert envelope.sequence == 3
    assert envelope.time == datetime(2026, 11, 23, 9, 30, 1, 123000, tzinfo=UTC)
    assert envelope.data == {"site": "Seenu Atoll", "note": "ދިވެހި"}


@pytest.mark.parametrize(
    ("headers", "value", "problem"),
    [
        ([], b"{}", "ce_specversion"),
        ([("ce_specversion", b"1.0")], b"{}", "missing CloudEvents headers"),
        (None, b"[1, 2]", "not a JSON object"),
        (None, b"{not json", "unreadable"),
    ],
)
def test_a_message_that_is_not_a_bensys_cloudevent_is_named_malformed(
    headers: list[tuple[str, bytes]] | None, value: bytes, problem: str
) -> None:
    real = to_kafka_record(stored(), service="registry").headers
    with pytest.raises(MalformedEnvelope, match=problem):
        from_kafka_record(real if headers is None else headers, value)


class NameGivenV2(Event):
    producer: ClassVar[str] = "testing"
    event_type: ClassVar[str] = "NameGiven"
    event_version: ClassVar[int] = 2

    given_names: tuple[str, ...]


def test_an_old_version_is_read_through_its_upcaster_as_the_current_one() -> None:
    catalog = EventCatalog()
    catalog.register(NameGivenV2)
    catalog.register_upcaster(
        "bensys.testing.NameGiven.v1",
        NameGivenV2.ce_type(),
        lambda data: {"given_names": tuple(data["name"].split())},
    )
    event = catalog.decode("bensys.testing.NameGiven.v1", {"name": "Md Karim"})
    assert event == NameGivenV2(given_names=("Md", "Karim"))
    with pytest.raises(UnknownEventType):
        catalog.decode("bensys.testing.Unheard.v1", {})
    with pytest.raises(ValueError, match="registered twice"):
        catalog.register(type("NameGivenV2", (NameGivenV2,), {}))


def test_events_are_frozen() -> None:
    event = NameGivenV2(given_names=("A",))
    with pytest.raises(ValidationError):
        event.given_names = ("B",)  # type: ignore[misc]


def test_production_refuses_development_placeholders() -> None:
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(service_name="registry", environment="production")
    message = str(refused.value)
    assert "BENSYS_JWT_SECRET" in message
    assert "BENSYS_MASTER_KEY" in message
    assert ServiceSettings(service_name="registry").jwt_secret == DEV_JWT_SECRET


SAFE_PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "jwt_secret": "a-real-secret-of-the-programme-0123456789",
    "master_key": base64.b64encode(bytes(range(32))).decode(),
    "kafka_acks": "all",
    "kafka_enable_idempotence": True,
    "mongo_write_concern": "majority",
}


@pytest.mark.parametrize(
    ("unsafe", "named"),
    [
        ({"kafka_acks": 1}, "BENSYS_KAFKA_ACKS"),
        ({"kafka_enable_idempotence": False}, "BENSYS_KAFKA_ENABLE_IDEMPOTENCE"),
        ({"mongo_write_concern": "1"}, "BENSYS_MONGO_WRITE_CONCERN"),
        ({"jwt_secret": DEV_JWT_SECRET}, "BENSYS_JWT_SECRET is the development placeholder"),
        ({"jwt_secret": "short-secret"}, "BENSYS_JWT_SECRET must be at least 32"),
        ({"master_key": DEV_MASTER_KEY}, "BENSYS_MASTER_KEY"),
    ],
)
def test_production_refuses_each_unsafe_setting_by_name(unsafe: dict[str, Any], named: str) -> None:
    assert ServiceSettings(service_name="registry", **SAFE_PRODUCTION).environment == "production"
    with pytest.raises(ValidationError) as refused:
        ServiceSettings(service_name="registry", **(SAFE_PRODUCTION | unsafe))
    assert named in str(refused.value)
    assert "refusing to start in production" in str(refused.value)


def test_a_master_key_must_be_32_bytes_of_base64() -> None:
    with pytest.raises(ValidationError, match="32 bytes"):
        ServiceSettings(service_name="registry", master_key="c2hvcnQ=")


def test_partners_see_small_cells_and_any_total_that_would_reveal_them_suppressed() -> None:
    rows = [
        {"site": "Kdh Atoll", "sex": "female", "count": 3},
        {"site": "Kdh Atoll", "sex": "male", "count": 40},
    ]
    shown = suppress_small_cells(rows, threshold=5)
    assert [r["count"] for r in shown["by_site_and_sex"]] == ["<5", 40]
    assert shown["total"] is None  # 43 - 40 would give the hidden 3 away
    assert suppress_small_cells(rows[1:], threshold=5)["total"] == 40
