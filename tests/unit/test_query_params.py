"""Query parameters are read strictly: unknown names and Unix times are refused, saying why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI, Query

from shared.http.errors import install_error_handlers
from shared.http.params import IsoDate, IsoDateTime, reject_unknown_query_parameters


def page(cursor: Annotated[str | None, Query()] = None) -> str | None:
    return cursor


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI(dependencies=[Depends(reject_unknown_query_parameters)])
    install_error_handlers(app)

    @app.get("/reports")
    async def reports(
        cursor: Annotated[str | None, Depends(page)],
        site: str | None = None,
        as_of: Annotated[IsoDateTime | None, Query()] = None,
        day: Annotated[IsoDate | None, Query(alias="date")] = None,
    ) -> dict[str, str | None]:
        return {
            "site": site,
            "cursor": cursor,
            "as_of": None if as_of is None else as_of.isoformat(),
            "date": None if day is None else day.isoformat(),
        }

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def test_declared_parameters_and_those_of_dependencies_are_taken(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get(
        "/reports",
        params={"site": "Kdh Atoll", "cursor": "c1", "as_of": "2026-11-23T09:00:00+05:00"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["as_of"] == datetime.fromisoformat("2026-11-23T09:00:00+05:00").isoformat()
    assert (await client.get("/reports", params={"date": "2026-11-23"})).json()["date"] == str(
        date(2026, 11, 23)
    )


async def test_a_misspelt_parameter_is_refused_naming_it_and_the_known_ones(
    client: httpx.AsyncClient,
) -> None:
    answer = await client.get("/reports", params={"sit": "Kdh Atoll"})
    assert answer.status_code == 422
    message = answer.json()["error"]["message"]
    assert "'sit'" in message
    assert "as_of, cursor, date, site" in message


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("as_of", "1700000000"),
        ("as_of", "2.04e-92"),
        ("date", "1699920000"),
        ("date", "23/11/2026"),
    ],
)
async def test_moments_and_days_must_be_iso_8601(
    client: httpx.AsyncClient, name: str, value: str
) -> None:
    answer = await client.get("/reports", params={name: value})
    assert answer.status_code == 422, answer.text
    assert "ISO 8601" in answer.text or "YYYY-MM-DD" in answer.text
