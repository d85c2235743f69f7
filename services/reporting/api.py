"""Reporting routes. Partners get the small-cell-suppressed variant (ARCHITECTURE §4)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.reporting.deliveries import default_period
from services.reporting.reading import ReportReader, Views, today_in
from shared.auth import Role
from shared.errors import Invalid
from shared.http.deps import Runtime
from shared.http.params import IsoDate

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/registrations", summary="People registered, by site and sex")
async def registrations(
    runtime: Runtime,
    views: Views,
    principal: ReportReader,
    site: Annotated[str | None, Query(description="Only this site")] = None,
) -> dict[str, Any]:
    rows = await views.registrations.rows(site)
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
    views: Views,
    principal: ReportReader,
    site: Annotated[str | None, Query(description="Only this site")] = None,
) -> dict[str, Any]:
    summary = await views.vaccinations.summary(site)
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
    views: Views,
    principal: ReportReader,
    site: Annotated[str | None, Query(description="Only this site")] = None,
    start: Annotated[
        IsoDate | None, Query(alias="from", description="First day, YYYY-MM-DD")
    ] = None,
    end: Annotated[IsoDate | None, Query(alias="to", description="Last day, YYYY-MM-DD")] = None,
) -> dict[str, Any]:
    first, last = default_period(today_in(runtime.settings))
    start, end = start or first, end or last
    if start > end:
        raise Invalid(f"from ({start}) is after to ({end})")
    summary = await views.deliveries.summary(start, end, site)
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
