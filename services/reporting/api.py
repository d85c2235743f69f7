"""Reporting routes. Partners get the small-cell-suppressed variant (ARCHITECTURE §4)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query

from services.reporting.daily import DailyActivities
from services.reporting.deliveries import DeliveryCounts, default_period
from services.reporting.projections import RegistrationCounts
from services.reporting.settings import ReportingSettings
from services.reporting.small_cells import breakdown, cell
from services.reporting.vaccinations import VaccinationCounts
from shared.auth import Principal, Role, require_roles
from shared.errors import Invalid
from shared.eventstore.model import utc_now
from shared.http.deps import Runtime

router = APIRouter(prefix="/reports", tags=["reports"])
ReportReader = Annotated[
    Principal, Depends(require_roles(Role.manager, Role.admin, Role.auditor, Role.partner))
]


@router.get("/registrations", summary="People registered, by site and sex")
async def registrations(
    runtime: Runtime,
    principal: ReportReader,
    site: Annotated[str | None, Query(description="Only this site")] = None,
) -> dict[str, Any]:
    rows = await RegistrationCounts(runtime.mongo, runtime.settings.database).rows(site)
    if principal.role is Role.partner:
        return suppress_small_cells(rows, runtime.settings.small_cell_threshold)
    return {
        "total": sum(row["count"] for row in rows),
        "by_site_and_sex": rows,
        "suppressed": False,
    }


@router.get("/vaccinations", summary="People vaccinated: any dose, and per vaccine complete")
async def vaccinations(
    runtime: Runtime,
    principal: ReportReader,
    site: Annotated[str | None, Query(description="Only this site")] = None,
) -> dict[str, Any]:
    summary = await VaccinationCounts(runtime.mongo, runtime.settings.database).summary(site)
    if principal.role is not Role.partner:
        return {**summary, "suppressed": False}
    threshold = runtime.settings.small_cell_threshold

    def shown(count: int) -> int | str:
        return count if count >= threshold else f"<{threshold}"

    return {
        "people_vaccinated": shown(summary["people_vaccinated"]),
        "by_vaccine": [
            {
                "vaccine": row["vaccine"],
                "people_with_a_dose": shown(row["people_with_a_dose"]),
                "people_complete": shown(row["people_complete"]),
            }
            for row in summary["by_vaccine"]
        ],
        "suppressed": True,
    }


@router.get(
    "/deliveries",
    summary="Relief delivered by service: deliveries, units, unique people, group reach",
    description="From `from` to `to` inclusive (default: the last 30 days). Voided deliveries "
    "are left out and counted apart; so are overrides of entitlement rules.",
)
async def deliveries(
    runtime: Runtime,
    principal: ReportReader,
    site: Annotated[str | None, Query(description="Only this site")] = None,
    start: Annotated[date | None, Query(alias="from", description="First day, YYYY-MM-DD")] = None,
    end: Annotated[date | None, Query(alias="to", description="Last day, YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    first, last = default_period(_today(runtime.settings))
    start, end = start or first, end or last
    if start > end:
        raise Invalid(f"from ({start}) is after to ({end})")
    summary = await _deliveries(runtime.settings, runtime).summary(start, end, site)
    if principal.role is not Role.partner:
        return {**summary, "suppressed": False}
    threshold = runtime.settings.small_cell_threshold
    counted = ("deliveries", "units", "unique_people", "people_reached_in_groups")
    return {
        **summary,
        "by_service": [
            {
                **row,
                **{
                    key: row[key] if row[key] == 0 or row[key] >= threshold else f"<{threshold}"
                    for key in counted
                },
            }
            for row in summary["by_service"]
        ],
        "suppressed": True,
    }


def suppress_small_cells(rows: list[dict[str, Any]], threshold: int) -> dict[str, Any]:
    """Counts below the threshold become ``"<N>"``; with any cell hidden, so is the total,
    which would otherwise let the hidden cell be recomputed."""
    shown = [
        {**row, "count": row["count"] if row["count"] >= threshold else f"<{threshold}"}
        for row in rows
    ]
    any_hidden = any(isinstance(row["count"], str) for row in shown)
    total = sum(row["count"] for row in rows)
    return {
        "total": f"<{threshold}" if total < threshold else (None if any_hidden else total),
        "by_site_and_sex": shown,
        "suppressed": True,
    }


@router.get(
    "/daily",
    summary="Daily outputs: registrations, cards, relief by service, doses and calls",
    description="One day (default: today) in the programme's calendar "
    "(`BENSYS_REPORT_TIMEZONE`), at one site or all of them. Voided deliveries are left out.",
)
async def daily(
    runtime: Runtime,
    principal: ReportReader,
    day: Annotated[date | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    site: Annotated[str | None, Query(description="Only this site")] = None,
) -> dict[str, Any]:
    settings = runtime.settings
    if site is not None and site not in settings.sites:
        raise Invalid(f"unknown site {site!r}: use one of " + ", ".join(settings.sites))
    day = day or _today(settings)
    activities = DailyActivities(runtime.mongo, settings.database, _zone(settings))
    counts = await activities.day(day, site)
    relief = await _deliveries(settings, runtime).summary(day, day, site)
    sheet = {
        "date": day.isoformat(),
        "site": site,
        "timezone": _zone(settings).key,
        **counts,
        "deliveries": {
            "by_service": [
                {
                    "service": row["service"],
                    "deliveries": row["deliveries"],
                    "unique_people": row["unique_people"],
                    "people_reached_in_groups": row["people_reached_in_groups"],
                }
                for row in relief["by_service"]
            ],
            "voided": relief["voided"],
            "overridden": relief["overridden"],
        },
    }
    if principal.role is Role.partner:
        return {**suppress_daily(sheet, settings.small_cell_threshold), "suppressed": True}
    return {**sheet, "suppressed": False}


def suppress_daily(sheet: dict[str, Any], threshold: int) -> dict[str, Any]:
    """The daily sheet as a partner may see it (see :mod:`services.reporting.small_cells`)."""
    registered = sheet["registrations"]
    total, by_sex = breakdown(registered["total"], registered["by_sex"], threshold)
    calls = sheet["calls"]
    _, by_direction = breakdown(
        calls["total"], {k: calls[k] for k in ("incoming", "outgoing")}, threshold
    )
    _, by_answer = breakdown(
        calls["total"], {k: calls[k] for k in ("answered", "missed")}, threshold
    )
    calls_total, _ = breakdown(
        calls["total"],
        {k: calls[k] for k in ("incoming", "outgoing", "answered", "missed")},
        threshold,
    )
    return {
        **sheet,
        "registrations": {"total": total, "by_sex": by_sex},
        "cards_issued": cell(sheet["cards_issued"], threshold),
        "doses": {key: cell(count, threshold) for key, count in sheet["doses"].items()},
        "calls": {"total": calls_total, **by_direction, **by_answer},
        "deliveries": {
            "by_service": [
                {
                    "service": row["service"],
                    **{
                        key: cell(count, threshold)
                        for key, count in row.items()
                        if key != "service"
                    },
                }
                for row in sheet["deliveries"]["by_service"]
            ],
            "voided": cell(sheet["deliveries"]["voided"], threshold),
            "overridden": cell(sheet["deliveries"]["overridden"], threshold),
        },
    }


def _zone(settings: Any) -> ZoneInfo:
    return settings.zone if isinstance(settings, ReportingSettings) else ZoneInfo("UTC")


def _today(settings: Any) -> date:
    return utc_now().astimezone(_zone(settings)).date()


def _deliveries(settings: Any, runtime: Any) -> DeliveryCounts:
    return DeliveryCounts(runtime.mongo, settings.database, _zone(settings))
