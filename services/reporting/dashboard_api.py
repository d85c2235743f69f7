"""``GET /dashboard``: the month's figures and charts in a browser, served by reporting.

The page is static: it asks ``/reports/monthly`` with the token the reader pastes (or passes
as ``#token=`` in the address), so it shows exactly what that role may see, suppressed for a
partner. Its words are in a table per language (``?lang=``), English first.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from services.reporting.reading import programme_of
from shared.http.deps import Runtime

router = APIRouter(tags=["dashboard"])


@cache
def _page() -> str:
    return resources.files("services.reporting").joinpath("dashboard/index.html").read_text()


@router.get("/dashboard", response_class=HTMLResponse, summary="The month's figures and charts")
async def dashboard(
    runtime: Runtime,
    lang: Annotated[
        str | None, Query(description="The page's language (read by the page); default en")
    ] = None,
) -> HTMLResponse:
    settings = runtime.settings
    page = (
        _page()
        .replace("{{SITES}}", _script_json(list(settings.sites)))
        .replace("{{PROGRAMME}}", _script_json(programme_of(settings)))
    )
    return HTMLResponse(
        page,
        headers={
            "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; img-src 'self' data:",
            "Cache-Control": "no-store",
        },
    )


def _script_json(value: object) -> str:
    """JSON safe inside a <script>: no "</script>" can close it early."""
    return json.dumps(value).replace("<", "\\u003c")
