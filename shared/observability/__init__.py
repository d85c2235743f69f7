"""Logs, traces and metrics, set up the same way in every service."""

from shared.observability.logging import configure_logging
from shared.observability.metrics import ServiceMetrics
from shared.observability.tracing import (
    configure_tracing,
    context_from_traceparent,
    current_traceparent,
)

__all__ = [
    "ServiceMetrics",
    "configure_logging",
    "configure_tracing",
    "context_from_traceparent",
    "current_traceparent",
]
