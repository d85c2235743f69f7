"""One trace from a registration to the report that counts its delivery, across all services.

The five services run in this process, each with its lifespan (relay, consumers, Kafka and
MongoDB for real), so one in-memory exporter sees every span they make. The registration's
trace must reach: the registry's relay, the cards service's consumer that issues the card, the
cards relay, every consumer of the card, and, carried on by the client's ``traceparent``, the
delivery, its relay and reporting's consumer, and the report read at the end.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.cards.app import create_app as cards_app
from services.cards.settings import CardsSettings
from services.distribution.app import create_app as distribution_app
from services.distribution.settings import DistributionSettings
from services.helpline.app import create_app as helpline_app
from services.helpline.settings import HelplineSettings
from services.registry.app import create_app as registry_app
from services.registry.settings import RegistrySettings
from services.reporting.app import create_app as reporting_app
from services.reporting.settings import ReportingSettings
from shared.auth import mint_token
from shared.observability.tracing import configure_tracing
from shared.settings import DEV_JWT_SECRET
from tests.support import eventually

pytestmark = pytest.mark.integration

SITE = "Kdh Atoll"
SERVICES: dict[str, tuple[Callable[..., FastAPI], type[Any]]] = {
    "registry": (registry_app, RegistrySettings),
    "cards": (cards_app, CardsSettings),
    "distribution": (distribution_app, DistributionSettings),
    "helpline": (helpline_app, HelplineSettings),
    "reporting": (reporting_app, ReportingSettings),
}


def auth(role: str, traceparent: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role=role, site=SITE)}"}
    return headers | ({"traceparent": traceparent} if traceparent else {})


@pytest.fixture
async def clients(
    mongo_url_: str, kafka_bootstrap: str, namespace: str, db_name: str
) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The five services, started as they run, each behind an in-process HTTP client."""
    async with contextlib.AsyncExitStack() as stack:
        clients: dict[str, httpx.AsyncClient] = {}
        for name, (create_app, settings_class) in SERVICES.items():
            app = create_app(
                settings_class(
                    mongo_url=mongo_url_,
                    kafka_bootstrap=kafka_bootstrap,
                    topic_namespace=namespace,
                    mongo_database=f"{db_name}_{name}",
                    vault_database=f"{db_name}_vault",
                    relay_idle_seconds=0.05,
                )
            )
            await stack.enter_async_context(app.router.lifespan_context(app))
            clients[name] = await stack.enter_async_context(
                httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
            )
        yield clients


def in_trace(exporter: InMemorySpanExporter, trace_id: int) -> list[ReadableSpan]:
    return [
        s
        for s in exporter.get_finished_spans()
        if s.context is not None and s.context.trace_id == trace_id
    ]


def named(spans: list[ReadableSpan], kind: SpanKind, fragment: str) -> list[ReadableSpan]:
    return [s for s in spans if s.kind is kind and fragment in s.name]


async def test_a_registration_its_card_delivery_and_report_are_one_trace(
    clients: dict[str, httpx.AsyncClient], namespace: str
) -> None:
    exporter = InMemorySpanExporter()
    configure_tracing("trace-test", exporter=exporter)

    # Given a registration that asks for a card, sent with no trace of its own
    registered = await clients["registry"].post(
        "/migrants",
        json={
            "full_name": "Trace Test Person",
            "sex": "female",
            "date_of_birth": "1991-03-14",
            "nationality": "BD",
            "preferred_languages": ["bn"],
            "site": SITE,
            "consent": {"purposes": ["registration"], "notice_language": "bn"},
            "issue_card": True,
        },
        headers=auth("registrar"),
    )
    assert registered.status_code == 201, registered.text
    migrant_id = registered.json()["migrant_id"]
    [command] = named(list(exporter.get_finished_spans()), SpanKind.SERVER, "POST /migrants")
    assert command.context is not None
    trace_id = command.context.trace_id

    # When the cards service issues the card on its own, and distribution learns of it
    async def card_number() -> str | None:
        cards = await clients["cards"].get(
            f"/migrants/{migrant_id}/cards", headers=auth("registrar")
        )
        active = [c for c in cards.json() if c["status"] == "active"] if cards.is_success else []
        return active[0]["card_number"] if active else None

    number = await eventually(card_number, bool, within=60, what="the card")
    # And a distributor's device, continuing the same journey, delivers a parcel on the card
    journey = f"00-{trace_id:032x}-{command.context.span_id:016x}-01"

    async def deliver() -> httpx.Response:
        return await clients["distribution"].post(
            "/deliveries",
            json={
                "client_id": f"trace-{time.time_ns()}",
                "card_number": number,
                "service": "food_parcel",
                "site": SITE,
            },
            headers=auth("distributor", journey),
        )

    delivered = await eventually(deliver, lambda r: r.status_code == 201, within=60, what="201")
    assert delivered.status_code == 201

    # And the manager reads the daily outputs once reporting counted it
    async def report() -> dict[str, Any]:
        answer = await clients["reporting"].get(
            "/reports/deliveries", params={"site": SITE}, headers=auth("manager", journey)
        )
        return dict(answer.json())

    await eventually(report, lambda r: "food_parcel" in str(r), within=60, what="the report")

    def consumers_seen() -> set[str]:
        return {
            s.name.split(" ")[0]
            for s in in_trace(exporter, trace_id)
            if s.kind is SpanKind.CONSUMER
        }

    async def everyone() -> set[str]:
        return consumers_seen()

    await eventually(
        everyone,
        lambda groups: {"cards", "distribution", "helpline", "registry", "reporting"} <= groups,
        within=60,
        what="a consumer span of every group",
    )

    # Then it is all one trace: each HTTP request, each relay and every consumer
    spans = in_trace(exporter, trace_id)
    by_id = {s.context.span_id: s for s in spans if s.context is not None}
    servers = {s.name for s in spans if s.kind is SpanKind.SERVER}
    assert {"POST /migrants", "POST /deliveries", "GET /reports/deliveries"} <= servers
    producers = {s.name for s in spans if s.kind is SpanKind.PRODUCER}
    assert {
        f"{namespace}.{p}.v1 publish" for p in ("registry", "cards", "distribution")
    } <= producers
    # And every consumer span hangs under the relay span that published what it applied
    for span in spans:
        if span.kind is SpanKind.CONSUMER:
            assert span.parent is not None
            assert by_id[span.parent.span_id].kind is SpanKind.PRODUCER, span.name
    # And the card was issued inside the cards consumer's handling of the registration
    [issue_publish] = [
        s
        for s in named(spans, SpanKind.PRODUCER, f"{namespace}.cards.v1")
        if s.attributes and s.attributes.get("bensys.event.type") == "bensys.cards.CardIssued.v1"
    ]
    assert issue_publish.parent is not None
    assert (
        by_id[issue_publish.parent.span_id].name
        == "cards process bensys.registry.MigrantRegistered.v1"
    )
