"""The programme's outputs: the daily sheet and the monthly report (roles ``manager``,
``admin``, ``auditor``; ``partner`` gets the small-cell-suppressed variant)."""

from __future__ import annotations

import asyncio
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response

from services.reporting.daily import daily_counts
from services.reporting.monthly import monthly_report
from services.reporting.reading import (
    ReportReader,
    Views,
    programme_of,
    today_in,
    zone_of,
)
from services.reporting.report_csv import to_csv
from services.reporting.report_pdf import to_pdf
from services.reporting.report_xlsx import to_xlsx
from services.reporting.small_cells import breakdown, cell, suppress_tree
from shared.auth import Role
from shared.errors import Invalid
from shared.http.deps import Runtime
from shared.http.params import IsoDate, IsoDateTime

router = APIRouter(prefix="/reports", tags=["reports"])
MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}
AsOf = Annotated[
    IsoDateTime | None,
    Query(
        description="The report as it read at this moment (ISO 8601; no zone: UTC), from the "
        "events recorded up to then. Default: now."
    ),
]


def as_utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


@router.get(
    "/daily",
    summary="Daily outputs: registrations, cards, relief by service, doses and calls",
    description="One day (default: today) in the programme's calendar "
    "(`BENSYS_REPORT_TIMEZONE`), at one site or all of them. Voided deliveries are left out.",
)
async def daily(
    runtime: Runtime,
    views: Views,
    principal: ReportReader,
    day: Annotated[IsoDate | None, Query(alias="date", description="YYYY-MM-DD")] = None,
    site: Annotated[str | None, Query(description="Only this site")] = None,
    as_of: AsOf = None,
) -> dict[str, Any]:
    settings = runtime.settings
    as_of = as_utc(as_of)
    if site is not None and site not in settings.sites:
        raise Invalid(f"unknown site {site!r}: use one of " + ", ".join(settings.sites))
    day = day or today_in(settings)
    counts = await daily_counts(views.activities, day, site, as_of)
    relief = await views.deliveries.summary(day, day, site, as_of)
    sheet = {
        "date": day.isoformat(),
        "site": site,
        "as_of": None if as_of is None else as_of.isoformat(),
        "timezone": zone_of(settings).key,
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


@router.get(
    "/monthly",
    summary="The monthly report: people, cards, vaccination, relief and the helpline",
    description="A calendar month (`YYYY-MM`) in the programme's calendar, at one site or all "
    "of them, as JSON, CSV or XLSX (one figure a row) or a PDF with charts. Partners get "
    "counts under the small-cell threshold as `<5`, and any total that would give one away "
    "hidden (null).",
    responses={
        200: {"content": {"application/json": {}, **{media: {} for media in MEDIA.values()}}}
    },
)
async def monthly(
    runtime: Runtime,
    views: Views,
    principal: ReportReader,
    month: Annotated[str, Query(description="YYYY-MM", pattern=r"^\d{4}-\d{2}$")],
    site: Annotated[str | None, Query(description="Only this site")] = None,
    format: Annotated[
        Literal["json", "csv", "xlsx", "pdf"], Query(description="json, csv, xlsx or pdf")
    ] = "json",
    as_of: AsOf = None,
) -> Any:
    settings = runtime.settings
    if site is not None and site not in settings.sites:
        raise Invalid(f"unknown site {site!r}: use one of " + ", ".join(settings.sites))
    zone = zone_of(settings)
    report = await monthly_report(
        views.activities,
        views.deliveries,
        month,
        site,
        as_utc(as_of),
    )
    report = {**report, "timezone": zone.key}
    if principal.role is Role.partner:
        report = {**suppress_tree(report, settings.small_cell_threshold), "suppressed": True}
    else:
        report = {**report, "suppressed": False}
    if format == "json":
        return report
    name = f"bensys-monthly-{month}{_file_part(site)}.{format}"
    if format == "csv":
        content: bytes = to_csv(report).encode("utf-8")
    elif format == "xlsx":
        content = await asyncio.to_thread(to_xlsx, report)
    else:
        content = await asyncio.to_thread(to_pdf, report, programme_of(settings))
    return Response(
        content,
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _file_part(site: str | None) -> str:
    """A site as a file name may carry it: "Greater Malé" becomes "-Greater-Male"."""
    if site is None:
        return ""
    plain = unicodedata.normalize("NFKD", site).encode("ascii", "ignore").decode()
    return "-" + "-".join(plain.split())


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
