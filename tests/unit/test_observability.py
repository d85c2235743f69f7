"""Logs, traces and metrics: what an operator relies on to follow one request across services."""

from __future__ import annotations

import http.server
import json
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timedelta
from typing import ClassVar

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry import trace
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.util._once import Once

from shared.http.errors import install_error_handlers
from shared.http.middleware import RequestTelemetryMiddleware
from shared.observability import (
    ServiceMetrics,
    configure_logging,
    configure_tracing,
    context_from_traceparent,
    current_traceparent,
)

INCOMING_TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
INCOMING_SPAN_ID = "00f067aa0ba902b7"
INCOMING_TRACEPARENT = f"00-{INCOMING_TRACE_ID}-{INCOMING_SPAN_ID}-01"


# --- metrics --------------------------------------------------------------------------------


def test_each_service_metrics_has_its_own_registry() -> None:
    first, second = ServiceMetrics(), ServiceMetrics()

    first.relay_published.inc(5)

    assert first.registry.get_sample_value("bensys_relay_published_total") == 5
    assert second.registry.get_sample_value("bensys_relay_published_total") == 0


def test_every_metric_is_named_bensys_and_rendered() -> None:
    metrics = ServiceMetrics()
    metrics.consumer_lag.labels(group="cards", topic="bensys.registry.v1", partition="2").set(7)
    metrics.consumer_processed.labels(group="cards", type="PersonRegistered").inc()
    metrics.consumer_duplicates.labels(group="cards").inc()
    metrics.consumer_dead_lettered.labels(group="cards").inc()
    metrics.relay_backlog.set(12)

    body, content_type = metrics.render()

    names = {family.name for family in metrics.registry.collect()}
    assert names == {
        "bensys_http_request_duration_seconds",
        "bensys_events_appended",
        "bensys_relay_published",
        "bensys_relay_backlog",
        "bensys_consumer_processed",
        "bensys_consumer_duplicates",
        "bensys_consumer_dead_lettered",
        "bensys_consumer_lag",
    }
    assert content_type.startswith("text/plain")
    text = body.decode()
    assert 'bensys_consumer_lag{group="cards",partition="2",topic="bensys.registry.v1"} 7.0' in text
    assert "bensys_relay_backlog 12.0" in text


