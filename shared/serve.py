"""Runs one service's app under uvicorn: what ``python -m services.<name>`` does."""

from __future__ import annotations

from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from shared.settings import ServiceSettings


def serve(create_app: Callable[[], FastAPI]) -> None:
    app = create_app()
    settings: ServiceSettings = app.state.settings
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,  # our JSON logging stays in charge
        access_log=False,  # the telemetry middleware logs each request once
    )
