"""``POST /admin/rebuild``: every reporting view rebuilt from the log and swapped in."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from services.reporting.reading import zone_of
from services.reporting.rebuild import RebuildFailed, rebuild
from services.reporting.views import ReportingViews
from shared.auth import Principal, Role, require_roles
from shared.errors import Conflict
from shared.http.deps import Runtime

router = APIRouter(prefix="/admin", tags=["admin"])
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
PRODUCERS = ("registry", "cards", "distribution", "helpline")
REBUILDING = asyncio.Lock()
"""Held while a rebuild runs: a second one is refused, not queued."""


@router.post(
    "/rebuild",
    summary="Replay every topic from the beginning into fresh views, then swap them in",
    description="Reports keep answering from the current views until the swap. Takes as long "
    "as the log is long; one rebuild at a time (409 while one runs).",
)
async def rebuild_views(request: Request, runtime: Runtime, _: Admin) -> dict[str, Any]:
    if REBUILDING.locked():
        raise Conflict("a rebuild is already running: wait for it to finish")
    async with REBUILDING:
        [live] = [c for c in runtime.consumers if c.group == "reporting"]
        zone = zone_of(runtime.settings)

        def swapped(database: str) -> None:
            request.app.state.views_database = database

        try:
            result = await rebuild(
                client=runtime.mongo,
                base=runtime.settings.database,
                live=live,
                new_views=lambda database: ReportingViews.on(runtime.mongo, database, zone),
                bootstrap=runtime.settings.kafka_bootstrap,
                topics=[runtime.settings.topic(p) for p in PRODUCERS],
                on_swap=swapped,
            )
        except RebuildFailed as failed:
            raise Conflict(
                f"the rebuild failed and the live views are unchanged: {failed}"
            ) from None
    return asdict(result)
