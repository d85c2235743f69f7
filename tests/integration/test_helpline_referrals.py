"""Referrals and follow-ups over HTTP on a real MongoDB: consent decides who may be referred, an
admin's override is written into the event, a partner's answers come in order, late follow-ups
are listed, and every list pages to its end. The routes run in an app without its lifespan, so
no broker; what the helpline knows of the registry is projected as its consumer would."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.helpline import follow_ups_api, partners_api, referrals_api
from services.helpline.case_book import FollowUps, Referrals
from services.helpline.context import Helpline
from services.helpline.partners import load_partners
from services.helpline.settings import HelplineSettings
from shared.auth import TokenVerifier, mint_token
from shared.contracts.base import Event
from shared.contracts.registry import (
    ConsentGiven,
    ConsentPurpose,
    ConsentRecorded,
    MigrantRegistered,
)
from shared.eventstore.model import utc_now
from shared.http.errors import install_error_handlers
from shared.messaging.envelope import Envelope
from shared.observability.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
OPERATOR = {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role='helpline')}"}
ADMIN = {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role='admin')}"}
PARTNER = {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role='partner')}"}


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
    await Referrals(runtime.mongo, settings.database).ensure_indexes()
    await FollowUps(runtime.mongo, settings.database).ensure_indexes()
    try:
        yield context
    finally:
        await runtime.stop()


@pytest.fixture
def app(helpline: Helpline) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(secret=DEV_JWT_SECRET)
    app.state.helpline = helpline
    app.state.partners = load_partners(services=helpline.catalogue.codes)
    app.include_router(partners_api.router)
    app.include_router(referrals_api.router)
    app.include_router(follow_ups_api.router)
    return app


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=OPERATOR) as c:
        yield c


async def deliver(helpline: Helpline, event: Event, migrant_id: str) -> None:
    """Apply a registry event as the helpline's consumer would: in a transaction."""
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="/bensys/registry",
        type=event.ce_type(),
        subject=migrant_id,
        time=NOW,
        sequence=1,
        actor="registrar-1",
        site="Malé",
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        chainhash="",
        traceparent=None,
        data=event.to_data(),
    )
    project = helpline.facts.projectors()[event.ce_type()]
    async with helpline.runtime.mongo.start_session() as session:

        async def apply(session: Any) -> None:
            await project(envelope, event, session)

        await session.with_transaction(apply)


async def known_person(helpline: Helpline, *purposes: ConsentPurpose) -> str:
    """A registered person who consented to ``purposes`` besides registration."""
    migrant_id = str(uuid.uuid4())
    cipher = helpline.runtime.cipher
    event = MigrantRegistered(
        migrant_id=migrant_id,
        full_name=await cipher.seal(migrant_id, "Abdul Karim"),
        approximate_birth_year=await cipher.seal(migrant_id, "1990"),
        sex="male",
        age_band="35-44",
        nationality="BD",
        preferred_languages=("bn",),
        site="Malé",
        consent=ConsentGiven(
            purposes=("registration", *purposes), method="verbal", notice_language="bn"
        ),
        issue_card=False,
        registered_by="registrar-1",
        registered_at=NOW,
    )
    await deliver(helpline, event, migrant_id)
    return migrant_id


async def refer(http: httpx.AsyncClient, **body: str) -> httpx.Response:
    return await http.post("/referrals", json={"partner": "iom_maldives"} | body)


async def events_of(helpline: Helpline, stream: str) -> list[tuple[str, dict[str, Any]]]:
    return [(e.subject, e.data) for e in await helpline.runtime.store.load(stream)]


