"""The partner feed on the whole running system: canary people go in through the public APIs,
and none of their personal data comes out on the partner topic, in a partner's exports or in
any log line; every message on every topic parses with the CloudEvents SDK."""

from __future__ import annotations

import asyncio
import io
import json
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pypdfium2  # type: ignore[import-untyped]
import pytest
from aiokafka import AIOKafkaConsumer
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat

from tests.system.harness import RunningBenSys, auth, person, wait_for
from tests.system.test_cards import active_card, register

pytestmark = pytest.mark.system

SITE = "Kdh Atoll"
IOM_SECRET = "iom-secret-for-the-canary-test-0123456789"
WHO_SECRET = "who-secret-for-the-canary-test-9876543210"
CANARY_NAME = "Zephyrine Canarywattana"
CANARY_PHONE = "+9607301234"
CANARY: dict[str, Any] = {
    "full_name": CANARY_NAME,
    "phone": CANARY_PHONE,
    "date_of_birth": "1988-02-29",
    "address": "Canarygas Villa, Kulhudhuffushi",
    "employer": "Canaryworks Construction",
    "identity_document": {"type": "passport", "number": "CANARYPP77", "issuing_country": "BD"},
}
CALL_NOTES = "canarynote: lives behind the Canarygas fish market"
PERSONAL = (
    "Zephyrine",
    "Canarywattana",
    "9607301234",
    "1988-02-29",
    "Canarygas",
    "Canaryworks",
    "CANARYPP77",
    "canarynote",
)
"""The canary's personal data: none of it may appear anywhere a partner or a log can see."""


def partners_dir(root: Path) -> Path:
    folder = root / "partners"
    folder.mkdir()
    (folder / "iom.toml").write_text(
        'name = "IOM Maldives"\nsecret_env = "BENSYS_TEST_IOM_SECRET"\n'
        'events = ["PersonRegistered", "CardIssued", "DoseGiven", "ServiceDelivered", '
        '"CallLogged"]\n'
    )
    (folder / "who.toml").write_text(
        'name = "Health partner"\nsecret_env = "BENSYS_TEST_WHO_SECRET"\nevents = ["DoseGiven"]\n'
    )
    return folder


