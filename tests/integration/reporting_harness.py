"""Reporting's service on a real MongoDB, without its lifespan (so no broker): its consumer
fed Kafka records by hand, and its routes over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI

from services.reporting import admin_api, audit_api, dashboard_api, outputs_api
from services.reporting.api import router
from services.reporting.app import on_start, wire
from services.reporting.settings import ReportingSettings
from services.reporting.views import live_database
from shared.auth import TokenVerifier, mint_token
from shared.contracts.base import Event
from shared.eventstore.building import build_stored_events
from shared.eventstore.chain import GENESIS
from shared.eventstore.model import EventMetadata, PendingEvent
from shared.http.errors import install_error_handlers
from shared.messaging.consumer import Outcome, ReceivedMessage
from shared.messaging.envelope import to_kafka_record
from shared.observability.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime
from shared.settings import DEV_JWT_SECRET

MORNING = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)  # 09:00 in Malé


@pytest.fixture
async def runtime(
    mongo_url_: str, kafka_bootstrap: str, namespace: str, db_name: str
) -> AsyncIterator[ServiceRuntime]:
    settings = ReportingSettings(
        mongo_url=mongo_url_,
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=namespace,
        mongo_database=db_name,
        vault_database=f"{db_name}_vault",
    )
    runtime = ServiceRuntime(settings, ServiceMetrics())  # the broker is never started here
    wire(runtime)
    await on_start(FastAPI(), runtime)
    try:
        yield runtime
    finally:
        await runtime.stop()


async def reporting_app(runtime: ServiceRuntime) -> FastAPI:
    """Reporting's routes on ``runtime``, as the service serves them (without its lifespan)."""
    app = FastAPI()
    install_error_handlers(app)
    app.state.token_verifier = TokenVerifier(secret=DEV_JWT_SECRET)
    app.state.runtime = runtime
    app.state.views_database = await live_database(runtime.mongo, runtime.settings.database)
    for module in (outputs_api, audit_api, admin_api, dashboard_api):
        app.include_router(module.router)
    app.include_router(router)
    return app


@pytest.fixture
async def http(runtime: ServiceRuntime) -> AsyncIterator[httpx.AsyncClient]:
    app = await reporting_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client


def as_role(role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role=role)}"}


async def deliver(
    runtime: ServiceRuntime, event: Event, subject: str | None = None, at: datetime = MORNING
) -> str:
    """Hand an event to reporting's consumer as the broker would: a Kafka record recorded
    ``at`` (its ``ce_time``). Its id."""
    [stored] = build_stored_events(
        stream_id=f"s-{uuid.uuid4()}",
        first_version=1,
        first_position=1,
        previous_chainhash=GENESIS,
        events=[PendingEvent(type=event.ce_type(), data=event.to_data(), subject=subject)],
        metadata=EventMetadata(actor="someone"),
        occurred_at=at,
    )
    record = to_kafka_record(stored, service=event.producer)
    [consumer] = runtime.consumers
    message = ReceivedMessage("topic", 0, 0, record.headers, record.value)
    assert await consumer.handle(message) is Outcome.APPLIED
    return stored.event_id
