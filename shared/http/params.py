"""Query parameters read as strictly as bodies: a misspelt or malformed one is refused.

A report asked for with ``?sit=Kdh Atoll`` would otherwise answer for every site, and one asked
``as_of=1700000000`` would be read as a Unix time: plausible answers to a question nobody
asked. So a parameter a route does not take is a 422 that names it and lists the ones it
does take, and a moment in a query must be written as ISO 8601, as the OpenAPI says.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BeforeValidator

from shared.errors import Invalid

_ISO_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?")


def _iso_text(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE_TIME.match(value):
        raise ValueError("write the moment as ISO 8601, e.g. 2026-11-23T09:00:00+05:00")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]
"""A datetime given as ISO 8601 text only (pydantic alone would also take a Unix time)."""
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date_text(value: Any) -> Any:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("write the day as YYYY-MM-DD, e.g. 2026-11-23")
    return value


IsoDate = Annotated[date, BeforeValidator(_iso_date_text)]
"""A day given as YYYY-MM-DD only."""


def _query_names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


_KNOWN: dict[int, frozenset[str]] = {}


async def reject_unknown_query_parameters(request: Request) -> None:
    """An app-wide dependency: 422 for a query parameter the matched route does not take."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    known = _KNOWN.get(id(route))
    if known is None:
        known = _KNOWN[id(route)] = frozenset(_query_names(route.dependant))
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) or "none"
        raise Invalid(
            f"unknown query parameter(s) {', '.join(repr(n) for n in unknown)}; "
            f"{request.method} {route.path} takes: {takes}",
            details={"unknown": unknown, "known": sorted(known)},
        )
