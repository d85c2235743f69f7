from collections.abc import Mapping

from fastapi import FastAPI
from pymongo.asynchronous.client_session import AsyncClientSession

from services.reporting import audit_api, outputs_api
from services.reporting.activity_facts import ActivityFacts
from services.reporting.api import router
from services.reporting.audit_trail import AuditTrail
from services.reporting.deliveries import DeliveryCounts
from services.reporting.projections import RegistrationCounts
from services.reporting.settings import ReportingSettings
from services.reporting.vaccinations import VaccinationCounts
from shared.contracts.base import Event
from shared.contracts.catalog import CATALOG
from shared.http.app import create_service_app
from shared.messaging.consumer import Projector
from shared.messaging.envelope import Envelope
from shared.runtime import ServiceRuntime


def wire(runtime: ServiceRuntime) -> None:
    database, zone = runtime.settings.database, _settings(runtime).zone
    counts = RegistrationCounts(runtime.mongo, database)
    vaccinations = VaccinationCounts(runtime.mongo, database)
    deliveries = DeliveryCounts(runtime.mongo, database, zone)
    activities = ActivityFacts(runtime.mongo, database, zone)
    trail = AuditTrail(runtime.mongo, database)
    runtime.add_consumer(
        "reporting",
        merge_projectors(
            counts.projectors(),
            vaccinations.projectors(),
            deliveries.projectors(),
            activities.projectors(),
            trail.projectors(),
        ),
        CATALOG,
        "registry",
        "cards",
        "distribution",
        "helpline",
    )


async def on_start(_: FastAPI, runtime: ServiceRuntime) -> None:
    database, zone = runtime.settings.database, _settings(runtime).zone
    await DeliveryCounts(runtime.mongo, database, zone).ensure_indexes()
    await ActivityFacts(runtime.mongo, database, zone).ensure_indexes()
    await AuditTrail(runtime.mongo, database).ensure_indexes()


def _settings(runtime: ServiceRuntime) -> ReportingSettings:
    settings = runtime.settings
    if not isinstance(settings, ReportingSettings):
        raise TypeError("the reporting service runs on ReportingSettings")
    return settings


def merge_projectors(*groups: Mapping[str, Projector]) -> dict[str, Projector]:
    """One handler per event type, calling every projection's in turn (same transaction)."""
    handlers: dict[str, list[Projector]] = {}
    for group in groups:
        for event_type, handler in group.items():
            handlers.setdefault(event_type, []).append(handler)

    def chained(chain: list[Projector]) -> Projector:
        async def handle(envelope: Envelope, event: Event, session: AsyncClientSession) -> None:
            for handler in chain:
                await handler(envelope, event, session)

        return handle

    return {t: chain[0] if len(chain) == 1 else chained(chain) for t, chain in handlers.items()}


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings or ReportingSettings(),
        title="BenSys reporting",
        description="Read models built from every service's events: outputs and audit.",
        routers=[router, outputs_api.router, audit_api.router],
        wire=wire,
        on_start=on_start,
    )
