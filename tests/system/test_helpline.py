"""The helpline (1458) on the whole running system: a call from someone not yet registered,
linked to their record later, a referral that needs their consent, and a follow-up."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pymongo import MongoClient

from tests.system.harness import BENSYS, RunningBenSys, auth, person, wait_for

pytestmark = pytest.mark.system


def helpline(system: RunningBenSys, path: str, body: Any, role: str = "helpline") -> httpx.Response:
    return httpx.post(f"{system.helpline}{path}", json=body, headers=auth(role), timeout=30)


def helpline_get(system: RunningBenSys, path: str, **params: Any) -> httpx.Response:
    return httpx.get(
        f"{system.helpline}{path}", params=params, headers=auth("helpline"), timeout=30
    )


def test_a_call_is_linked_referred_with_consent_and_followed_up(bensys_up: RunningBenSys) -> None:
    bensys_up.start()
    # Given an anonymous call in Bengali about vaccination, asking for a food parcel
    started = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    call = {
        "client_id": "console-2:0001",
        "direction": "incoming",
        "started_at": started,
        "duration_seconds": 240,
        "answered": True,
        "language": "bn",
        "caller": {"anonymous": True},
        "categories": ["vaccination", "relief_request"],
        "services_requested": ["food_parcel", "vaccination_support"],
        "services_provided": [],
        "information_given": "vaccination centre hours",
        "notes": "works at a construction site in Hulhumalé",
        "follow_up_needed": True,
    }
    logged = helpline(bensys_up, "/calls", call)
    assert logged.status_code == 201, logged.text
    call_id = logged.json()["call_id"]
    assert helpline(bensys_up, "/calls", call).status_code == 200  # a retry is a no-op

    # When the caller registers later, without consent to partner referral
    registered = httpx.post(
        f"{bensys_up.registry}/migrants",
        json=person("Jamal Hossain", "male", "Greater Malé"),
        headers=auth("registrar"),
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    jamal = registered.json()["migrant_id"]
    # Then the call can be linked to his record once the helpline has heard of him
    wait_for(
        lambda: helpline(bensys_up, f"/calls/{call_id}/link", {"migrant_id": jamal}),
        lambda r: r.status_code == 200,
        what="the call to be linked",
    )
    calls = helpline_get(bensys_up, f"/migrants/{jamal}/calls").json()["items"]
    assert [(c["call_id"], c["notes"]) for c in calls] == [
        (call_id, "works at a construction site in Hulhumalé")
    ]

    # A referral needs his consent to partner_referral: refused, unless an admin overrides
    referral = {"partner": "health_protection_agency", "migrant_id": jamal, "call_id": call_id}
    refused = helpline(bensys_up, "/referrals", referral)
    assert refused.status_code == 409, refused.text
    assert "partner_referral" in refused.text
    overridden = helpline(
        bensys_up,
        "/referrals",
        {**referral, "consent_override_reason": "urgent health risk reported on the call"},
        role="admin",
    )
    assert overridden.status_code == 201, overridden.text
    outcome = helpline(
        bensys_up,
        f"/referrals/{overridden.json()['referral_id']}/outcome",
        {"outcome": "accepted"},
    )
    assert outcome.status_code == 200, outcome.text

    # And a follow-up is scheduled, listed, and completed once
    due = datetime.now(UTC).date().isoformat()
    follow_up = helpline(
        bensys_up,
        "/follow-ups",
        {"due_on": due, "assignee": "operator-aminath", "call_id": call_id, "migrant_id": jamal},
    )
    assert follow_up.status_code == 201, follow_up.text
    follow_up_id = follow_up.json()["follow_up_id"]
    open_ones = helpline_get(bensys_up, "/follow-ups", open="true").json()["items"]
    assert follow_up_id in [f["follow_up_id"] for f in open_ones]
    done = helpline(bensys_up, f"/follow-ups/{follow_up_id}/complete", {"outcome": "reached"})
    assert done.status_code == 200, done.text
    again = helpline(bensys_up, f"/follow-ups/{follow_up_id}/complete", {"outcome": "reached"})
    assert again.status_code == 409

    # And reporting, which reads the helpline's topic, counts the call on the Malé day it began
    local_day = datetime.fromisoformat(started).astimezone(ZoneInfo("Indian/Maldives")).date()
    sheet = wait_for(
        lambda: httpx.get(
            f"{bensys_up.reporting}/reports/daily",
            params={"date": local_day.isoformat()},
            headers=auth("manager"),
            timeout=30,
        ),
        lambda r: r.status_code == 200 and r.json()["calls"]["total"] == 1,
        what="the call in the daily outputs",
    ).json()
    assert (sheet["calls"]["incoming"], sheet["calls"]["answered"]) == (1, 1)

    # And the audit trail of every service is intact, until someone edits a stored call
    first_port = int(bensys_up.registry.rsplit(":", 1)[1])
    audit = [BENSYS, "audit", "verify", "--first-service-port", str(first_port)]
    intact = subprocess.run(audit, capture_output=True, text=True, timeout=300, check=False)
    assert intact.returncode == 0, intact.stdout + intact.stderr
    assert intact.stdout.count("intact") == 5
    client: MongoClient[dict[str, Any]] = MongoClient(
        f"mongodb://127.0.0.1:{bensys_up.mongo_port}/?directConnection=true"
    )
    with client:
        stored = client["bensys_helpline"]["events"].find_one_and_update(
            {"type": "bensys.helpline.CallLogged.v1", "data.call_id": call_id},
            {"$set": {"data.language": "en"}},
        )
    assert stored is not None
    tampered = subprocess.run(audit, capture_output=True, text=True, timeout=300, check=False)
    assert tampered.returncode == 1, tampered.stdout + tampered.stderr
    assert f"CHANGED: {stored['stream_id']} version {stored['version']}" in tampered.stdout
    assert stored["_id"] in tampered.stdout

    # And reporting rebuilt from the whole log answers exactly as it did
    monthly = {"month": local_day.strftime("%Y-%m")}

    def reports() -> tuple[Any, Any]:
        return tuple(
            httpx.get(
                f"{bensys_up.reporting}/reports/{name}",
                params=params,
                headers=auth("manager"),
                timeout=30,
            ).json()
            for name, params in (("monthly", monthly), ("daily", {"date": local_day.isoformat()}))
        )

    before = reports()
    rebuild = [BENSYS, "reporting", "rebuild", "--reporting-url", bensys_up.reporting]
    rebuilt = subprocess.run(rebuild, capture_output=True, text=True, timeout=300, check=False)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert "Rebuilt from" in rebuilt.stdout
    assert reports() == before
