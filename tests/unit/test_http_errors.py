"""Every failure reaches the caller in one shape, and bad input is never a 500."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel
from pymongo.errors import AutoReconnect, ConnectionFailure, ServerSelectionTimeoutError

from shared.errors import (
    BenSysError,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    NotYetKnown,
    Unauthenticated,
    Unavailable,
)
from shared.http.errors import install_error_handlers


class Register(BaseModel):
    given_name: str
    date_of_birth: date


def build_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/people")
    async def register(command: Register) -> dict[str, str]:
        return {"given_name": command.given_name}

    @app.get("/people")
    async def search(limit: int = 10) -> dict[str, int]:
        return {"limit": limit}

    @app.get("/raise/{kind}")
    async def raise_(kind: str) -> None:
        errors: dict[str, Exception] = {
            "not_found": NotFound("no person with id p-1", details={"person_id": "p-1"}),
            "invalid": Invalid("quantity must be positive"),
            "conflict": Conflict("version 3 was expected, 4 is stored"),
            "not_yet_known": NotYetKnown(
                "person p-1 has not reached cards yet", retry_after_seconds=7
            ),
            "unauthenticated": Unauthenticated("token has expired"),
            "forbidden": Forbidden("role 'partner' may not do this"),
            "unavailable": Unavailable("kafka is away", retry_after_seconds=11),
            "bad_request": BenSysError("plain"),
            "mongo_selection": ServerSelectionTimeoutError("mongo-0:27017: connection refused"),
            "mongo_reconnect": AutoReconnect("connection reset by mongo-0:27017"),
            "mongo_failure": ConnectionFailure("mongo-0:27017 went away"),
            "bug": RuntimeError("secret internals: passport AB123456"),
        }
        raise errors[kind]

    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("not_found", 404, "not_found"),
        ("invalid", 422, "invalid"),
        ("conflict", 409, "conflict"),
        ("forbidden", 403, "forbidden"),
        ("bad_request", 400, "bad_request"),
    ],
)
async def test_a_bensys_error_keeps_its_status_code_and_message(
    client: httpx.AsyncClient, kind: str, status: int, code: str
) -> None:
    response = await client.get(f"/raise/{kind}")

    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["details"], dict)
    assert "Retry-After" not in response.headers


async def test_details_travel_with_the_error(client: httpx.AsyncClient) -> None:
    response = await client.get("/raise/not_found")

    assert response.json() == {
        "error": {
            "code": "not_found",
            "message": "no person with id p-1",
            "details": {"person_id": "p-1"},
        }
    }


@pytest.mark.parametrize(
    ("kind", "status", "seconds"), [("not_yet_known", 409, "7"), ("unavailable", 503, "11")]
)
async def test_errors_that_pass_with_time_say_when_to_retry(
    client: httpx.AsyncClient, kind: str, status: int, seconds: str
) -> None:
    response = await client.get(f"/raise/{kind}")

    assert response.status_code == status
    assert response.json()["error"]["code"] == kind
    assert response.headers["Retry-After"] == seconds


async def test_unauthenticated_invites_a_bearer_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/raise/unauthenticated")

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"


async def test_an_invalid_field_is_a_422_saying_what_to_fix(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/people", json={"given_name": "Mariyam", "date_of_birth": "12/03/1990"}
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith("date_of_birth: Input should be a valid date")
    assert error["details"]["fields"] == [
        {"field": "date_of_birth", "problem": error["message"].removeprefix("date_of_birth: ")}
    ]


async def test_the_input_is_never_echoed_back(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/people", json={"given_name": "Mariyam", "date_of_birth": "x-secret"}
    )

    assert "x-secret" not in response.text


async def test_several_problems_are_all_listed_with_dotted_paths(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/people", json={"date_of_birth": "not a date"})

    error = response.json()["error"]
    fields = {problem["field"] for problem in error["details"]["fields"]}
    assert fields == {"given_name", "date_of_birth"}
    assert "given_name: Field required" in error["message"]


async def test_a_bad_query_parameter_names_where_it_was(client: httpx.AsyncClient) -> None:
    response = await client.get("/people", params={"limit": "many"})

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "query.limit"


async def test_a_malformed_json_body_is_a_422_saying_it_is_not_json(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post(
        "/people",
        content=b'{"given_name": "Mariyam",',
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["message"].startswith("request body is not valid JSON")


async def test_a_missing_body_is_a_422_not_a_500(client: httpx.AsyncClient) -> None:
    response = await client.post("/people")

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "body"


@pytest.mark.parametrize("kind", ["mongo_selection", "mongo_reconnect", "mongo_failure"])
async def test_the_database_being_away_is_a_503_to_retry(
    client: httpx.AsyncClient, kind: str
) -> None:
    response = await client.get(f"/raise/{kind}")

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    error = response.json()["error"]
    assert error["code"] == "unavailable"
    assert "mongo-0" not in response.text


async def test_a_bug_is_a_500_that_reveals_nothing_but_is_logged_with_its_traceback(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="bensys.http.errors"):
        response = await client.get("/raise/bug")

    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "internal"
    assert error["details"] == {}
    assert "passport" not in response.text
    assert "RuntimeError" not in response.text
    logged = [r for r in caplog.records if r.name == "bensys.http.errors"]
    assert logged[0].exc_info is not None
    assert "passport AB123456" in str(logged[0].exc_info[1])


async def test_an_unknown_route_uses_the_same_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "not_found"
    assert "/nowhere" in error["message"]


async def test_a_wrong_method_uses_the_same_shape_and_says_what_is_allowed(
    client: httpx.AsyncClient,
) -> None:
    response = await client.delete("/raise/bug")

    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"