# --- logging --------------------------------------------------------------------------------


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """configure_logging changes process-wide loggers: put them back for the next test."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {
        name: (
            list(logging.getLogger(name).handlers),
            logging.getLogger(name).propagate,
            logging.getLogger(name).level,
        )
        for name in names
    }
    yield
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    for name, (handlers, propagate, level) in saved.items():
        logging.getLogger(name).handlers[:] = handlers
        logging.getLogger(name).propagate = propagate
        logging.getLogger(name).setLevel(level)


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.mark.usefixtures("restored_logging")
def test_log_lines_are_json_with_service_and_extra_fields(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("registry", "DEBUG")

    logging.getLogger("bensys.test").info(
        "person %s registered", "p-1", extra={"person_id": "p-1", "site": "Kaafu Atoll"}
    )

    [line] = json_lines(capsys.readouterr().err)
    assert line["message"] == "person p-1 registered"
    assert line["level"] == "INFO"
    assert line["logger"] == "bensys.test"
    assert line["service"] == "registry"
    assert line["person_id"] == "p-1"
    assert line["site"] == "Kaafu Atoll"
    assert "trace_id" not in line
    ts = datetime.fromisoformat(str(line["ts"]))
    assert ts.utcoffset() == timedelta(0)


@pytest.mark.usefixtures("restored_logging")
def test_configuring_twice_does_not_duplicate_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("registry")
    configure_logging("registry", "info")

    logging.getLogger("bensys.test").warning("once")

    assert [line["message"] for line in json_lines(capsys.readouterr().err)] == ["once"]


@pytest.mark.usefixtures("restored_logging")
def test_the_level_filters_lines(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("cards", "WARNING")

    logging.getLogger("bensys.test").info("too chatty")
    logging.getLogger("bensys.test").warning("worth seeing")

    assert [line["message"] for line in json_lines(capsys.readouterr().err)] == ["worth seeing"]


@pytest.mark.usefixtures("restored_logging")
def test_a_line_logged_inside_a_span_carries_its_trace_and_span_ids(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging("registry")
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("work") as span:
        logging.getLogger("bensys.test").info("inside")
    context = span.get_span_context()

    [line] = json_lines(capsys.readouterr().err)
    assert line["trace_id"] == f"{context.trace_id:032x}"
    assert line["span_id"] == f"{context.span_id:016x}"


@pytest.mark.usefixtures("restored_logging")
def test_an_exception_is_logged_with_its_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("registry")

    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("bensys.test").exception("failed")

    [line] = json_lines(capsys.readouterr().err)
    assert "Traceback" in str(line["exception"])
    assert "ValueError: boom" in str(line["exception"])


@pytest.mark.usefixtures("restored_logging")
def test_uvicorn_logs_come_out_as_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    logging.getLogger("uvicorn.error").addHandler(logging.StreamHandler())  # as uvicorn does
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # as its log_level may
    configure_logging("registry")

    logging.getLogger("uvicorn.error").info("Application startup complete.")

    [line] = json_lines(capsys.readouterr().err)
    assert line["logger"] == "uvicorn.error"
    assert line["message"] == "Application startup complete."


# --- tracing --------------------------------------------------------------------------------


@pytest.fixture
def unset_global_tracer_provider() -> Iterator[None]:
    """OpenTelemetry allows one global provider per process; these tests need a fresh slate.

    There is no public reset, so this swaps the module globals OpenTelemetry's own test
    utilities reset, and restores them afterwards.
    """
    saved = (trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE)
    trace._TRACER_PROVIDER = None
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    yield
    trace._TRACER_PROVIDER, trace._TRACER_PROVIDER_SET_ONCE = saved


@pytest.mark.usefixtures("unset_global_tracer_provider")
def test_configure_tracing_installs_a_provider_named_after_the_service() -> None:
    exporter = InMemorySpanExporter()

    provider = configure_tracing("registry", exporter=exporter)
    with trace.get_tracer("test").start_as_current_span("register"):
        pass

    assert trace.get_tracer_provider() is provider
    [span] = exporter.get_finished_spans()
    assert span.name == "register"
    assert span.resource.attributes["service.name"] == "bensys-registry"


@pytest.mark.usefixtures("unset_global_tracer_provider")
def test_configure_tracing_keeps_the_provider_already_set() -> None:
    first = configure_tracing("registry")
    exporter = InMemorySpanExporter()

    second = configure_tracing("cards", exporter=exporter)
    with trace.get_tracer("test").start_as_current_span("issue"):
        pass

    assert second is first
    assert [span.name for span in exporter.get_finished_spans()] == ["issue"]


class CollectorStub(http.server.BaseHTTPRequestHandler):
    """An OTLP/HTTP collector's trace endpoint: keeps what it receives."""

    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append((self.path, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_: object) -> None:
        pass


@pytest.mark.usefixtures("unset_global_tracer_provider")
def test_spans_reach_an_otlp_collector_when_an_endpoint_is_set() -> None:
    server = http.server.HTTPServer(("127.0.0.1", 0), CollectorStub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        endpoint = f"http://127.0.0.1:{server.server_port}"
        provider = configure_tracing("registry", otlp_endpoint=endpoint)
        with trace.get_tracer("test").start_as_current_span("register a migrant"):
            pass
        assert provider.force_flush(10_000)
    finally:
        server.shutdown()
    [(path, body)] = CollectorStub.received
    assert path == "/v1/traces"
    request = ExportTraceServiceRequest.FromString(body)
    [resource_spans] = request.resource_spans
    service = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
    assert service["service.name"] == "bensys-registry"
    assert [s.name for ss in resource_spans.scope_spans for s in ss.spans] == ["register a migrant"]


def test_there_is_no_traceparent_outside_a_span() -> None:
    assert current_traceparent() is None


def test_the_traceparent_names_the_current_span() -> None:
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("append") as span:
        traceparent = current_traceparent()

    assert traceparent == _traceparent_of(span)


def test_a_stored_traceparent_continues_the_trace_elsewhere() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")

    with tracer.start_as_current_span(
        "consume", context=context_from_traceparent(INCOMING_TRACEPARENT)
    ):
        pass

    [span] = exporter.get_finished_spans()
    assert _trace_id(span) == INCOMING_TRACE_ID
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == INCOMING_SPAN_ID


@pytest.mark.parametrize("traceparent", [None, "", "not-a-traceparent"])
def test_without_a_usable_traceparent_a_new_trace_starts(traceparent: str | None) -> None:
    tracer = TracerProvider().get_tracer("test")

    with (
        tracer.start_as_current_span("outer"),
        tracer.start_as_current_span(
            "consume", context=context_from_traceparent(traceparent)
        ) as span,
    ):
        pass

    assert isinstance(span, ReadableSpan)
    assert span.parent is None


def _traceparent_of(span: trace.Span | ReadableSpan) -> str:
    context = span.get_span_context()
    assert context is not None
    return f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"


def _trace_id(span: ReadableSpan) -> str:
    assert span.context is not None
    return f"{span.context.trace_id:032x}"


# --- request telemetry middleware -----------------------------------------------------------


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.metrics = ServiceMetrics()
        self.traceparents_seen_by_routes: list[str | None] = []

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def requests_counted(self, method: str, route: str, status: int) -> float | None:
        return self.metrics.registry.get_sample_value(
            "bensys_http_request_duration_seconds_count",
            {"method": method, "route": route, "status": str(status)},
        )


@pytest.fixture
def telemetry() -> Telemetry:
    return Telemetry()


@pytest.fixture
async def client(telemetry: Telemetry) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/people/{person_id}")
    async def read_person(person_id: str) -> dict[str, str]:
        telemetry.traceparents_seen_by_routes.append(current_traceparent())
        return {"person_id": person_id}

    @app.get("/broken")
    async def broken() -> None:
        raise RuntimeError("bug")

    items = FastAPI()

    @items.get("/items/{item_id}")
    async def read_item(item_id: int) -> dict[str, int]:
        return {"item_id": item_id}

    app.mount("/v1", items)
    app.add_middleware(
        RequestTelemetryMiddleware,
        metrics=telemetry.metrics,
        tracer_name="test",
        tracer_provider=telemetry.provider,
    )
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def test_a_request_gets_a_server_span_named_after_its_route(
    client: httpx.AsyncClient, telemetry: Telemetry
) -> None:
    await client.get("/people/p-123")

    [span] = telemetry.spans()
    assert span.name == "GET /people/{person_id}"
    assert span.kind is SpanKind.SERVER
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/people/{person_id}"
    assert span.attributes["http.response.status_code"] == 200
    assert span.status.status_code is StatusCode.UNSET


async def test_the_span_is_current_while_the_route_runs(
    client: httpx.AsyncClient, telemetry: Telemetry
) -> None:
    await client.get("/people/p-123")

    # The route runs inside the request's trace. Its current span may be a descendant of ours:
    # FastAPI opens spans of its own (fastapi.endpoint, ...) when a global provider is set.
    [span] = telemetry.spans()
    [seen] = telemetry.traceparents_seen_by_routes
    assert seen is not None
    assert seen.split("-")[1] == _traceparent_of(span).split("-")[1]


async def test_an_incoming_traceparent_is_continued(
    client: httpx.AsyncClient, telemetry: Telemetry
) -> None:
    await client.get("/people/p-1", headers={"traceparent": INCOMING_TRACEPARENT})

    [span] = telemetry.spans()
    assert _trace_id(span) == INCOMING_TRACE_ID
    assert span.parent is not None
    assert f"{span.parent.span_id:016x}" == INCOMING_SPAN_ID


async def test_latency_is_labelled_by_route_template_not_by_person(
    client: httpx.AsyncClient, telemetry: Telemetry
) -> None:
    await client.get("/people/p-1")
    await client.get("/people/p-2")

    assert telemetry.requests_counted("GET", "/people/{person_id}", 200) == 2
    assert telemetry.requests_counted("GET", "/people/p-1", 200) is None


async def test_a_failing_route_is_counted_as_500_and_marks_the_span_as_error(
    client: httpx.AsyncClient, telemetry: Telemetry
) -> None:
    response = await client.get("/broken")

    assert response.status_code == 500
    assert telemetry.requests_counted("GET", "/broken", 500) == 1
    [span] = telemetry.spans()
    assert span.status.status_code is StatusCode.ERROR


async def test_an_unknown_path_does_not_become_a_label(
    client: httpx.AsyncClient, telemetry: Telemetry
) -> None:
    await client.get("/wp-admin/setup.php")

    assert telemetry.requests_counted("GET", "<unmatched>", 404) == 1
    [span] = telemetry.spans()
    assert span.name == "GET /wp-admin/setup.php"
    assert span.status.status_code is StatusCode.UNSET


async def test_a_route_in_a_mounted_app_keeps_its_mount_prefix(
    client: httpx.AsyncClient, telemetry: Telemetry
) -> None:
    await client.get("/v1/items/42")

    assert telemetry.requests_counted("GET", "/v1/items/{item_id}", 200) == 1
    assert [span.name for span in telemetry.spans()] == ["GET /v1/items/{item_id}"]


async def test_each_request_is_logged_once_with_route_status_and_duration(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="bensys.http"):
        await client.get("/people/p-9")

    [record] = [r for r in caplog.records if r.name == "bensys.http"]
    assert record.__dict__["method"] == "GET"
    assert record.__dict__["route"] == "/people/{person_id}"
    assert record.__dict__["status"] == 200
    assert record.__dict__["duration_ms"] >= 0
