from __future__ import annotations

from fastapi import FastAPI

from services.reporting import admin_api, audit_api, dashboard_api, outputs_api, partner_feed
from services.reporting.admin_api import PRODUCERS
from services.reporting.api import router
from services.reporting.partner_feed import PartnerFeed
from services.reporting.partners import load_partners
from services.reporting.settings import ReportingSettings
from services.reporting.views import ReportingViews, live_database
from shared.contracts.catalog import CATALOG
from shared.http.app import create_service_app
from shared.messaging.consumer import IdempotentConsumer
from shared.runtime import ServiceRuntime

GROUP = "reporting"


def wire(runtime: ServiceRuntime) -> None:
    # Wired to the service's own database; on_start points it at the live generation.
    views = ReportingViews.on(runtime.mongo, runtime.settings.database, settings_of(runtime).zone)
    runtime.add_consumer(GROUP, views.projectors(), CATALOG, *PRODUCERS, batches=True)
    settings = settings_of(runtime)
    if settings.partners_dir is not None:  # a bad partner file stops the service here
        feed = PartnerFeed(
            load_partners(settings.partners_dir),
            runtime.publisher,
            settings.topic("partner"),
            settings.zone,
        )
        runtime.add_consumer(partner_feed.GROUP, feed.projectors(), CATALOG, *PRODUCERS)


async def on_start(app: FastAPI, runtime: ServiceRuntime) -> None:
    """Before the consumer starts: find the live generation and write into it."""
    live = await live_database(runtime.mongo, runtime.settings.database)
    views = ReportingViews.on(runtime.mongo, live, settings_of(runtime).zone)
    await views.ensure_indexes()
    consumer(runtime).retarget(live, views.projectors())
    app.state.views_database = live


def consumer(runtime: ServiceRuntime) -> IdempotentConsumer:
    [live] = [c for c in runtime.consumers if c.group == GROUP]
    return live


def settings_of(runtime: ServiceRuntime) -> ReportingSettings:
    settings = runtime.settings
    if not isinstance(settings, ReportingSettings):
        raise TypeError("the reporting service runs on ReportingSettings")
    return settings


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    return create_service_app(
        settings or ReportingSettings(),
        title="BenSys reporting",
        description="Read models built from every service's events: outputs and audit.",
        routers=[
            router,
            outputs_api.router,
            audit_api.router,
            admin_api.router,
            dashboard_api.router,
        ],
        wire=wire,
        on_start=on_start,
    )
