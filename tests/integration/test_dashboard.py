"""The dashboard in headless Chromium: served by reporting over a real socket, it reads the
month's report with the token in its address and shows what a person would see."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from bensys.embedded import free_port
from shared.auth import mint_token
from shared.runtime import ServiceRuntime
from shared.settings import DEV_JWT_SECRET
from tests.integration.reporting_harness import reporting_app, runtime
from tests.integration.test_monthly_report import a_programme_month

pytestmark = pytest.mark.integration
__all__ = ["runtime"]  # fixtures
CHROMIUM = os.environ.get("BENSYS_CHROMIUM") or shutil.which("chromium")
FLAGS = (  # as this machine's notes say: no GPU, no sandbox as root, no calls home
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
)


@pytest.fixture
async def served(runtime: ServiceRuntime) -> AsyncIterator[str]:
    """Reporting's routes on a real port, in this event loop; its base URL."""
    port = free_port()
    app = await reporting_app(runtime)
    # log_config=None: uvicorn must not reconfigure this process's logging for later tests
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    serving = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.05)
    assert server.started, "the reporting app did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await serving


async def chromium(*arguments: str, profile: Path) -> str:
    """Run headless Chromium without blocking the loop that serves the page; its stdout."""
    if CHROMIUM is None:
        if os.environ.get("BENSYS_REQUIRE_CHROMIUM"):
            pytest.fail("BENSYS_REQUIRE_CHROMIUM is set but there is no chromium on PATH")
        pytest.skip("no Chromium: install Debian's chromium package (.ci/run does)")
    process = await asyncio.create_subprocess_exec(
        CHROMIUM,
        *FLAGS,
        f"--user-data-dir={profile}",
        *arguments,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode(errors="replace")[-2000:]
    return stdout.decode()


def token(role: str) -> str:
    return mint_token(secret=DEV_JWT_SECRET, role=role)


def figure(dom: str, name: str) -> str:
    found = re.search(rf'id="figure-{name}"><strong>([^<]*)</strong>', dom)
    assert found, f"no figure {name} in the page"
    return found.group(1)


async def test_a_manager_sees_the_months_figures_and_charts(
    runtime: ServiceRuntime, served: str, tmp_path: Path
) -> None:
    await a_programme_month(runtime)
    address = f"{served}/dashboard#token={token('manager')}&month=2026-11"
    dom = await chromium("--dump-dom", address, profile=tmp_path / "profile")
    # The headings and the key figures a manager reads first
    assert "Maldivian Red Crescent: Migrant Support Programme" in dom
    assert 'data-loaded="2026-11"' in dom, dom[-3000:]
    assert figure(dom, "registered-in-month") == "7"
    assert figure(dom, "registered-to-date") == "10"
    assert figure(dom, "cards-active") == "6"
    assert figure(dom, "vaccinated") == "2"
    assert figure(dom, "answered-rate") == "86%"
    # The four charts, drawn: the pyramid's bands, services, doses by day, calls by category
    for words in ("People registered to date, by age and sex", "25-34", "35-44", "women"):
        assert words in dom, words
    assert "food parcel" in dom
    assert "2026-11-12" in dom
    assert "relief request" in dom
    assert len(re.findall(r"<rect ", dom)) == 4 + 1 + 1 + 2  # two bands by two sexes, …
    # And a picture of it, for a person to look at when the layout changes
    picture = tmp_path / "dashboard.png"
    await chromium(
        f"--screenshot={picture}", "--window-size=1280,1400", address, profile=tmp_path / "shot"
    )
    assert picture.stat().st_size > 20_000


async def test_a_partner_sees_small_counts_hidden_and_a_stranger_is_told_what_to_do(
    runtime: ServiceRuntime, served: str, tmp_path: Path
) -> None:
    await a_programme_month(runtime)
    partner = await chromium(
        "--dump-dom",
        f"{served}/dashboard#token={token('partner')}&month=2026-11",
        profile=tmp_path / "partner",
    )
    assert "Counts below 5 are hidden." in partner
    assert figure(partner, "vaccinated") == "&lt;5"
    assert figure(partner, "registered-to-date") == "\u2013"  # hidden: a site of one would show
    assert figure(partner, "cards-active") == "6"
    refused = await chromium(
        "--dump-dom",
        f"{served}/dashboard#token={token('distributor')}&month=2026-11",
        profile=tmp_path / "refused",
    )
    assert "This token may not read reports" in refused
    nothing = await chromium("--dump-dom", f"{served}/dashboard", profile=tmp_path / "none")
    assert "Paste an access token" in nothing
