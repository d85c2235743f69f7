"""One trace from the HTTP command to the last consumer that applied its events.

The trace crosses the database and Kafka, where no in-process context survives: the outbox
stores :func:`current_traceparent` with each event at append time, the relay copies it to a
Kafka header, and the consumer continues from it with :func:`context_from_traceparent`. The
W3C ``traceparent`` string is the whole hand-over, so nothing here depends on the exporter.
"""

from __future__ import annotations

import logging

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_log = logging.getLogger("bensys.tracing")

# Only W3C trace context, whatever OTEL_PROPAGATORS says: this is the format stored with
# events, and baggage must not ride along into the event store.
_PROPAGATOR = TraceContextTextMapPropagator()
_EXPORTING_TO: set[str] = set()
"""Collectors an exporter was attached for: a second app in one process must not double it."""


def configure_tracing(
    service: str,
    *,
    exporter: SpanExporter | None = None,
    otlp_endpoint: str | None = None,
) -> TracerProvider:
    """The process's tracer provider, created on first call as ``bensys-<service>``.

    Tests pass an ``InMemorySpanExporter``; it is attached with a ``SimpleSpanProcessor`` so
    spans are there as soon as they end, with no flush to wait for. ``otlp_endpoint`` (the
    collector's base URL, e.g. ``http://otel-collector:4318``) adds an OTLP/HTTP exporter
    behind a ``BatchSpanProcessor``: spans leave in the background, and a collector that is
    away costs dropped spans, never a slower request. Without either, spans are still
    created, giving trace ids to logs and traceparents to events.

    OpenTelemetry lets the global provider be set once per process. When one is set already
    (an earlier call, or another app in the same process) it is kept and returned, with the
    exporter attached to it.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        provider = current
    else:
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: f"bensys-{service}"}))
        if isinstance(current, trace.ProxyTracerProvider):
            trace.set_tracer_provider(provider)
        else:
            _log.warning(
                "a non-SDK tracer provider (%s) is set globally; bensys-%s spans go only to "
                "the exporter given here",
                type(current).__name__,
                service,
            )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    if otlp_endpoint and otlp_endpoint not in _EXPORTING_TO:
        _EXPORTING_TO.add(otlp_endpoint)
        endpoint = otlp_endpoint.rstrip("/") + "/v1/traces"
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
        _log.info("exporting spans to %s", endpoint)
    return provider


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the span in progress, or None outside any span."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def traceparent_of(span: trace.Span) -> str | None:
    """The W3C ``traceparent`` naming ``span``, whether or not it is the current one."""
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier.get("traceparent")


def context_from_traceparent(traceparent: str | None, tracestate: str | None = None) -> Context:
    """A context whose spans continue the trace ``traceparent`` names.

    Starts from an empty context rather than the current one, so a consumer never attaches
    an event's work to whatever span happens to be active; a missing or malformed value
    gives an empty context, in which the next span starts a new trace.
    """
    if not traceparent:
        return Context()
    carrier = {"traceparent": traceparent}
    if tracestate:
        carrier["tracestate"] = tracestate
    return _PROPAGATOR.extract(carrier, context=Context())
