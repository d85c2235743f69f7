"""A span, a latency sample and a log line for every HTTP request.

Written as plain ASGI rather than ``BaseHTTPMiddleware`` so that the span stays current while
the route runs (``BaseHTTPMiddleware`` runs the route in another task) and responses stream
through untouched. Labels and span names use the route template (``/people/{person_id}``),
never the raw path: a person id in a label would make one time series per person.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability.metrics import ServiceMetrics
from shared.observability.tracing import context_from_traceparent

_log = logging.getLogger("bensys.http")

UNMATCHED_ROUTE = "<unmatched>"
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _route_template(scope: Scope, root_path_before: str) -> str | None:
    """The matched route's path template, with the prefix of any mount it sits under."""
    route: Any = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str):
        return None
    root_path = str(scope.get("root_path", ""))
    mount_prefix = root_path.removeprefix(root_path_before)
    return mount_prefix + template


class RequestTelemetryMiddleware:
    """Traces, measures and logs each HTTP request; other ASGI traffic passes straight through.

    ``tracer_provider`` defaults to the global one (see ``configure_tracing``); tests pass
    their own to collect spans without touching process-wide state.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: ServiceMetrics,
        tracer_name: str,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.tracer = trace.get_tracer(tracer_name, tracer_provider=tracer_provider)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = str(scope["method"]).upper()
        path = str(scope.get("path", ""))
        root_path_before = str(scope.get("root_path", ""))
        parent = context_from_traceparent(
            _header(scope, b"traceparent"), _header(scope, b"tracestate")
        )
        status = 500  # what the server sends if the app fails before starting a response

        async def send_recording_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        with self.tracer.start_as_current_span(
            f"{method} {path}",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
        ) as span:
            started = time.perf_counter()
            try:
                await self.app(scope, receive, send_recording_status)
            finally:
                duration = time.perf_counter() - started
                route = _route_template(scope, root_path_before)
                if route is not None:
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
                if status >= 500:
                    span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
                self.metrics.http_requests.labels(
                    method=method if method in _KNOWN_METHODS else "_OTHER",
                    route=route or UNMATCHED_ROUTE,
                    status=str(status),
                ).observe(duration)
                duration_ms = round(duration * 1000, 3)
                _log.info(
                    "%s %s %d in %.1f ms",
                    method,
                    route or path,
                    status,
                    duration_ms,
                    extra={
                        "method": method,
                        "route": route or UNMATCHED_ROUTE,
                        "status": status,
                        "duration_ms": duration_ms,
                    },
                )
