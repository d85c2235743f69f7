"""The numbers an operator watches to know a service keeps up: latency, throughput, backlog, lag.

Each service owns one :class:`ServiceMetrics` with its own registry instead of the process-wide
default one, so that tests (and a process hosting several apps) can build many without
"Duplicated timeseries" errors and without one app's numbers leaking into another's.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder

PREFIX = "bensys_"


class ServiceMetrics:
    """All metrics a BenSys service exports, named ``bensys_*``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.http_requests = Histogram(
            f"{PREFIX}http_request_duration_seconds",
            "Time to answer an HTTP request, by route template (not raw path) and status.",
            ["method", "route", "status"],
            registry=registry,
        )
        self.events_appended = Counter(
            f"{PREFIX}events_appended",
            "Events appended to this service's event store, by event type.",
            ["type"],
            registry=registry,
        )
        self.relay_published = Counter(
            f"{PREFIX}relay_published",
            "Outbox events the relay has published to Kafka.",
            registry=registry,
        )
        self.relay_backlog = Gauge(
            f"{PREFIX}relay_backlog",
            "Outbox events appended but not yet published.",
            registry=registry,
        )
        self.consumer_processed = Counter(
            f"{PREFIX}consumer_processed",
            "Events a consumer group has applied, by event type.",
            ["group", "type"],
            registry=registry,
        )
        self.consumer_duplicates = Counter(
            f"{PREFIX}consumer_duplicates",
            "Redelivered events a consumer group recognised and skipped.",
            ["group"],
            registry=registry,
        )
        self.consumer_dead_lettered = Counter(
            f"{PREFIX}consumer_dead_lettered",
            "Events a consumer group gave up on and sent to the dead-letter topic.",
            ["group"],
            registry=registry,
        )
        self.consumer_lag = Gauge(
            f"{PREFIX}consumer_lag",
            "Messages on a partition not yet consumed by the group.",
            ["group", "topic", "partition"],
            registry=registry,
        )

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The exposition body and its content type.

        ``accept`` is the scraper's ``Accept`` header: without one the classic text format
        (version 0.0.4) comes back, which every Prometheus version reads; OpenMetrics is
        served to scrapers that ask for it.
        """
        encoder, content_type = choose_encoder(accept or "")
        return encoder(self.registry), content_type
