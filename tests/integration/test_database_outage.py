"""The database killed and restarted while registrations arrive: nothing accepted is lost,
nothing is stored twice, and while it is away every answer is a 503 to retry, never a 500.

The registry runs in this process with its lifespan on a SecantusDB of the test's own, durable
as ``bensys up`` starts it (``--sync-on-commit``), which is SIGKILLed and started again on the
same storage. (Without that flag, the last writes before the kill were lost, 201s included.)
The field devices are played by a loop that sends each form with its Idempotency-Key until it
is accepted, as the offline-first tablets do.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import AsyncMongoClient

from bensys.embedded import ManagedProcess, free_port, mongo_url, secantus
from services.registry.app import create_app
from services.registry.settings import RegistrySettings
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.integration

SITE = "Seenu Atoll"
FORMS = 24


def form(n: int) -> dict[str, Any]:
    return {
        "full_name": f"Outage Test Person {n}",
        "sex": "female" if n % 2 else "male",
        "approximate_birth_year": 1990 + n % 10,
        "nationality": "NP",
        "preferred_languages": ["ne"],
        "site": SITE,
        "consent": {"purposes": ["registration"], "notice_language": "ne"},
    }


def headers(n: int) -> dict[str, str]:
    token = mint_token(secret=DEV_JWT_SECRET, role="registrar", site=SITE)
    return {"Authorization": f"Bearer {token}", "Idempotency-Key": f"tablet-7:form-{n}"}


@pytest.fixture
def database(tmp_path: Path) -> Iterator[ManagedProcess]:
    server = secantus(free_port(), tmp_path / "mongo", tmp_path / "logs", sync_on_commit=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def registry(
    database: ManagedProcess, kafka_bootstrap: str, namespace: str, db_name: str
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        RegistrySettings(
            mongo_url=mongo_url(database.port),
            kafka_bootstrap=kafka_bootstrap,
            topic_namespace=namespace,
            mongo_database=db_name,
            vault_database=f"{db_name}_vault",
            mongo_server_wait_seconds=1,
        )
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", timeout=30) as c:
            yield c


async def send(client: httpx.AsyncClient, n: int) -> httpx.Response:
    return await client.post("/migrants", json=form(n), headers=headers(n))


async def test_a_database_killed_mid_stream_loses_and_doubles_nothing(
    registry: httpx.AsyncClient, database: ManagedProcess, db_name: str
) -> None:
    accepted: dict[int, str] = {}
    # Given a third of the forms registered while the database is up
    for n in range(FORMS // 3):
        answer = await send(registry, n)
        assert answer.status_code == 201, answer.text
        accepted[n] = answer.json()["migrant_id"]

    # When the database dies without warning
    await asyncio.to_thread(database.kill)
    # Then every command and the readiness check answer 503 with Retry-After, never 500
    away = [await send(registry, n) for n in range(FORMS // 3, 2 * FORMS // 3)]
    assert {answer.status_code for answer in away} == {503}, [a.text for a in away]
    assert all(int(answer.headers["Retry-After"]) > 0 for answer in away)
    assert all("retry" in answer.json()["error"]["message"] for answer in away)
    assert (await registry.get("/ready")).status_code == 503

    # When it comes back on the same storage, and the tablets send what was refused, again
    await asyncio.to_thread(database.start)
    for n in range(FORMS // 3, FORMS):
        for _ in range(60):
            answer = await send(registry, n)
            if answer.status_code != 503:
                break
            await asyncio.sleep(0.5)
        assert answer.status_code == 201, answer.text
        accepted[n] = answer.json()["migrant_id"]

    # Then a form sent again after it was accepted is the same registration, not a new one
    for n in (0, FORMS // 3, FORMS - 1):
        again = await send(registry, n)
        assert again.status_code == 201, again.text  # the first answer, replayed
        assert again.json()["migrant_id"] == accepted[n]
    # And the store holds every accepted registration once, none lost, none doubled
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongo_url(database.port))
    try:
        events = client[db_name]["events"]
        registered = await events.find(
            {"type": "bensys.registry.MigrantRegistered.v1"}, {"stream_id": 1}
        ).to_list()
    finally:
        await client.close()
    streams = [doc["stream_id"] for doc in registered]
    assert sorted(streams) == sorted(accepted.values())
    assert len(set(streams)) == FORMS
