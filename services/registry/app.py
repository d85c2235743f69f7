from fastapi import FastAPI

from services.registry.api import router
from services.registry.settings import RegistrySettings
from shared.http.app import create_service_app


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return create_service_app(
        settings or RegistrySettings(),
        title="BenSys registry",
        description="Registers migrants with their consent and guards their personal data.",
        routers=[router],
    )
