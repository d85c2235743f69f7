"""Probes and scrapes: alive without I/O, ready only when every dependency answers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import httpx
from fastapi import FastAPI

from shared.http.ops import ops_router
from shared.observability.metrics import ServiceMetrics

Check = Callable[[], Awaitable[object]]


def client_for(
    readiness: Mapping[str, Check],
    *,
    metrics: ServiceMetrics | None = None,
    timeout_seconds: float = 2.0,
) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(
        ops_router(
            service="registry",
            metrics=metrics or ServiceMetrics(),
            readiness=readiness,
            readiness_timeout_seconds=timeout_seconds,
        )
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def passes() -> None:
    return None


async def database_refuses() -> None:
    raise ConnectionRefusedError("mongo at 127.0.0.1:27017 refused the connection")


async def test_health_answers_without_running_any_check() -> None:
    calls: list[str] = []

    async def counted() -> None:
        calls.append("checked")

    async with client_for({"mongo": counted}) as client:
        response = await client.get("/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "registry"}
    assert calls == []


async def test_ready_when_every_check_passes() -> None:
    async with client_for({"mongo": passes, "kafka": passes}) as client:
        response = await client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"mongo": "ok", "kafka": "ok"}}


async def test_not_ready_names_the_failing_check_and_why() -> None:
    async with client_for({"mongo": database_refuses, "kafka": passes}) as client:
        response = await client.get("/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "not_ready",
        "checks": {
            "mongo": "mongo at 127.0.0.1:27017 refused the connection",
            "kafka": "ok",
        },
    }


async def test_a_hung_check_times_out_instead_of_hanging_the_probe() -> None:
    never = asyncio.Event()

    async def hangs() -> None:
        await never.wait()

    async with client_for({"kafka": hangs, "mongo": passes}, timeout_seconds=0.01) as client:
        response = await client.get("/ready")

    assert response.status_code == 503
    assert response.json()["checks"] == {"kafka": "timed out after 0.01 s", "mongo": "ok"}


async def test_checks_run_concurrently() -> None:
    """Each check waits for the other to start: run one after another, both would time out."""
    first_started, second_started = asyncio.Event(), asyncio.Event()

    async def first() -> None:
        first_started.set()
        await second_started.wait()

    async def second() -> None:
        second_started.set()
        await first_started.wait()

    async with client_for({"first": first, "second": second}) as client:
        response = await client.get("/ready")

    assert response.json() == {"status": "ready", "checks": {"first": "ok", "second": "ok"}}


async def test_no_checks_means_ready() -> None:
    async with client_for({}) as client:
        response = await client.get("/ready")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {}}


async def test_metrics_are_exposed_in_prometheus_text_format() -> None:
    metrics = ServiceMetrics()
    metrics.events_appended.labels(type="PersonRegistered").inc(3)

    async with client_for({}, metrics=metrics) as client:
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'bensys_events_appended_total{type="PersonRegistered"} 3.0' in response.text


async def test_metrics_are_served_as_openmetrics_to_a_scraper_that_asks() -> None:
    async with client_for({}) as client:
        response = await client.get(
            "/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"}
        )

    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_the_endpoints_are_documented_under_operations() -> None:
    async with client_for({}) as client:
        paths = (await client.get("/openapi.json")).json()["paths"]

    assert {path: paths[path]["get"]["tags"] for path in ("/health", "/ready", "/metrics")} == {
        "/health": ["operations"],
        "/ready": ["operations"],
        "/metrics": ["operations"],
    }