async def test_a_consenting_person_is_referred_and_the_partner_answers_in_order(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # Given a person who consented to partner_referral
    migrant_id = await known_person(helpline, "partner_referral")
    # When an operator refers them for legal aid
    made = await refer(http, partner="legal_aid_centre", migrant_id=migrant_id, service="legal_aid")
    assert made.status_code == 201, made.text
    referral_id = made.json()["referral_id"]
    assert made.headers["Location"] == f"/referrals/{referral_id}"
    assert (made.json()["status"], made.json()["consent_override_reason"]) == ("pending", None)
    # Then the partner's answers are taken in order, and one out of order says what may follow
    outcome = f"/referrals/{referral_id}/outcome"
    assert (await http.post(outcome, json={"outcome": "accepted"})).status_code == 200
    again = await http.post(outcome, json={"outcome": "accepted"})
    assert again.status_code == 409
    assert "completed, declined or no_response" in again.json()["error"]["message"]
    done = await http.post(outcome, json={"outcome": "completed"})
    assert (done.json()["status"], done.json()["open"], done.json()["version"]) == (
        "completed",
        False,
        3,
    )
    late = await http.post(outcome, json={"outcome": "declined"})
    assert late.status_code == 409
    assert late.json()["error"]["details"]["possible_outcomes"] == []
    # And the read model, the person's list and the stream agree
    assert (await http.get(f"/referrals/{referral_id}")).json() == done.json()
    mine = (await http.get(f"/migrants/{migrant_id}/referrals")).json()
    assert [r["referral_id"] for r in mine["items"]] == [referral_id]
    stored = await events_of(helpline, f"referral:{referral_id}")
    assert {subject for subject, _ in stored} == {migrant_id}
    assert [data.get("outcome") for _, data in stored] == [None, "accepted", "completed"]


async def test_without_consent_only_an_admin_may_refer_and_the_reason_is_recorded(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # Given a person who has not consented to partner_referral
    migrant_id = await known_person(helpline)
    # When an operator refers them, it is refused with what can be done
    refused = await refer(http, migrant_id=migrant_id)
    assert refused.status_code == 409
    message = refused.json()["error"]["message"]
    assert "has not consented to partner_referral" in message
    assert "an admin may refer them without it" in message
    # And the operator may not override
    forbidden = await refer(http, migrant_id=migrant_id, consent_override_reason="urgent")
    assert forbidden.status_code == 403
    # But an admin may, and the reason is in the published event
    reason = "trafficking victim, immediate danger"
    overridden = await http.post(
        "/referrals",
        json={
            "partner": "iom_maldives",
            "migrant_id": migrant_id,
            "consent_override_reason": reason,
        },
        headers=ADMIN,
    )
    assert overridden.status_code == 201, overridden.text
    referral_id = overridden.json()["referral_id"]
    [(_, data)] = await events_of(helpline, f"referral:{referral_id}")
    assert (data["consent_override_reason"], data["referred_by"]) == (reason, "admin")
    # When the person later consents, the operator refers them, and an override has nothing to do
    consent = ConsentRecorded(
        migrant_id=migrant_id,
        purpose="partner_referral",
        method="written",
        notice_language="bn",
        recorded_by="registrar-1",
        recorded_at=NOW,
    )
    await deliver(helpline, consent, migrant_id)
    assert (await refer(http, migrant_id=migrant_id)).status_code == 201
    needless = await http.post(
        "/referrals",
        json={
            "partner": "iom_maldives",
            "migrant_id": migrant_id,
            "consent_override_reason": reason,
        },
        headers=ADMIN,
    )
    assert needless.status_code == 422
    assert "nothing to override" in needless.json()["error"]["message"]


async def test_refusals_and_the_anonymous_caller(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # An anonymous caller needs no consent; the referral is its own subject
    anonymous = await refer(http, call_id="call-1")
    assert anonymous.status_code == 201, anonymous.text
    referral_id = anonymous.json()["referral_id"]
    [(subject, _)] = await events_of(helpline, f"referral:{referral_id}")
    assert subject == referral_id
    # An unknown partner lists the codes to use; an unknown person says to retry
    unknown = await refer(http, partner="unhcr")
    assert unknown.status_code == 422
    assert "health_protection_agency" in unknown.json()["error"]["message"]
    stranger = await refer(http, migrant_id=str(uuid.uuid4()))
    assert (stranger.status_code, stranger.headers["Retry-After"]) == (409, "2")
    wrong = await refer(http, partner="health_protection_agency", service="legal_aid")
    assert wrong.status_code == 422
    assert "legal_aid_centre" in wrong.json()["error"]["message"]
    # A retry with the same Idempotency-Key answers the first referral, not a second
    key = {"Idempotency-Key": "r-1"}
    first = await http.post("/referrals", json={"partner": "iom_maldives"}, headers=key)
    retry = await http.post("/referrals", json={"partner": "iom_maldives"}, headers=key)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()
    # Only the helpline's roles reach referrals; every signed-in role reads the directory
    assert (await http.get("/referrals", headers=PARTNER)).status_code == 403
    assert (await http.get("/referrals/nope")).status_code == 404
    assert (
        await http.post("/referrals/nope/outcome", json={"outcome": "accepted"})
    ).status_code == 404


async def test_the_directory_and_the_referrals_page_to_their_end(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    # The directory, three partners a page, ends with a null cursor
    codes: list[str] = []
    cursor: str | None = None
    while True:
        params = {"limit": "3"} | ({} if cursor is None else {"cursor": cursor})
        page = (await http.get("/partners", params=params, headers=PARTNER)).json()
        codes += [p["code"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert codes == list(load_partners().codes)
    consular = await http.get("/partners", params={"kind": "consular"})
    assert "bangladesh_high_commission" in [p["code"] for p in consular.json()["items"]]
    # Five referrals to one partner, the oldest answered
    family_links = {"partner": "brcs_restoring_family_links"}
    ids = [(await refer(http, **family_links)).json()["referral_id"] for _ in range(5)]
    await http.post(f"/referrals/{ids[0]}/outcome", json={"outcome": "declined"})
    # Listed two at a time, newest first, each once
    seen: list[str] = []
    cursor, pages = None, 0
    while True:
        params = family_links | {"limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await http.get("/referrals", params=params)).json()
        seen += [r["referral_id"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert (pages, seen) == (3, list(reversed(ids)))
    declined = await http.get("/referrals", params={"outcome": "declined"})
    assert [r["referral_id"] for r in declined.json()["items"]] == [ids[0]]
    still_open = await http.get("/referrals", params={"open": "true", "limit": "200"})
    assert ids[0] not in [r["referral_id"] for r in still_open.json()["items"]]
    forged = await http.get("/referrals", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 422


async def test_follow_ups_are_scheduled_listed_when_late_and_completed_once(
    helpline: Helpline, app: FastAPI, http: httpx.AsyncClient
) -> None:
    today = utc_now().date()
    assignee = f"helpline-{uuid.uuid4().hex[:6]}"
    # Given one follow-up due today, and a day in the past refused
    due_today = await http.post("/follow-ups", json={"due_on": str(today), "assignee": assignee})
    assert due_today.status_code == 201, due_today.text
    past = await http.post(
        "/follow-ups", json={"due_on": str(today - timedelta(days=1)), "assignee": assignee}
    )
    assert past.status_code == 422
    assert "is in the past" in past.json()["error"]["message"]
    # And one scheduled five days ago for three days ago (the clock set back to that day)
    app.dependency_overrides[follow_ups_api.today] = lambda: today - timedelta(days=5)
    migrant_id = await known_person(helpline)
    body = {
        "due_on": str(today - timedelta(days=3)),
        "assignee": assignee,
        "migrant_id": migrant_id,
    }
    late = await http.post("/follow-ups", json=body)
    assert late.status_code == 201, late.text
    del app.dependency_overrides[follow_ups_api.today]
    late_id = late.json()["follow_up_id"]
    # When the late ones are listed today, only that one is
    overdue = (
        await http.get("/follow-ups", params={"overdue": "true", "assignee": assignee})
    ).json()
    assert [(f["follow_up_id"], f["overdue"]) for f in overdue["items"]] == [(late_id, True)]
    assert overdue["next_cursor"] is None
    on_time = await http.get("/follow-ups", params={"overdue": "false", "assignee": assignee})
    assert [f["follow_up_id"] for f in on_time.json()["items"]] == [
        due_today.json()["follow_up_id"]
    ]
    # Then it is completed once; a second completion says who did it
    done = await http.post(f"/follow-ups/{late_id}/complete", json={"outcome": "reached"})
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["overdue"], done.json()["version"]) == (
        "completed",
        False,
        2,
    )
    twice = await http.post(f"/follow-ups/{late_id}/complete", json={"outcome": "resolved"})
    assert twice.status_code == 409
    assert "already completed (reached)" in twice.json()["error"]["message"]
    assert (await http.get(f"/follow-ups/{late_id}")).json() == done.json()
    after = await http.get("/follow-ups", params={"overdue": "true", "assignee": assignee})
    assert after.json()["items"] == []
    stored = await events_of(helpline, f"follow-up:{late_id}")
    assert {subject for subject, _ in stored} == {migrant_id}


async def test_follow_ups_page_soonest_due_first(
    helpline: Helpline, http: httpx.AsyncClient
) -> None:
    today = utc_now().date()
    assignee = f"helpline-{uuid.uuid4().hex[:6]}"
    due = [today + timedelta(days=d) for d in (4, 0, 2, 2, 1)]
    ids = []
    for day in due:
        made = await http.post("/follow-ups", json={"due_on": str(day), "assignee": assignee})
        ids.append(made.json()["follow_up_id"])
    seen: list[tuple[str, date]] = []
    cursor: str | None = None
    while True:
        params = {"assignee": assignee, "limit": "2"} | ({"cursor": cursor} if cursor else {})
        page = (await http.get("/follow-ups", params=params)).json()
        seen += [(f["follow_up_id"], date.fromisoformat(f["due_on"])) for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(zip(ids, due, strict=True), key=lambda pair: (pair[1], pair[0]))
