"""Builds a service's FastAPI app with everything every service shares.

Auth, the error vocabulary, the "never collected" refusal, request telemetry, and the
operations endpoints are installed here once, so no service can forget one of them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from shared.auth import TokenVerifier
from shared.http.audit import audit_router
from shared.http.errors import install_error_handlers
from shared.http.middleware import RequestTelemetryMiddleware
from shared.http.never_collected import NeverCollectedMiddleware
from shared.http.openapi import install_error_responses
from shared.http.ops import ops_router
from shared.http.params import reject_unknown_query_parameters
from shared.http.rate_limit import TokenBuckets
from shared.observability.logging import configure_logging
from shared.observability.metrics import ServiceMetrics
from shared.observability.tracing import configure_tracing
from shared.policy import NeverCollectedPolicy
from shared.runtime import ServiceRuntime
from shared.settings import ServiceSettings

Wiring = Callable[[ServiceRuntime], None]
"""Registers a service's consumers on its runtime before it starts."""
StartHook = Callable[[FastAPI, ServiceRuntime], Awaitable[None]]
"""Runs before the runtime starts its consumers and relay: a service's own indexes, keys and
handler context, which the first message a consumer receives may already need."""


def create_service_app(
    settings: ServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    wire: Wiring | None = None,
    on_start: StartHook | None = None,
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level)
    configure_tracing(settings.service_name, otlp_endpoint=settings.otlp_endpoint)
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = ServiceRuntime(settings, metrics)
        if wire is not None:
            wire(runtime)
        await runtime.wait_for_servers()
        if on_start is not None:
            await on_start(app, runtime)
        await runtime.start()
        app.state.runtime = runtime
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=title,
        description=description,
        version="1",
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_parameters)],
        # FastAPI's own telemetry would open a second server span per request, in a trace of
        # its own: RequestTelemetryMiddleware is the one span, metric and log line per request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.settings = settings
    app.state.token_verifier = TokenVerifier(
        secret=settings.jwt_secret, algorithm=settings.jwt_algorithm, jwks_url=settings.jwt_jwks_url
    )
    app.state.lookup_limits = TokenBuckets(
        per_minute=settings.lookup_rate_per_minute, burst=settings.lookup_burst
    )
    install_error_handlers(app)
    install_error_responses(app)
    app.add_middleware(
        NeverCollectedMiddleware, policy=NeverCollectedPolicy(settings.never_collected)
    )
    app.add_middleware(
        RequestTelemetryMiddleware, metrics=metrics, tracer_name=f"bensys.{settings.service_name}"
    )

    async def database() -> None:
        await _runtime(app).database_answers()

    async def broker() -> None:
        await _runtime(app).broker_answers()

    app.include_router(
        ops_router(
            service=settings.service_name,
            metrics=metrics,
            readiness={"database": database, "broker": broker},
        )
    )
    app.include_router(audit_router(settings.service_name))
    for router in routers:
        app.include_router(router)
    return app


def _runtime(app: FastAPI) -> ServiceRuntime:
    runtime = getattr(app.state, "runtime", None)
    if runtime is None:
        raise RuntimeError("the service is still starting")
    return runtime  # type: ignore[no-any-return]
