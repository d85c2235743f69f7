from fastapi import FastAPI

from services.distribution import api, catalogue_api, group_api, repatriation_api
from services.distribution.context import Distribution
from services.distribution.settings import DistributionSettings
from shared.contracts.catalog import CATALOG
from shared.http.app import create_service_app
from shared.runtime import ServiceRuntime


def create_app(settings: DistributionSettings | None = None) -> FastAPI:
    made: list[Distribution] = []

    def wire(runtime: ServiceRuntime) -> None:
        # Built here, not at start: a broken catalogue file stops the service before it serves.
        distribution = Distribution.on(runtime)
        made.append(distribution)
        runtime.add_consumer(
            "distribution",
            distribution.facts.projectors(),
            CATALOG,
            "registry",
            "cards",
            batches=True,
        )

    async def on_start(app: FastAPI, _: ServiceRuntime) -> None:
        await made[-1].start()
        app.state.distribution = made[-1]
        app.state.catalogue = made[-1].catalogue

    return create_service_app(
        settings or DistributionSettings(),
        title="BenSys distribution",
        description="Records every form of relief delivered, recorded once and counted right.",
        routers=[catalogue_api.router, api.router, group_api.router, repatriation_api.router],
        wire=wire,
        on_start=on_start,
    )
