"""Rebuilding reporting from the log on a real broker and database: the rebuilt views equal
the live ones after duplicates, a consumer restart and a poison message, and the swap sends
both reports and the live consumer to the new views at once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from services.reporting.admin_api import REBUILDING
from services.reporting.reading import zone_of
from services.reporting.rebuild import TopicReader
from services.reporting.views import COLLECTIONS, ReportingViews, live_database
from shared.contracts.base import Event, Sealed
from shared.contracts.cards import CardIssued
from shared.contracts.catalog import CATALOG
from shared.contracts.distribution import DeliveryVoided, ServiceDelivered
from shared.contracts.helpline import CallLogged
from shared.contracts.registry import ConsentGiven, MigrantRegistered, MigrantsMerged
from shared.eventstore.building import build_stored_events
from shared.eventstore.chain import GENESIS
from shared.eventstore.model import EventMetadata, PendingEvent
from shared.messaging.consumer import IdempotentConsumer, ReceivedMessage
from shared.messaging.envelope import KafkaRecord, to_kafka_record
from shared.messaging.faststream_wiring import FastStreamDeadLetters
from shared.runtime import ServiceRuntime
from tests.integration.reporting_harness import MORNING, as_role, http, runtime

pytestmark = pytest.mark.integration
__all__ = ["http", "runtime"]  # fixtures
SITE = "Kdh Atoll"
SEALED = Sealed(kid="k", iv="aXY", ct="Y3Q")


def record(event: Event, subject: str, minutes: int) -> KafkaRecord:
    [stored] = build_stored_events(
        stream_id=subject,
        first_version=1,
        first_position=1,
        previous_chainhash=GENESIS,
        events=[PendingEvent(type=event.ce_type(), data=event.to_data(), subject=subject)],
        metadata=EventMetadata(actor="someone", site=SITE),
        occurred_at=MORNING + timedelta(minutes=minutes),
    )
    return to_kafka_record(stored, service=event.producer)


def a_programme_day() -> list[tuple[str, KafkaRecord]]:
    """Registrations, a merge, a card, deliveries and a void, a call: (producer, record)."""
    people = [str(uuid.uuid4()) for _ in range(6)]
    log: list[tuple[str, KafkaRecord]] = []
    for minute, person in enumerate(people):
        registered = MigrantRegistered(
            migrant_id=person,
            full_name=SEALED,
            approximate_birth_year=SEALED,
            sex="female" if minute % 2 else "male",
            age_band="25-34",
            nationality="BD",
            preferred_languages=("bn",),
            site=SITE,
            consent=ConsentGiven(purposes=("registration",), method="verbal", notice_language="bn"),
            issue_card=False,
            registered_by="registrar-1",
            registered_at=MORNING,
        )
        log.append(("registry", record(registered, person, minute)))
    merged = MigrantsMerged(
        absorbed_id=people[5],
        survivor_id=people[4],
        score=0.9,
        reason="same person",
        merged_by="registrar-1",
        merged_at=MORNING,
    )
    log.append(("registry", record(merged, people[5], 10)))
    card = CardIssued(
        migrant_id=people[0],
        card_number="K7MR4XQ2PNC",
        printed_name=SEALED,
        sex="male",
        issued_at=MORNING,
        expires_at=MORNING + timedelta(days=730),
        key_id="issuer-1",
        site=SITE,
        trigger="registration",
        issued_by="system:cards",
    )
    log.append(("cards", record(card, people[0], 11)))
    deliveries = [
        ServiceDelivered(
            delivery_id=str(uuid.uuid4()),
            client_id=str(uuid.uuid4()),
            migrant_id=person,
            service="food_parcel",
            quantity=1,
            unit="parcel",
            site=SITE,
            delivered_at=MORNING,
            delivered_by="distributor-1",
        )
        for person in people[:4]
    ]
    log += [("distribution", record(d, d.migrant_id or "", 12)) for d in deliveries]
    void = DeliveryVoided(
        delivery_id=deliveries[0].delivery_id,
        migrant_id=people[0],
        reason="given twice",
        voided_by="manager-1",
        voided_at=MORNING,
    )
    log.append(("distribution", record(void, people[0], 13)))
    call = CallLogged(
        call_id="c-1",
        client_id="console-1",
        direction="incoming",
        started_at=MORNING,
        duration_seconds=120,
        answered=True,
        language="bn",
        caller="anonymous",
        categories=("information",),
        follow_up_needed=False,
        site=SITE,
        logged_by="operator-1",
    )
    log.append(("helpline", record(call, "call:c-1", 14)))
    return log


def poison() -> KafkaRecord:
    """A registration whose body no version of the contract accepts."""
    good = record(
        MigrantsMerged(
            absorbed_id="a", survivor_id="b", score=1, reason="r", merged_by="x", merged_at=MORNING
        ),
        "a",
        20,
    )
    headers = [
        (name, b"bensys.registry.MigrantRegistered.v1" if name == "ce_type" else value)
        for name, value in good.headers
    ]
    return KafkaRecord(key=good.key, value=b'{"migrant_id": "a"}', headers=headers)


async def publish(runtime: ServiceRuntime, records: list[tuple[str, KafkaRecord]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=runtime.settings.kafka_bootstrap)
    await producer.start()
    try:
        for producer_name, kafka_record in records:
            await producer.send_and_wait(
                runtime.settings.topic(producer_name),
                kafka_record.value,
                key=kafka_record.key,
                headers=kafka_record.headers,
            )
    finally:
        await producer.stop()


async def views_of(runtime: ServiceRuntime, database: str) -> dict[str, list[dict[str, Any]]]:
    """Every read model in a generation, each sorted by id; tracking records left out."""
    db = runtime.mongo[database]
    names = sorted(n for n in await db.list_collection_names() if n != "consumer_tracking")
    return {name: await db[name].find(sort=[("_id", 1)]).to_list() for name in names}


def topics(runtime: ServiceRuntime) -> list[str]:
    return [runtime.settings.topic(p) for p in ("registry", "cards", "distribution", "helpline")]


async def test_rebuilt_views_equal_the_live_ones_and_are_swapped_in_at_once(
    runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    # Given a day of every service on the topics, one registration sent twice, and a poison
    log = a_programme_day()
    await publish(runtime, [*log[:3], log[1], ("registry", poison()), *log[3:]])
    await runtime.broker.connect()  # the live consumer dead-letters the poison for real
    [live] = runtime.consumers
    base = runtime.settings.database

    # And the live consumer applied them, restarting halfway: the new process re-reads all
    first_life = IdempotentConsumer(
        client=runtime.mongo,
        database=base,
        group=live.group,
        projectors=ReportingViews.on(runtime.mongo, base, zone_of(runtime.settings)).projectors(),
        catalog=CATALOG,
        dead_letters=FastStreamDeadLetters(runtime.broker),
    )
    applied = 0

    async def until_half(messages: Sequence[ReceivedMessage]) -> None:
        nonlocal applied
        for message in messages:
            if applied < len(log) // 2:
                await first_life.handle(message)
                applied += 1

    for handle in (until_half, live.handle_batch):
        reader = TopicReader(runtime.settings.kafka_bootstrap, topics(runtime))
        await reader.start()
        try:
            await reader.read_to_end(handle)
        finally:
            await reader.stop()
    before = await views_of(runtime, base)
    report_before = (
        await http.get("/reports/monthly", params={"month": "2026-11"}, headers=as_role("admin"))
    ).json()
    assert report_before["people"]["registered_to_date"]["total"] == 5  # six, one merged

    # When an admin rebuilds reporting from the log
    answer = await http.post("/admin/rebuild", headers=as_role("admin"), timeout=120)
    assert answer.status_code == 200, answer.text
    result = answer.json()

    # Then every message was read, the duplicate counted once, the poison skipped and named
    assert result["messages"] == len(log) + 2
    assert result["outcomes"]["applied"] == len(log)
    assert result["outcomes"]["duplicate"] == 1
    [skipped] = result["skipped"]
    assert "undecodable event" in skipped["reason"]
    # And the rebuilt views are exactly the live ones
    assert result["previous"] == base
    assert await live_database(runtime.mongo, base) == result["database"]
    assert await views_of(runtime, result["database"]) == before
    # And reports now read the new views, and answer as before
    report_after = (
        await http.get("/reports/monthly", params={"month": "2026-11"}, headers=as_role("admin"))
    ).json()
    assert report_after == report_before
    # And the live consumer writes into them: a message it already had counts once, a new one
    reader = TopicReader(runtime.settings.kafka_bootstrap, topics(runtime))
    await reader.start()
    try:
        await reader.read_to_end(live.handle_batch)
    finally:
        await reader.stop()
    assert await views_of(runtime, result["database"]) == before
    # And the old generation's views are gone from the service's own database
    assert set(await runtime.mongo[base].list_collection_names()).isdisjoint(COLLECTIONS)
    assert set(before) <= set(COLLECTIONS)  # every view is part of a generation
    # And a second rebuild while one runs is refused, not queued
    async with REBUILDING:
        busy = await http.post("/admin/rebuild", headers=as_role("admin"))
    assert busy.status_code == 409
    assert "already running" in busy.json()["error"]["message"]
    # And only an admin may rebuild
    refused = await http.post("/admin/rebuild", headers=as_role("manager"))
    assert refused.status_code == 403
