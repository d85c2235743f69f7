from fastapi import FastAPI

from services.helpline.settings import HelplineSettings
from shared.http.app import create_service_app


def create_app(settings: HelplineSettings | None = None) -> FastAPI:
    # The helpline domain arrives with its own issue; the process, store and relay run already.
    return create_service_app(
        settings or HelplineSettings(),
        title="BenSys helpline",
        description="Logs the toll-free helpline's calls, referrals and follow-ups.",
    )
