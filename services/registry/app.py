from fastapi import FastAPI

from services.registry import api, consent_api, disclosures_api, duplicates_api, imports_api
from services.registry.card_numbers import CardNumbers
from services.registry.context import Registry
from services.registry.settings import RegistrySettings
from shared.contracts.catalog import CATALOG
from shared.http.app import create_service_app
from shared.runtime import ServiceRuntime


def wire(runtime: ServiceRuntime) -> None:
    # Card numbers, for search: the only facts the registry takes from another service.
    cards = CardNumbers(runtime.mongo, runtime.settings.database)
    runtime.add_consumer("registry", cards.projectors(), CATALOG, "cards", batches=True)


async def on_start(app: FastAPI, runtime: ServiceRuntime) -> None:
    registry = Registry.on(runtime)
    await registry.people.ensure_indexes()
    app.state.registry = registry


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        settings or RegistrySettings(),
        title="BenSys registry",
        description="Registers migrants with their consent and guards their personal data.",
        routers=[
            api.router,
            consent_api.router,
            duplicates_api.router,
            disclosures_api.router,
            imports_api.router,
        ],
        wire=wire,
        on_start=on_start,
    )
