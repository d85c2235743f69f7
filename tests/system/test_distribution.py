"""Relief delivered on the whole running system: once per client id, within entitlements,
in offline batches, for groups, and voided when a mistake is found."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.system.harness import RunningBenSys, auth, person, wait_for

pytestmark = pytest.mark.system
SITE = "Seenu Atoll"


def post(
    system: RunningBenSys, path: str, body: Any, role: str = "distributor", site: str = SITE
) -> httpx.Response:
    return httpx.post(
        f"{system.distribution}{path}", json=body, headers=auth(role, site), timeout=120
    )


def known_person(system: RunningBenSys, name: str) -> tuple[str, str]:
    """Register someone with a card and wait until distribution knows them and the card."""
    registered = httpx.post(
        f"{system.registry}/migrants",
        json={**person(name, "female", SITE), "issue_card": True},
        headers=auth("registrar"),
        timeout=30,
    )
    assert registered.status_code == 201, registered.text
    migrant_id: str = registered.json()["migrant_id"]
    cards = wait_for(
        lambda: httpx.get(
            f"{system.cards}/migrants/{migrant_id}/cards", headers=auth("registrar"), timeout=30
        ),
        lambda r: bool(r.json()),
        what="a card",
    ).json()
    number: str = cards[0]["card_number"]
    wait_for(
        lambda: post(
            system,
            "/deliveries",
            {
                "client_id": f"probe-{migrant_id}",
                "card_number": number,
                "service": "legal_aid",
                "site": SITE,
            },
        ),
        lambda r: r.status_code in (200, 201),
        what="distribution to learn of the card",
    )
    return migrant_id, number


def test_deliveries_once_within_entitlements_in_batches_and_voided(
    bensys_up: RunningBenSys,
) -> None:
    bensys_up.start()
    catalogue = httpx.get(
        f"{bensys_up.distribution}/services",
        params={"language": "bn"},
        headers=auth("distributor", SITE),
        timeout=30,
    ).json()["services"]
    parcel = next(s for s in catalogue if s["code"] == "food_parcel")
    assert parcel["entitlement"]["rule"] == "at most 1 parcel per 30 days"
    assert parcel["label"] == parcel["labels"]["bn"]

    # Given a registered woman with a BenCard
    nasrin, card = known_person(bensys_up, "Nasrin Sultana")
    now = datetime.now(UTC)
    # When a distributor hands her a food parcel, and the device sends it twice
    body = {
        "client_id": "kdh-tab-7:0001",
        "card_number": card,
        "service": "food_parcel",
        "site": SITE,
        "delivered_at": now.isoformat(),
    }
    first, again = post(bensys_up, "/deliveries", body), post(bensys_up, "/deliveries", body)
    # Then it is recorded once, for her
    assert first.status_code == 201, first.text
    assert again.status_code == 200
    assert again.json()["delivery_id"] == first.json()["delivery_id"]
    assert first.json()["migrant_id"] == nasrin

    # When a second parcel is handed to her a minute later
    second = post(
        bensys_up,
        "/deliveries",
        {
            **body,
            "client_id": "kdh-tab-7:0002",
            "delivered_at": (now + timedelta(minutes=1)).isoformat(),
        },
    )
    # Then it is refused with the rule and the day she is next eligible
    assert second.status_code == 409, second.text
    error = second.json()["error"]
    assert error["code"] == "entitlement"
    assert error["details"]["next_eligible_on"] == (now + timedelta(days=30)).date().isoformat()
    assert "at most 1 parcel per 30 days" in error["message"]
    # But a manager may allow it with a reason, which the record keeps
    overridden = post(
        bensys_up,
        "/deliveries",
        {
            **body,
            "client_id": "kdh-tab-7:0002",
            "delivered_at": (now + timedelta(minutes=1)).isoformat(),
            "override_reason": "household of six after the fire",
        },
        role="manager",
    )
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["override"]["reason"] == "household of six after the fire"
    # And a distributor of another site is refused
    elsewhere = post(bensys_up, "/deliveries", {**body, "client_id": "x-1"}, site="Kdh Atoll")
    assert elsewhere.status_code == 403

    # When an offline batch arrives: a new kit, a parcel too soon, a bad code, and the first again
    batch = [
        {
            "client_id": "kdh-tab-9:0001",
            "migrant_id": nasrin,
            "service": "hygiene_kit",
            "site": SITE,
        },
        {
            "client_id": "kdh-tab-9:0002",
            "migrant_id": nasrin,
            "service": "food_parcel",
            "site": SITE,
            "delivered_at": (now - timedelta(hours=2)).isoformat(),
        },
        {
            "client_id": "kdh-tab-9:0003",
            "migrant_id": nasrin,
            "service": "teleportation",
            "site": SITE,
        },
        body,
    ]
    applied = post(bensys_up, "/deliveries/batch", {"deliveries": batch})
    assert applied.status_code == 200, applied.text
    statuses = [r["status"] for r in applied.json()["results"]]
    assert statuses == ["recorded", "refused", "refused", "already_recorded"]
    assert "unknown service" in applied.json()["results"][2]["error"]["message"].lower() or (
        "teleportation" in applied.json()["results"][2]["error"]["message"]
    )
    # Then sending the same batch again changes nothing
    resent = post(bensys_up, "/deliveries/batch", {"deliveries": batch}).json()
    assert [r["status"] for r in resent["results"]] == [
        "already_recorded",
        "refused",
        "refused",
        "already_recorded",
    ]

    # A group activity is recorded with its counts
    session = post(
        bensys_up,
        "/group-activities",
        {
            "client_id": "kdh-session-1",
            "service": "awareness_session",
            "people_reached": 40,
            "female": 12,
            "male": 28,
            "language": "bn",
            "site": SITE,
        },
    )
    assert session.status_code == 201, session.text
    assert session.json()["people_reached"] == 40

    # When both parcels turn out to be mistakes and are voided, a new one keeps the rule again
    for delivery, reason in ((first, "entered twice"), (overridden, "another household's")):
        voided = post(
            bensys_up, f"/deliveries/{delivery.json()['delivery_id']}/void", {"reason": reason}
        )
        assert voided.status_code == 200, voided.text
    twice = post(bensys_up, f"/deliveries/{first.json()['delivery_id']}/void", {"reason": "again"})
    assert twice.status_code == 409
    assert (
        post(bensys_up, "/deliveries", {**body, "client_id": "kdh-tab-7:0003"}).status_code == 201
    )

    # And her history pages through everything, newest first
    seen: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = httpx.get(
            f"{bensys_up.distribution}/migrants/{nasrin}/deliveries",
            params={"limit": 2, **({"cursor": cursor} if cursor else {})},
            headers=auth("distributor", SITE),
            timeout=30,
        ).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5  # probe (legal aid), two voided parcels, kit, the new parcel
    assert [d["voided"] for d in seen].count(True) == 2
    times = [d["delivered_at"] for d in seen]
    assert times == sorted(times, reverse=True)

    # And reporting counts what was given, leaving the voided parcels out
    report = wait_for(
        lambda: httpx.get(
            f"{bensys_up.reporting}/reports/deliveries",
            params={"site": SITE},
            headers=auth("manager"),
            timeout=30,
        ),
        lambda r: r.json()["voided"] == 2 and len(r.json()["by_service"]) == 4,
        what="the deliveries report",
    ).json()
    rows = {row["service"]: row for row in report["by_service"]}
    assert (rows["food_parcel"]["deliveries"], rows["food_parcel"]["unique_people"]) == (1, 1)
    assert rows["awareness_session"]["people_reached_in_groups"] == 40
    assert set(rows) == {"food_parcel", "hygiene_kit", "legal_aid", "awareness_session"}
