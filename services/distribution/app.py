from fastapi import FastAPI

from services.distribution.settings import DistributionSettings
from shared.http.app import create_service_app


def create_app(settings: DistributionSettings | None = None) -> FastAPI:
    # The distribution domain arrives with its own issue; the process, store and relay run already.
    return create_service_app(
        settings or DistributionSettings(),
        title="BenSys distribution",
        description="Records every form of relief delivered.",
    )
