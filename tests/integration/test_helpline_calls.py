"""Helpline calls over HTTP on a real MongoDB: logged once per client id whoever called,
personal data sealed wherever it is stored, listed a page at a time, and linked to a record
later. The routes run in an app without its lifespan, so no broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from bson import json_util
from fastapi import FastAPI

from services.helpline import calls_api
from services.helpline.call_log import CallLog
from services.helpline.context import Helpline
from services.helpline.settings import HelplineSettings
from shared.auth import TokenVerifier, mint_token
from shared.bencard.numbers import format_card_number, new_card_number
from shared.contracts.base import Event
from shared.contracts.cards import CardIssued
from shared.contracts.registry import ConsentGiven, MigrantErased, MigrantRegistered
from shared.http.errors import install_error_handlers
from shared.messaging.envelope import Envelope
from shared.observability.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SITE = "Seenu Atoll"
TOKEN = mint_token(secret=DEV_JWT_SECRET, role="helpline", subject="operator-1")


@pytest.fixture
async def helpline(
    mongo_url_: str, kafka_bootstrap: str, namespace: str, db_name: str
) -> AsyncIterator[Helpline]:
    settings = HelplineSettings(
        mongo_url=mongo_url_,
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=namespace,
        mongo_database=db_name,
        vault_database=f"{db_name}_vault",
    )
    runtime = ServiceRuntime(settings, ServiceMetrics())  # the broker is never started here
    context = Helpline.on(runtime)
    await runtime.store.ensure_indexes()
    await runtime.vault.ensure_indexes()
    await CallLog(runtime.mongo, settings.database).ensure_indexes()
    try:
        yield context
    finally:
        await runtime.stop()


@pytest.fixture
async def http(helpline: Helpline) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(secret=DEV_JWT_SECRET)
    app.state.helpline = helpline
    app.include_router(calls_api.router)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c


async def project(helpline: Helpline, event: Event, subject: str) -> None:
    """Deliver another service's event to the helpline's facts, as its consumer would."""
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source=f"/bensys/{event.producer}",
        type=event.ce_type(),
        subject=subject,
        time=NOW,
        sequence=1,
        actor="registrar-1",
        site=SITE,
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        chainhash="",
        traceparent=None,
        data=event.to_data(),
    )
    apply = helpline.facts.projectors()[event.ce_type()]
    async with helpline.runtime.mongo.start_session() as session:

        async def in_transaction(session: Any) -> None:
            await apply(envelope, event, session)

        await session.with_transaction(in_transaction)


async def known_person(helpline: Helpline, *, card: bool = False) -> tuple[str, str | None]:
    """A registered person (and their BenCard number), as the helpline learns them."""
    migrant_id = str(uuid.uuid4())
    seal = helpline.runtime.cipher.seal
    await project(
        helpline,
        MigrantRegistered(
            migrant_id=migrant_id,
            full_name=await seal(migrant_id, "Abdul Karim"),
            approximate_birth_year=await seal(migrant_id, "1990"),
            sex="male",
            age_band="35-44",
            nationality="BD",
            preferred_languages=("bn",),
            site=SITE,
            consent=ConsentGiven(purposes=("registration",), method="verbal", notice_language="bn"),
            issue_card=card,
            registered_by="registrar-1",
            registered_at=NOW,
        ),
        migrant_id,
    )
    if not card:
        return migrant_id, None
    number = new_card_number()
    await project(
        helpline,
        CardIssued(
            migrant_id=migrant_id,
            card_number=number,
            printed_name=await seal(migrant_id, "ABDUL KARIM"),
            sex="male",
            issued_at=NOW,
            expires_at=NOW + timedelta(days=730),
            key_id="issuer-1",
            site=SITE,
            trigger="registration",
            issued_by="system:cards",
        ),
        migrant_id,
    )
    return migrant_id, number


def a_call(caller: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "client_id": str(uuid.uuid4()),
        "direction": "incoming",
        "started_at": "2026-11-20T14:00:00+05:00",
        "duration_seconds": 300,
        "answered": True,
        "language": "bn",
        "caller": caller,
        "categories": ["vaccination", "information"],
        "services_requested": ["vaccination_support"],
        "services_provided": [],
        "information_given": "vaccination centre hours",
        "notes": "Worried about the second dose; works nights at the harbour.",
        "follow_up_needed": True,
        "site": SITE,
    } | changes


async def stored_text(helpline: Helpline) -> str:
    """Everything the helpline's database holds, as one text to search."""
    database = helpline.runtime.mongo[helpline.settings.database]
    names = await database.list_collection_names()
    assert {"events", "commands", "calls"} <= set(names)
    docs = [doc for name in names for doc in await database[name].find().to_list()]
    return json_util.dumps(docs)


