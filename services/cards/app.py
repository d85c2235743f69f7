from fastapi import FastAPI

from services.cards.settings import CardsSettings
from shared.http.app import create_service_app


def create_app(settings: CardsSettings | None = None) -> FastAPI:
    # The cards domain arrives with its own issue; the process, store and relay run already.
    return create_service_app(
        settings or CardsSettings(),
        title="BenSys cards",
        description="Issues BenCards and verifies them for health providers.",
    )
