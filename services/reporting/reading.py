"""What every report route needs: the reader's roles, the programme's calendar, the views."""

from __future__ import annotations

from datetime import date
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, Request

from services.reporting.settings import ReportingSettings
from services.reporting.views import ReportingViews
from shared.auth import Principal, Role, require_roles
from shared.eventstore.model import utc_now
from shared.http.deps import get_runtime
from shared.settings import ServiceSettings

ReportReader = Annotated[
    Principal, Depends(require_roles(Role.manager, Role.admin, Role.auditor, Role.partner))
]


def zone_of(settings: ServiceSettings) -> ZoneInfo:
    """The programme's calendar (UTC for a runtime not built on ReportingSettings)."""
    return settings.zone if isinstance(settings, ReportingSettings) else ZoneInfo("UTC")


def today_in(settings: ServiceSettings) -> date:
    return utc_now().astimezone(zone_of(settings)).date()


def programme_of(settings: ServiceSettings) -> str:
    """The heading of a printed report."""
    if isinstance(settings, ReportingSettings):
        return settings.report_programme
    return ReportingSettings.model_fields["report_programme"].default  # type: ignore[no-any-return]


def live_views(request: Request) -> ReportingViews:
    """The live generation of views (swapped by a rebuild), as the start-up found it."""
    runtime = get_runtime(request)
    database = getattr(request.app.state, "views_database", runtime.settings.database)
    return ReportingViews.on(runtime.mongo, database, zone_of(runtime.settings))


Views = Annotated[ReportingViews, Depends(live_views)]
