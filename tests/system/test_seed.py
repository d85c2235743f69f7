"""``bensys seed`` on the whole running system: months of a programme created through the
public APIs, dated over those months, and the same seed run again adds nothing."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.system.harness import BENSYS, RunningBenSys, auth, wait_for

pytestmark = pytest.mark.system


def test_a_seeded_quarter_fills_every_report_and_a_second_run_adds_nothing(
    bensys_up: RunningBenSys,
) -> None:
    bensys_up.start()
    first_port = bensys_up.registry.rsplit(":", 1)[1]
    seed = [BENSYS, "seed", "--months", "3", "--migrants", "30", "--seed", "11"]
    seed += ["--first-service-port", first_port]
    done = subprocess.run(seed, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Seeded: 30 people" in done.stdout
    assert "registering" in done.stderr  # the progress bar

    def registrations() -> httpx.Response:
        return httpx.get(
            f"{bensys_up.reporting}/reports/registrations", headers=auth("manager"), timeout=30
        )

    def total() -> Any:
        return registrations().json()["total"]

    wait_for(registrations, lambda r: r.json()["total"] == 30, what="30 people in the report")
    # The people were registered over the three months, not all today
    months = {(datetime.now(UTC) - timedelta(days=30 * back)).strftime("%Y-%m") for back in (1, 2)}
    registered = 0
    for month in months:
        report = httpx.get(
            f"{bensys_up.reporting}/reports/monthly",
            params={"month": month},
            headers=auth("manager"),
            timeout=30,
        ).json()
        registered += report["people"]["registered_in_month"]["total"]
    assert registered > 0
    # And everything else has happened too: relief, doses, calls
    month = datetime.now(UTC).strftime("%Y-%m")
    whole = [
        httpx.get(
            f"{bensys_up.reporting}/reports/monthly",
            params={"month": m},
            headers=auth("manager"),
            timeout=30,
        ).json()
        for m in sorted(months | {month})
    ]
    assert sum(r["services"]["group_activities"]["total"] for r in whole) > 0
    assert sum(r["helpline"]["calls"]["total"] for r in whole) > 0
    assert any(r["services"]["by_service"] for r in whole)

    # When the same seed runs again the same day, nothing is added
    again = subprocess.run(seed, capture_output=True, text=True, timeout=600, check=False)
    assert again.returncode == 0, again.stdout + again.stderr
    assert total() == 30
