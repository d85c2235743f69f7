"""The three endpoints orchestrators and Prometheus call: alive, ready, metrics.

No authentication: probes and scrapers carry no token, and nothing here reveals a person's
data. ``/health`` does no I/O so that a slow database never gets a live process restarted;
``/ready`` is where dependencies are checked, so traffic is only withheld, not killed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from shared.observability.metrics import ServiceMetrics

ReadinessCheck = Callable[[], Awaitable[object]]

READINESS_TIMEOUT_SECONDS = 2.0
_MAX_ERROR_TEXT = 300


async def _outcome(check: ReadinessCheck, timeout_seconds: float) -> tuple[bool, str]:
    """Whether the check passed and, if not, why, in words an operator can act on."""
    try:
        async with asyncio.timeout(timeout_seconds):
            await check()
    except TimeoutError:
        return False, f"timed out after {timeout_seconds:g} s"
    except Exception as exc:
        text = str(exc) or type(exc).__name__
        return False, text[:_MAX_ERROR_TEXT]
    return True, "ok"


def ops_router(
    *,
    service: str,
    metrics: ServiceMetrics,
    readiness: Mapping[str, ReadinessCheck],
    readiness_timeout_seconds: float = READINESS_TIMEOUT_SECONDS,
) -> APIRouter:
    """``/health``, ``/ready`` and ``/metrics`` for one service.

    Each readiness check is an argument-less coroutine function (e.g. a database ping) that
    raises when its dependency is not usable. They run concurrently, each bounded by
    ``readiness_timeout_seconds``, so one hung dependency cannot hang the probe.
    """
    router = APIRouter(tags=["operations"])
    checks = dict(readiness)

    @router.get("/health", summary="The process is alive")
    async def health() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @router.get(
        "/ready",
        summary="Every dependency answers",
        responses={503: {"description": "At least one dependency failed its check"}},
    )
    async def ready() -> JSONResponse:
        outcomes = await asyncio.gather(
            *(_outcome(check, readiness_timeout_seconds) for check in checks.values())
        )
        results = {name: text for name, (_, text) in zip(checks, outcomes, strict=True)}
        all_ok = all(passed for passed, _ in outcomes)
        body: dict[str, Any] = {"status": "ready" if all_ok else "not_ready", "checks": results}
        return JSONResponse(body, status_code=200 if all_ok else 503)

    @router.get("/metrics", summary="Prometheus exposition", response_class=Response)
    async def prometheus_metrics(request: Request) -> Response:
        body, content_type = metrics.render(request.headers.get("accept"))
        return Response(content=body, headers={"Content-Type": content_type})

    return router
