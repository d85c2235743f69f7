"""The network between a service and its database delayed, reset and black-holed.

The registry reaches SecantusDB through a fault proxy (tests/faultproxy.py). Whatever the link
does, a request is answered within seconds: 201 when the data got through, 503 with Retry-After
when it did not, never a 500 and never a hang; and once the link heals, the forms resent with
their Idempotency-Key are stored exactly once and the relay's backlog returns to zero.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from bensys.embedded import mongo_url
from services.registry.app import create_app
from services.registry.settings import RegistrySettings
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET
from tests.faultproxy import FaultProxy
from tests.support import eventually

pytestmark = pytest.mark.integration

SITE = "Kaafu Atoll"
WAIT_SECONDS = 1.0
SOCKET_SECONDS = 2.0


def form(n: int) -> dict[str, Any]:
    return {
        "full_name": f"Network Fault Person {n}",
        "sex": "male",
        "approximate_birth_year": 1985 + n % 10,
        "nationality": "LK",
        "preferred_languages": ["si"],
        "site": SITE,
        "consent": {"purposes": ["registration"], "notice_language": "si"},
    }


def headers(n: int) -> dict[str, str]:
    token = mint_token(secret=DEV_JWT_SECRET, role="registrar", site=SITE)
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": f"tablet-3:form-{n}"}


@pytest.fixture
async def proxy(mongo_url_: str) -> AsyncIterator[FaultProxy]:
    port = int(mongo_url_.rsplit(":", 1)[1].split("/", maxsplit=1)[0])
    faults = FaultProxy("127.0.0.1", port)
    await faults.start()
    try:
        yield faults
    finally:
        await faults.stop()


@pytest.fixture
async def registry(
    proxy: FaultProxy, kafka_bootstrap: str, namespace: str, db_name: str
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(
        RegistrySettings(
            mongo_url=mongo_url(proxy.port),
            kafka_bootstrap=kafka_bootstrap,
            topic_namespace=namespace,
            mongo_database=db_name,
            vault_database=f"{db_name}_vault",
            mongo_server_wait_seconds=WAIT_SECONDS,
            mongo_socket_timeout_seconds=SOCKET_SECONDS,
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=60) as c:
            yield app, c


async def timed_send(client: httpx.AsyncClient, n: int) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await client.post("/migrants", json=form(n), headers=headers(n))
    return answer, time.monotonic() - started


async def test_a_delayed_reset_and_black_holed_database_link_answers_503_and_loses_nothing(
    registry: tuple[FastAPI, httpx.AsyncClient], proxy: FaultProxy, mongo_url_: str, db_name: str
) -> None:
    app, client = registry
    accepted: dict[int, str] = {}
    # Given a healthy link, then a slow one: both accept, the slow one slowly
    for n in range(3):
        answer, _ = await timed_send(client, n)
        assert answer.status_code == 201, answer.text
        accepted[n] = answer.json()["migrant_id"]
    proxy.delay(0.05)
    answer, took = await timed_send(client, 3)
    assert answer.status_code == 201, answer.text
    assert took > 0.05
    accepted[3] = answer.json()["migrant_id"]

    refused: list[int] = []
    # When the link resets every connection, and then swallows everything
    for fault, forms in ((proxy.reset, range(4, 7)), (proxy.black_hole, range(7, 10))):
        fault()
        for n in forms:
            answer, took = await timed_send(client, n)
            # Then each request is answered, and soon: 503 with Retry-After, never 500
            assert answer.status_code == 503, answer.text
            assert int(answer.headers["Retry-After"]) > 0
            assert took < SOCKET_SECONDS + WAIT_SECONDS + 5
            refused.append(n)

    # When the link heals and the tablets resend what was refused
    proxy.heal()
    for n in refused:
        deadline = time.monotonic() + 60
        answer, _ = await timed_send(client, n)
        while answer.status_code == 503 and time.monotonic() < deadline:
            await asyncio.sleep(0.5)  # as a tablet waits before it retries
            answer, _ = await timed_send(client, n)
        assert answer.status_code == 201, answer.text
        accepted[n] = answer.json()["migrant_id"]

    # Then every form is stored exactly once, and the relay's backlog is back to zero
    reader: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url_)
    try:
        registered = await reader[db_name]["events"].distinct(
            "stream_id", {"type": "bensys.registry.MigrantRegistered.v1"}
        )
    finally:
        await reader.close()
    assert sorted(registered) == sorted(accepted.values())
    runtime = app.state.runtime
    await eventually(runtime.relay.backlog, lambda left: left == 0, within=60, what="no backlog")
