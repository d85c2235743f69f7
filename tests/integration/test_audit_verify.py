"""``GET /audit/verify`` on a real MongoDB: an auditor is told which stored events were
tampered with, however it was done to the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.helpline.settings import HelplineSettings
from shared.auth import TokenVerifier, mint_token
from shared.http.audit import audit_router
from shared.http.errors import install_error_handlers
from shared.observability.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime
from shared.settings import DEV_JWT_SECRET
from tests.contracts.eventstore import META, pending

pytestmark = pytest.mark.integration


@pytest.fixture
async def runtime(
    mongo_url_: str, kafka_bootstrap: str, namespace: str, db_name: str
) -> AsyncIterator[ServiceRuntime]:
    settings = HelplineSettings(
        mongo_url=mongo_url_,
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=namespace,
        mongo_database=db_name,
        vault_database=f"{db_name}_vault",
    )
    runtime = ServiceRuntime(settings, ServiceMetrics())  # the broker is never started here
    await runtime.store.ensure_indexes()
    try:
        yield runtime
    finally:
        await runtime.stop()


@pytest.fixture
async def http(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(secret=DEV_JWT_SECRET)
    app.state.runtime = runtime
    app.include_router(audit_router("helpline"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def as_role(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role=role)}"}


async def test_every_kind_of_tampering_is_named(
    runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    # Given four streams of three events each
    for stream in ("a", "b", "c", "d"):
        await runtime.store.append(stream, 0, pending(3), META)
    verified = await http.get("/audit/verify", headers=as_role("auditor"))
    assert verified.status_code == 200, verified.text
    assert (verified.json()["intact"], verified.json()["events"]) == (True, 12)

    # When someone with database access edits one, deletes one, swaps two and breaks one
    events = runtime.mongo[runtime.settings.database]["events"]
    edited = await events.find_one_and_update(
        {"stream_id": "a", "version": 2}, {"$set": {"data.n": 42}}
    )
    assert edited is not None
    await events.delete_one({"stream_id": "b", "version": 2})
    await events.update_one({"stream_id": "c", "version": 2}, {"$set": {"version": 99}})
    await events.update_one({"stream_id": "c", "version": 3}, {"$set": {"version": 2}})
    await events.update_one({"stream_id": "c", "version": 99}, {"$set": {"version": 3}})
    await events.update_one({"stream_id": "d", "version": 3}, {"$unset": {"data": ""}})

    # Then the auditor is told exactly which, and how
    report = (await http.get("/audit/verify", headers=as_role("auditor"))).json()
    found: list[dict[str, Any]] = report["problems"]
    assert [(p["stream_id"], p["version"], p["problem"]) for p in found] == [
        ("a", 2, "changed"),
        ("b", 2, "removed"),
        ("c", 2, "reordered"),
        ("c", 3, "reordered"),
        ("d", 3, "unreadable"),
    ]
    assert found[0]["event_id"] == edited["_id"]
    assert (report["intact"], report["problems_total"], report["service"]) == (
        False,
        5,
        "helpline",
    )
    # And only auditors and admins may ask
    assert (await http.get("/audit/verify", headers=as_role("admin"))).status_code == 200
    assert (await http.get("/audit/verify", headers=as_role("manager"))).status_code == 403