async def test_a_known_persons_calls_are_theirs_and_sealed_with_their_key(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # Given a registered person who calls twice
    migrant_id, _ = await known_person(helpline)
    first = await http.post("/calls", json=a_call({"migrant_id": migrant_id}))
    second = await http.post(
        "/calls",
        json=a_call(
            {"migrant_id": migrant_id}, answered=False, duration_seconds=0, information_given=None
        ),
    )
    # Then both are logged on their stream, and the operator reads the notes back
    assert (first.status_code, second.status_code) == (201, 201), second.text
    call = first.json()
    assert (call["caller"], call["migrant_id"], call["phone"]) == ("migrant", migrant_id, None)
    assert call["notes"].startswith("Worried about the second dose")
    assert call["started_at"] == "2026-11-20T09:00:00Z"
    stored = await helpline.runtime.store.load(migrant_id)
    assert [(e.version, e.subject) for e in stored] == [(1, migrant_id), (2, migrant_id)]
    assert stored[0].data["notes"]["kid"] == migrant_id
    assert "second dose" not in await stored_text(helpline)


async def test_calls_from_one_person_at_once_all_land_on_their_stream(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    migrant_id, _ = await known_person(helpline)
    answers = await asyncio.gather(
        *(http.post("/calls", json=a_call({"migrant_id": migrant_id})) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [201, 201, 201]
    stored = await helpline.runtime.store.load(migrant_id)
    assert [e.version for e in stored] == [1, 2, 3]


async def test_a_card_number_read_out_finds_its_holder(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    migrant_id, number = await known_person(helpline, card=True)
    assert number is not None
    spoken = format_card_number(number).lower()
    logged = await http.post("/calls", json=a_call({"card_number": spoken}))
    assert logged.status_code == 201, logged.text
    assert (logged.json()["migrant_id"], logged.json()["card_number"]) == (migrant_id, number)
    mistyped = await http.post("/calls", json=a_call({"card_number": number[:-1]}))
    assert mistyped.status_code == 422
    assert "a card number has 11 characters" in mistyped.json()["error"]["message"]


async def test_a_phone_only_caller_gets_a_key_of_their_own_and_the_number_is_stored_sealed(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # Given a caller known only by a local number
    logged = await http.post("/calls", json=a_call({"phone": "777 1234"}))
    assert logged.status_code == 201, logged.text
    call = logged.json()
    # Then the operator reads it in E.164, and it is sealed under the call's own key
    assert (call["caller"], call["phone"], call["migrant_id"]) == (
        "phone_only",
        "+9607771234",
        None,
    )
    [event] = await helpline.runtime.store.load(f"call:{call['call_id']}")
    assert event.subject == f"call:{call['call_id']}"
    assert event.data["phone"]["kid"] == event.data["notes"]["kid"] == f"call:{call['call_id']}"
    # And the plain number appears in no stored document: events, commands or the call log
    text = await stored_text(helpline)
    assert "vaccination centre hours" in text  # what is not personal data travels in clear
    assert "7771234" not in text
    assert "777 1234" not in text


async def test_an_anonymous_call_is_a_subject_of_its_own(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    logged = await http.post("/calls", json=a_call({"anonymous": True}, notes=None))
    assert logged.status_code == 201, logged.text
    call = logged.json()
    assert (call["caller"], call["phone"], call["notes"]) == ("anonymous", None, None)
    [event] = await helpline.runtime.store.load(f"call:{call['call_id']}")
    assert event.type == "bensys.helpline.CallLogged.v1"
    assert await helpline.runtime.vault.get_key(f"call:{call['call_id']}") is None  # none needed


async def test_a_retry_with_the_same_client_id_is_a_no_op(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    body = a_call({"phone": "+960 777 1234"})
    first = await http.post("/calls", json=body)
    retry = await http.post("/calls", json=body)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    changed = await http.post("/calls", json=body | {"duration_seconds": 30})
    assert changed.status_code == 422
    assert changed.json()["error"]["details"]["call_id"] == first.json()["call_id"]
    listed = (await http.get("/calls")).json()
    assert [c["call_id"] for c in listed["items"]] == [first.json()["call_id"]]


async def test_calls_are_listed_newest_first_by_category_language_and_date(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # Given five calls an hour apart, alternating Bengali and Nepali, one a legal question
    start = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
    ids = []
    for hour in range(5):
        changes = {
            "started_at": (start + timedelta(hours=hour)).isoformat(),
            "language": "bn" if hour % 2 == 0 else "ne",
            "categories": ["legal"] if hour == 3 else ["information"],
        }
        logged = await http.post("/calls", json=a_call({"anonymous": True}, **changes))
        assert logged.status_code == 201, logged.text
        ids.append(logged.json()["call_id"])
    # When they are listed two at a time
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"limit": "2"} | ({} if cursor is None else {"cursor": cursor})
        page = (await http.get("/calls", params=params)).json()
        seen += [c["call_id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Then three pages show each once, newest first
    assert (pages, seen) == (3, list(reversed(ids)))

    async def listed(**params: str) -> list[str]:
        answer = await http.get("/calls", params=params)
        assert answer.status_code == 200, answer.text
        return [c["call_id"] for c in answer.json()["items"]]

    assert await listed(category="legal") == [ids[3]]
    assert await listed(language="ne") == [ids[3], ids[1]]
    assert await listed(language="bn", limit="1") == [ids[4]]
    window = {"from": "2026-11-20T07:00:00+02:00", "to": "2026-11-20T07:00:00Z"}
    assert await listed(**window) == [ids[2], ids[1]]
    assert await listed(**{"from": "2026-11-20T07:00:00"}) == [ids[4], ids[3]]
    assert await listed(**{"to": "2026-11-20"}) == []
    assert (await http.get("/calls", params={"cursor": "nope"})).status_code == 422
    backwards = await http.get("/calls", params={"from": "2026-11-21", "to": "2026-11-20"})
    assert backwards.status_code == 422


async def test_an_anonymous_call_linked_later_is_listed_under_the_person(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # Given a call from someone not yet registered, who registers afterwards
    call = (await http.post("/calls", json=a_call({"phone": "+9607771234"}))).json()
    migrant_id, _ = await known_person(helpline)
    # When the operator links the call to the new record
    linked = await http.post(f"/calls/{call['call_id']}/link", json={"migrant_id": migrant_id})
    # Then the call is theirs, still readable under its own key, and listed under them
    assert linked.status_code == 200, linked.text
    shown = linked.json()
    assert (shown["migrant_id"], shown["linked_by"], shown["phone"]) == (
        migrant_id,
        "operator-1",
        "+9607771234",
    )
    assert shown["notes"] == call["notes"]
    mine = (await http.get(f"/migrants/{migrant_id}/calls")).json()
    assert ([c["call_id"] for c in mine["items"]], mine["next_cursor"]) == ([call["call_id"]], None)
    stored = await helpline.runtime.store.load(f"call:{call['call_id']}")
    assert [(e.version, e.subject) for e in stored] == [
        (1, f"call:{call['call_id']}"),
        (2, migrant_id),
    ]
    assert stored[1].type == "bensys.helpline.CallLinked.v1"
    # And linking it again, to anyone, is refused naming the record it has
    other, _ = await known_person(helpline)
    again = await http.post(f"/calls/{call['call_id']}/link", json={"migrant_id": other})
    assert again.status_code == 409
    assert again.json()["error"]["details"]["migrant_id"] == migrant_id
    assert migrant_id in again.json()["error"]["message"]


async def test_a_call_logged_for_a_person_cannot_be_linked_to_another(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    migrant_id, _ = await known_person(helpline)
    call = (await http.post("/calls", json=a_call({"migrant_id": migrant_id}))).json()
    other, _ = await known_person(helpline)
    refused = await http.post(f"/calls/{call['call_id']}/link", json={"migrant_id": other})
    assert refused.status_code == 409
    assert refused.json()["error"]["details"]["migrant_id"] == migrant_id
    missing = await http.post("/calls/nope/link", json={"migrant_id": other})
    assert missing.status_code == 404
    unknown = await http.post(
        f"/calls/{(await http.post('/calls', json=a_call({'anonymous': True}))).json()['call_id']}"
        "/link",
        json={"migrant_id": str(uuid.uuid4())},
    )
    assert (unknown.status_code, unknown.headers["Retry-After"]) == (409, "2")


async def test_refusals_say_what_to_do(helpline: Helpline, http: httpx.AsyncClient) -> None:
    unknown_service = await http.post(
        "/calls", json=a_call({"anonymous": True}, services_requested=["visa_help"])
    )
    assert unknown_service.status_code == 422
    error = unknown_service.json()["error"]
    assert error["message"].startswith("unknown service 'visa_help': use one of food_parcel")
    assert "vaccination_support" in error["details"]["known_services"]
    never_registered = await http.post("/calls", json=a_call({"migrant_id": str(uuid.uuid4())}))
    assert (never_registered.status_code, never_registered.headers["Retry-After"]) == (409, "2")
    assert never_registered.json()["error"]["code"] == "not_yet_known"
    unknown_card = await http.post("/calls", json=a_call({"card_number": new_card_number()}))
    assert (unknown_card.status_code, unknown_card.headers["Retry-After"]) == (409, "2")
    two_callers = await http.post(
        "/calls", json=a_call({"anonymous": True, "phone": "+9607771234"})
    )
    assert two_callers.status_code == 422
    assert "give exactly one of migrant_id, card_number, phone" in two_callers.text
    erased, _ = await known_person(helpline)
    await project(
        helpline,
        MigrantErased(
            migrant_id=erased, reason="person_request", erased_by="admin-1", erased_at=NOW
        ),
        erased,
    )
    assert (await http.post("/calls", json=a_call({"migrant_id": erased}))).status_code == 410
    distributor = mint_token(secret=DEV_JWT_SECRET, role="distributor", site=SITE)
    forbidden = await http.get("/calls", headers={"Authorization": f"Bearer {distributor}"})
    assert forbidden.status_code == 403


async def reads_recorded(helpline: Helpline) -> list[tuple[str, dict[str, Any]]]:
    """Every CallDetailsRead the helpline stored, oldest first, with its subject."""
    events = helpline.runtime.mongo[helpline.settings.database]["events"]
    cursor = events.find({"type": "bensys.helpline.CallDetailsRead.v1"}, sort=[("_id", 1)])
    return [(doc["subject"], doc["data"]) async for doc in cursor]


async def test_every_answer_that_shows_a_phone_or_notes_is_recorded_as_a_read(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # Given a registered person's call, a phone-only caller's and an anonymous one without notes
    migrant_id, _ = await known_person(helpline)
    theirs = (await http.post("/calls", json=a_call({"migrant_id": migrant_id}))).json()
    phoned_body = a_call({"phone": "+9607771234"})
    phoned = (await http.post("/calls", json=phoned_body)).json()
    silent = await http.post("/calls", json=a_call({"anonymous": True}, notes=None))
    assert silent.status_code == 201, silent.text
    # Then logging them recorded no read: each answer only echoed what the operator typed
    assert await reads_recorded(helpline) == []
    # But a retry's answer shows what is stored now, to whoever retried: that is a read
    assert (await http.post("/calls", json=phoned_body)).status_code == 200
    [(subject, retry)] = await reads_recorded(helpline)
    assert (subject, retry["purpose"], retry["call_ids"]) == (
        f"call:{phoned['call_id']}",
        "call_retried",
        [phoned["call_id"]],
    )
    assert (retry["reader"], retry["role"]) == ("operator-1", "helpline")
    # When the operator lists every call, and then the person's
    assert len((await http.get("/calls")).json()["items"]) == 3
    assert len((await http.get(f"/migrants/{migrant_id}/calls")).json()["items"]) == 1
    # Then one read per answer names the calls whose details it showed, and their callers
    listing, person = (await reads_recorded(helpline))[1:]
    assert listing[0].startswith("reads:")  # several callers: the read is a subject of its own
    assert set(listing[1]["call_ids"]) == {theirs["call_id"], phoned["call_id"]}
    assert set(listing[1]["subjects"]) == {migrant_id, f"call:{phoned['call_id']}"}
    assert (listing[1]["purpose"], listing[1]["erased"]) == ("call_list", [])
    assert (person[0], person[1]["purpose"]) == (migrant_id, "person_calls")
    # And once the person is erased, a read shows nothing of theirs and says so
    await helpline.runtime.vault.destroy_key(migrant_id)
    again = (await http.get(f"/migrants/{migrant_id}/calls")).json()["items"]
    assert (again[0]["notes"], again[0]["phone"]) == (None, None)
    last = (await reads_recorded(helpline))[-1][1]
    assert last["erased"] == [theirs["call_id"]]
