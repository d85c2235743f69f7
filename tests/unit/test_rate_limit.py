"""Lookups per token: a burst, then a steady rate; enumeration gets 429 with Retry-After."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import Depends, FastAPI

from shared.auth import mint_token
from shared.http.errors import install_error_handlers
from shared.http.rate_limit import TokenBuckets, lookup_limit
from shared.settings import DEV_JWT_SECRET, ServiceSettings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_token_gets_its_burst_then_one_request_per_refill() -> None:
    clock = Clock()
    buckets = TokenBuckets(per_minute=60, burst=3, clock=clock)
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") == pytest.approx(1.0)  # one a second: the next in a second
    assert buckets.take("b") == 0  # another token has its own bucket
    clock.now += 1
    assert buckets.take("a") == 0
    assert buckets.take("a") > 0
    clock.now += 3600  # an hour idle refills the burst, never more
    assert [buckets.take("a") for _ in range(4)][:3] == [0, 0, 0]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    # no buckets set: made from the settings on first use, as an app assembled by hand gets them
    app.state.settings = ServiceSettings(
        service_name="registry", lookup_rate_per_minute=30, lookup_burst=5
    )

    @app.get("/migrants", dependencies=[Depends(lookup_limit("searches"))])
    async def search() -> dict[str, int]:
        return {"found": 0}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def test_enumeration_from_one_token_is_cut_off_with_429(client: httpx.AsyncClient) -> None:
    one = {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role='registrar')}"}
    answers = [(await client.get("/migrants", headers=one)).status_code for _ in range(8)]
    assert answers == [200] * 5 + [429] * 3
    refused = await client.get("/migrants", headers=one)
    assert refused.headers["Retry-After"] == "2"  # 30 a minute: one every two seconds
    assert "too many searches from this token: at most 30 a minute" in refused.text
    other = {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role='helpline')}"}
    assert (await client.get("/migrants", headers=other)).status_code == 200
