"""Repatriation cases over HTTP on a real MongoDB: opened once per person, moved on step by step,
and listed a page at a time. The routes run in an app without its lifespan, so no broker."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.distribution import repatriation_api
from services.distribution.context import Distribution
from services.distribution.repatriation_cases import RepatriationCases
from services.distribution.settings import DistributionSettings
from shared.auth import TokenVerifier, mint_token
from shared.contracts.registry import ConsentGiven, MigrantRegistered
from shared.http.errors import install_error_handlers
from shared.messaging.envelope import Envelope
from shared.observability.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SITE = "Seenu Atoll"
TOKEN = mint_token(secret=DEV_JWT_SECRET, role="distributor", site=SITE)
DOCUMENT = {
    "step": "travel_document_in_progress",
    "with_authority": "High Commission of Bangladesh",
}


@pytest.fixture
async def distribution(
    mongo_url_: str, kafka_bootstrap: str, namespace: str, db_name: str
) -> AsyncIterator[Distribution]:
    settings = DistributionSettings(
        mongo_url=mongo_url_,
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=namespace,
        mongo_database=db_name,
        vault_database=f"{db_name}_vault",
    )
    runtime = ServiceRuntime(settings, ServiceMetrics())  # the broker is never started here
    context = Distribution.on(runtime)
    await runtime.store.ensure_indexes()
    await context.start()
    await RepatriationCases(runtime.mongo, settings.database).ensure_indexes()
    try:
        yield context
    finally:
        await runtime.stop()


@pytest.fixture
async def http(distribution: Distribution) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(secret=DEV_JWT_SECRET)
    app.state.distribution = distribution
    app.include_router(repatriation_api.router)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=headers) as c:
        yield c


async def known_person(distribution: Distribution) -> str:
    """A person registered in the registry, as distribution learns it from the topic."""
    migrant_id = str(uuid.uuid4())
    cipher = distribution.runtime.cipher
    event = MigrantRegistered(
        migrant_id=migrant_id,
        full_name=await cipher.seal(migrant_id, "Abdul Karim"),
        approximate_birth_year=await cipher.seal(migrant_id, "1990"),
        sex="male",
        age_band="35-44",
        nationality="BD",
        preferred_languages=("bn",),
        site=SITE,
        consent=ConsentGiven(purposes=("registration",), method="verbal", notice_language="bn"),
        issue_card=False,
        registered_by="registrar-1",
        registered_at=NOW,
    )
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="/bensys/registry",
        type=event.ce_type(),
        subject=migrant_id,
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
    async with distribution.runtime.mongo.start_session() as session:

        async def apply(session: Any) -> None:
            await distribution.facts.on_registered(envelope, event, session)

        await session.with_transaction(apply)
    return migrant_id


async def open_case(http: httpx.AsyncClient, migrant_id: str, **headers: str) -> httpx.Response:
    body = {"migrant_id": migrant_id, "destination_country": "BD", "site": SITE}
    return await http.post("/repatriation-cases", json=body, headers=headers)


async def test_a_case_is_opened_and_moves_step_by_step_to_departure(
    distribution: Distribution, http: httpx.AsyncClient
) -> None:
    # Given a known person who asked to go home
    migrant_id = await known_person(distribution)
    opened = await open_case(http, migrant_id)
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["case_id"]
    assert opened.headers["Location"] == f"/repatriation-cases/{case_id}"
    steps = f"/repatriation-cases/{case_id}/steps"
    # When a step is recorded out of order, it is refused and says what is possible
    skipped = await http.post(steps, json={"step": "departed"})
    assert skipped.status_code == 409
    assert "travel_document_in_progress or cancelled" in skipped.json()["error"]["message"]
    # And when the steps come in order, each is accepted
    for body in (DOCUMENT, {"step": "travel_booked"}, {"step": "departed"}):
        moved = await http.post(steps, json=body)
        assert moved.status_code == 200, moved.text
    # Then the case shows every step, closed, as the read model and the stream both hold it
    case = (await http.get(f"/repatriation-cases/{case_id}")).json()
    assert case == moved.json()
    assert (case["status"], case["possible_steps"], case["version"]) == ("departed", [], 4)
    assert case["steps"][1]["with_authority"] == "High Commission of Bangladesh"
    stored = await distribution.runtime.store.load(f"repatriation:{case_id}")
    assert {e.subject for e in stored} == {migrant_id}
    late = await http.post(steps, json={"step": "cancelled", "reason": "too late"})
    assert late.status_code == 409


async def test_a_cancelled_case_needs_a_reason_and_frees_the_person_for_a_new_one(
    distribution: Distribution, http: httpx.AsyncClient
) -> None:
    migrant_id = await known_person(distribution)
    first = (await open_case(http, migrant_id)).json()["case_id"]
    # A second case while the first is open is refused, naming the first
    second = await open_case(http, migrant_id)
    assert second.status_code == 409
    assert second.json()["error"]["details"]["case_id"] == first
    # A cancellation without a reason says what to fix
    steps = f"/repatriation-cases/{first}/steps"
    unexplained = await http.post(steps, json={"step": "cancelled"})
    assert unexplained.status_code == 422
    assert "reason" in unexplained.json()["error"]["message"]
    cancelled = await http.post(steps, json={"step": "cancelled", "reason": "decided to stay"})
    assert cancelled.json()["steps"][-1]["reason"] == "decided to stay"
    # Once cancelled, the person may ask again
    again = await open_case(http, migrant_id)
    assert again.status_code == 201, again.text
    mine = (await http.get(f"/migrants/{migrant_id}/repatriation-cases")).json()
    assert [c["status"] for c in mine["items"]] == ["requested", "cancelled"]


async def test_two_requests_racing_open_one_case(
    distribution: Distribution, http: httpx.AsyncClient
) -> None:
    migrant_id = await known_person(distribution)
    answers = await asyncio.gather(open_case(http, migrant_id), open_case(http, migrant_id))
    assert sorted(a.status_code for a in answers) == [201, 409]
    page = (await http.get(f"/migrants/{migrant_id}/repatriation-cases")).json()
    assert len(page["items"]) == 1


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_case(
    distribution: Distribution, http: httpx.AsyncClient
) -> None:
    migrant_id = await known_person(distribution)
    first = await open_case(http, migrant_id, **{"Idempotency-Key": "k-1"})
    retry = await open_case(http, migrant_id, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json() == first.json()


async def test_refusals_say_what_to_do(distribution: Distribution, http: httpx.AsyncClient) -> None:
    unknown = await open_case(http, str(uuid.uuid4()))
    assert (unknown.status_code, unknown.headers["Retry-After"]) == (409, "2")
    bad = await http.post(
        "/repatriation-cases",
        json={"migrant_id": "m", "destination_country": "Bangladesh", "site": SITE},
    )
    assert bad.status_code == 422
    assert "'BD' for Bangladesh" in bad.json()["error"]["message"]
    assert (await http.get("/repatriation-cases/nope")).status_code == 404
    assert (await http.post("/repatriation-cases/nope/steps", json=DOCUMENT)).status_code == 404
    elsewhere = {"migrant_id": "m", "destination_country": "BD", "site": "Addu"}
    assert (await http.post("/repatriation-cases", json=elsewhere)).status_code == 403


async def test_the_list_pages_newest_update_first_to_the_last_page(
    distribution: Distribution, http: httpx.AsyncClient
) -> None:
    # Given five cases at the site, the oldest moved on last
    ids = []
    for _ in range(5):
        opened = await open_case(http, await known_person(distribution))
        ids.append(opened.json()["case_id"])
    await http.post(f"/repatriation-cases/{ids[0]}/steps", json=DOCUMENT)
    # When they are listed two at a time
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params = {"site": SITE, "limit": "2"} | ({} if cursor is None else {"cursor": cursor})
        page = (await http.get("/repatriation-cases", params=params)).json()
        seen += [c["case_id"] for c in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Then three pages show each case once, the one moved on last first
    assert pages == 3
    assert seen == [ids[0], *reversed(ids[1:])]
    moved = await http.get("/repatriation-cases", params={"status": DOCUMENT["step"]})
    assert [c["case_id"] for c in moved.json()["items"]] == [ids[0]]
    forged = await http.get("/repatriation-cases", params={"cursor": "not-a-cursor"})
    assert forged.status_code == 422