async def read_everything(bootstrap: str) -> dict[str, list[Any]]:
    """Every record of every topic on the broker, from the beginning."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if not t.startswith("__"))
        consumer.subscribe(topics)
        records: dict[str, list[Any]] = {topic: [] for topic in topics}
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < 3:
            batch = await consumer.getmany(timeout_ms=500)
            for partition, got in batch.items():
                records[partition.topic] += got
                quiet_since = time.monotonic()
        return records
    finally:
        await consumer.stop()


def record_text(record: Any) -> str:
    headers = " ".join(f"{k}={v.decode(errors='replace')}" for k, v in record.headers)
    key = (record.key or b"").decode(errors="replace")
    return f"{key} {headers} {(record.value or b'').decode(errors='replace')}"


def export_text(system: RunningBenSys, month: str, kind: str) -> str:
    response = httpx.get(
        f"{system.reporting}/reports/monthly",
        params={"month": month, "format": kind},
        headers=auth("partner"),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    if kind == "xlsx":
        with zipfile.ZipFile(io.BytesIO(response.content)) as book:
            return " ".join(book.read(name).decode(errors="replace") for name in book.namelist())
    if kind == "pdf":
        pdf = pypdfium2.PdfDocument(response.content)
        return " ".join(page.get_textpage().get_text_range() for page in pdf)
    return response.text


def test_canary_people_never_reach_partners_exports_or_logs(
    bensys_up: RunningBenSys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BENSYS_PARTNERS_DIR", str(partners_dir(tmp_path)))
    monkeypatch.setenv("BENSYS_TEST_IOM_SECRET", IOM_SECRET)
    monkeypatch.setenv("BENSYS_TEST_WHO_SECRET", WHO_SECRET)
    bensys_up.start()

    # Given a canary person registered with every piece of personal data, carded, vaccinated,
    # given a food parcel, and calling the helpline about it
    migrant_id = register(
        bensys_up, {**person(CANARY_NAME, "female", SITE), **CANARY, "issue_card": True}
    )
    number = active_card(bensys_up, migrant_id)["card_number"]
    dose = httpx.post(
        f"{bensys_up.cards}/cards/{number}/doses",
        json={
            "vaccine": "measles_rubella",
            "dose_number": 1,
            "administered_on": "2026-11-20",
            "centre": "Kulhudhuffushi Regional Hospital",
        },
        headers={**auth("health_provider", SITE), "Idempotency-Key": "canary-dose"},
        timeout=30,
    )
    assert dose.status_code == 201, dose.text
    wait_for(
        lambda: httpx.post(
            f"{bensys_up.distribution}/deliveries",
            json={
                "client_id": "canary-parcel",
                "card_number": number,
                "service": "food_parcel",
                "site": SITE,
            },
            headers=auth("distributor", SITE),
            timeout=30,
        ),
        lambda r: r.status_code in (200, 201),
        what="the parcel (once distribution knows the card)",
    )

    def call(client_id: str, caller: dict[str, str]) -> httpx.Response:
        return httpx.post(
            f"{bensys_up.helpline}/calls",
            json={
                "client_id": client_id,
                "direction": "incoming",
                "started_at": "2026-11-20T04:00:00Z",
                "duration_seconds": 200,
                "answered": True,
                "language": "bn",
                "caller": caller,
                "categories": ["relief_request"],
                "services_requested": ["food_parcel"],
                "services_provided": [],
                "notes": CALL_NOTES,
                "follow_up_needed": False,
            },
            headers=auth("helpline"),
            timeout=30,
        )

    wait_for(
        lambda: call("canary-call-1", {"migrant_id": migrant_id}),
        lambda r: r.status_code in (200, 201),
        what="the call (once the helpline knows the canary)",
    )
    from_phone = call("canary-call-2", {"phone": CANARY_PHONE})
    assert from_phone.status_code == 201, from_phone.text

    # When the partner feed has carried what each partner subscribed to
    bootstrap = f"127.0.0.1:{bensys_up.kafka_port}"
    deadline = time.monotonic() + 90
    while True:
        topics = asyncio.run(read_everything(bootstrap))
        feed = topics.get("bensys.partner.v1", [])
        kinds = sorted(
            (dict(r.headers)["ce_partner"].decode(), dict(r.headers)["ce_type"].decode())
            for r in feed
        )
        if len(kinds) >= 7 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert kinds == [
        ("iom", "bensys.partner.CallLogged.v1"),
        ("iom", "bensys.partner.CallLogged.v1"),
        ("iom", "bensys.partner.CardIssued.v1"),
        ("iom", "bensys.partner.DoseGiven.v1"),
        ("iom", "bensys.partner.PersonRegistered.v1"),
        ("iom", "bensys.partner.ServiceDelivered.v1"),
        ("who", "bensys.partner.DoseGiven.v1"),
    ], kinds

    # Then every message on every topic parses with the CloudEvents SDK's Kafka binding
    parsed = 0
    for topic, records in topics.items():
        for record in records:
            event = from_binary(
                KafkaMessage(headers=dict(record.headers), key=record.key, value=record.value),
                JSONFormat(),
            )
            assert event.get_specversion() == "1.0", topic
            assert event.get_id()
            assert event.get_type().startswith("bensys."), topic
            assert event.get_data() == json.loads(record.value), topic
            parsed += 1
    assert parsed > len(feed)

    # And no partner message carries the canary's personal data, ids or card number
    for record in feed:
        text = record_text(record)
        for secret in (*PERSONAL, migrant_id, number):
            assert secret not in text, f"{secret!r} reached the partner feed"
    # And the two partners know the canary under different names
    iom_person = next(
        json.loads(r.value)["person"] for r in feed if dict(r.headers)["ce_partner"] == b"iom"
    )
    who_person = next(
        json.loads(r.value)["person"] for r in feed if dict(r.headers)["ce_partner"] == b"who"
    )
    assert iom_person != who_person

    # And a partner's exports of the month carry none of it either
    for kind in ("json", "csv", "xlsx", "pdf"):
        text = export_text(bensys_up, "2026-11", kind)
        assert text.strip()
        for secret in (*PERSONAL, migrant_id, number):
            assert secret not in text, f"{secret!r} is in the partner's {kind} export"

    # And no service wrote any of the canary's personal data in a log line
    logs = sorted((bensys_up.data_dir / "logs").glob("*.log"))
    assert {log.stem for log in logs} >= {"registry", "cards", "distribution", "helpline"}
    for log in logs:
        for number_, line in enumerate(log.read_text(errors="replace").splitlines(), 1):
            for secret in PERSONAL:
                assert secret not in line, f"{log.name}:{number_} logs {secret!r}"
