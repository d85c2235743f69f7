"""The never-collected middleware stops refused bodies at the door and passes others intact."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from shared.http.never_collected import NeverCollectedMiddleware
from shared.policy import NeverCollectedPolicy
from shared.settings import DEFAULT_NEVER_COLLECTED

JSON = {"content-type": "application/json"}


@pytest.fixture
def received() -> list[bytes]:
    """Every body a handler saw: empty means no handler ran."""
    return []


@pytest.fixture
async def client(received: list[bytes]) -> AsyncIterator[httpx.AsyncClient]:
    api = FastAPI()

    @api.api_route("/people", methods=["GET", "POST", "PUT", "PATCH"])
    async def people(request: Request) -> Response:
        received.append(await request.body())
        return Response(b"handled")

    @api.post("/typed")
    async def typed(body: dict[str, str]) -> dict[str, str]:
        received.append(json.dumps(body).encode())
        return body

    api.add_middleware(
        NeverCollectedMiddleware, policy=NeverCollectedPolicy(DEFAULT_NEVER_COLLECTED)
    )
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://bensys.test") as client:
        yield client


async def test_a_body_with_a_forbidden_field_reaches_no_handler(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    # given a registration that asks for the person's visa status
    body = {"full_name": "মোহাম্মদ রহিম", "visaStatus": "expired-2023"}
    # when it is posted
    response = await client.post("/people", json=body)
    # then it is refused with the reason, and no handler ever saw it
    assert response.status_code == 422
    assert response.json() == {
        "error": {
            "code": "never_collected",
            "message": (
                "BenSys never collects legal or immigration status (visa, work permit, "
                "residence status). Remove this field and send again: visaStatus"
            ),
            "details": {"fields": ["visaStatus"]},
        }
    }
    assert received == []
    assert "expired-2023" not in response.text  # the refusal does not echo what was sent


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
async def test_every_writing_method_and_json_flavour_is_checked(
    client: httpx.AsyncClient, received: list[bytes], method: str, content_type: str
) -> None:
    body = json.dumps({"documents": [{"document_type": "passport", "work_permit_no": "WP-1"}]})
    response = await client.request(
        method, "/people", content=body, headers={"content-type": content_type}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {"fields": ["documents[0].work_permit_no"]}
    assert received == []


async def test_a_clean_body_reaches_the_handler_byte_for_byte(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    # given a body with odd spacing, unescaped Unicode and a free-text note mentioning a visa
    body = '{ "full_name" : "முகமது ரஹீம்",\n  "notes": "lost his visa papers" }'.encode()
    # when it is posted
    response = await client.post("/people", content=body, headers=JSON)
    # then the handler gets exactly those bytes
    assert response.status_code == 200
    assert received == [body]


async def test_a_body_sent_in_chunks_is_judged_whole_and_replayed_whole(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    clean = b'{"full_name": "Hawwa", "phone": "+960 777-1234", "island": "Hulhumal\xc3\xa9"}'
    refused = b'{"full_name": "Hawwa", "work_permit": "WP-1"}'

    async def in_chunks(body: bytes) -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):  # splits words, and the forbidden key too
            yield body[start : start + 7]

    response = await client.post("/people", content=in_chunks(clean), headers=JSON)
    assert response.status_code == 200
    assert received == [clean]

    response = await client.post("/people", content=in_chunks(refused), headers=JSON)
    assert response.status_code == 422
    assert received == [clean]


async def test_get_is_left_alone(client: httpx.AsyncClient, received: list[bytes]) -> None:
    response = await client.request("GET", "/people", content=b'{"visa_status": "x"}', headers=JSON)
    assert response.status_code == 200
    assert received == [b'{"visa_status": "x"}']


async def test_a_body_that_is_not_json_is_left_to_its_handler(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    # an uploaded spreadsheet is judged by the import, by its headers, not here
    csv = b"full_name,visa_status\nHawwa,x\n"
    response = await client.post("/people", content=csv, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    assert received == [csv]


async def test_invalid_json_is_passed_on_for_fastapi_to_report(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    response = await client.post("/typed", content=b'{"visa_status": ', headers=JSON)
    assert response.status_code == 422
    assert "error" not in response.json()  # FastAPI's own validation answer, not ours
    assert response.json()["detail"][0]["type"] == "json_invalid"
    assert received == []


async def test_a_clean_body_still_parses_into_the_handlers_model(
    client: httpx.AsyncClient, received: list[bytes]
) -> None:
    response = await client.post("/typed", json={"full_name": "Ali", "site": "Greater Malé"})
    assert response.status_code == 200
    assert response.json() == {"full_name": "Ali", "site": "Greater Malé"}
