from fastapi import FastAPI

from services.reporting.api import router
from services.reporting.deliveries import DeliveryCounts
from services.reporting.projections import RegistrationCounts
from services.reporting.settings import ReportingSettings
from services.reporting.vaccinations import VaccinationCounts
from shared.contracts.catalog import CATALOG
from shared.http.app import create_service_app
from shared.runtime import ServiceRuntime


def wire(runtime: ServiceRuntime) -> None:
    counts = RegistrationCounts(runtime.mongo, runtime.settings.database)
    vaccinations = VaccinationCounts(runtime.mongo, runtime.settings.database)
    deliveries = DeliveryCounts(runtime.mongo, runtime.settings.database)
    runtime.add_consumer(
        "reporting",
        {**counts.projectors(), **vaccinations.projectors(), **deliveries.projectors()},
        CATALOG,
        "registry",
        "cards",
        "distribution",
    )


async def on_start(_: FastAPI, runtime: ServiceRuntime) -> None:
    await DeliveryCounts(runtime.mongo, runtime.settings.database).ensure_indexes()


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings or ReportingSettings(),
        title="BenSys reporting",
        description="Read models built from every service's events: outputs and audit.",
        routers=[router],
        wire=wire,
        on_start=on_start,
    )
