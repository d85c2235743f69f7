"""The daily outputs sheet on a real MongoDB, through reporting's HTTP route: every service's
events counted on the programme's own calendar day, and small cells hidden from partners."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Literal

import httpx
import pytest

from shared.contracts.base import Sealed
from shared.contracts.cards import CardIssued, DoseRecorded
from shared.contracts.distribution import DeliveryVoided, ServiceDelivered
from shared.contracts.helpline import CallLogged
from shared.contracts.registry import ConsentGiven, MigrantRegistered
from shared.runtime import ServiceRuntime
from tests.integration.reporting_harness import MORNING, as_role, deliver, http, runtime

pytestmark = pytest.mark.integration
__all__ = ["http", "runtime"]  # fixtures
Sex = Literal["female", "male", "other", "undisclosed"]
Direction = Literal["incoming", "outgoing"]
MALE = "Greater Malé"
SEENU = "Seenu Atoll"
DAY = date(2026, 11, 20)
SEALED = Sealed(kid="k", iv="aXY", ct="Y3Q")


def registered(sex: Sex, site: str, at: datetime) -> MigrantRegistered:
    return MigrantRegistered(
        migrant_id=str(uuid.uuid4()),
        full_name=SEALED,
        approximate_birth_year=SEALED,
        sex=sex,
        age_band="25-34",
        nationality="BD",
        preferred_languages=("bn",),
        site=site,
        consent=ConsentGiven(purposes=("registration",), method="verbal", notice_language="bn"),
        issue_card=False,
        registered_by="registrar-1",
        registered_at=at,
    )


def delivered(migrant_id: str, service: str, at: datetime) -> ServiceDelivered:
    return ServiceDelivered(
        delivery_id=str(uuid.uuid4()),
        client_id=str(uuid.uuid4()),
        migrant_id=migrant_id,
        service=service,
        quantity=1,
        unit="parcel" if service == "food_parcel" else "kit",
        site=MALE,
        delivered_at=at,
        delivered_by="distributor-1",
    )


def called(direction: Direction, answered: bool, at: datetime) -> CallLogged:
    return CallLogged(
        call_id=str(uuid.uuid4()),
        client_id=str(uuid.uuid4()),
        direction=direction,
        started_at=at,
        duration_seconds=60 if answered else 0,
        answered=answered,
        language="bn",
        caller="anonymous",
        categories=("information",),
        follow_up_needed=False,
        site=MALE,
        logged_by="operator-1",
    )


async def test_a_day_counts_what_every_service_did_on_the_programmes_calendar(
    runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    # Given, on 20 November in Malé: six women and one man registered at Greater Malé
    people = [registered("female", MALE, MORNING) for _ in range(6)]
    people.append(registered("male", MALE, MORNING))
    # and a man registered at 23:30 UTC on the 19th, which is 04:30 on the 20th in Malé
    people.append(registered("male", MALE, datetime(2026, 11, 19, 23, 30, tzinfo=UTC)))
    # and one at Seenu at 19:30 UTC on the 20th, already the 21st in Malé: not that day
    people.append(registered("female", SEENU, datetime(2026, 11, 20, 19, 30, tzinfo=UTC)))
    for person in people:
        await deliver(runtime, person)
    first = people[0].migrant_id
    await deliver(
        runtime,
        CardIssued(
            migrant_id=first,
            card_number="K7MR4XQ2PNC",
            printed_name=SEALED,
            sex="female",
            issued_at=MORNING,
            expires_at=MORNING + timedelta(days=730),
            key_id="issuer-1",
            site=MALE,
            trigger="registration",
            issued_by="system:cards",
        ),
    )
    for number in (1, 2):  # two doses to one woman, one to another
        await deliver(runtime, dose(first, number))
    await deliver(runtime, dose(people[1].migrant_id, 1))
    # and food parcels to six people, one of them voided, and a hygiene kit
    parcels = [delivered(p.migrant_id, "food_parcel", MORNING) for p in people[:6]]
    for parcel in parcels:
        await deliver(runtime, parcel)
    await deliver(
        runtime,
        DeliveryVoided(
            delivery_id=parcels[0].delivery_id,
            migrant_id=first,
            reason="recorded twice",
            voided_by="manager-1",
            voided_at=MORNING,
        ),
    )
    await deliver(runtime, delivered(first, "hygiene_kit", MORNING))
    # and six answered incoming calls, one missed, and one outgoing
    for _ in range(6):
        await deliver(runtime, called("incoming", True, MORNING))
    await deliver(runtime, called("incoming", False, MORNING))
    await deliver(runtime, called("outgoing", True, MORNING))

    # When a manager reads that day's sheet for Greater Malé
    answer = await http.get(
        "/reports/daily", params={"date": "2026-11-20", "site": MALE}, headers=as_role("manager")
    )
    assert answer.status_code == 200, answer.text
    sheet = answer.json()
    # Then each count is that Malé day's
    assert (sheet["timezone"], sheet["suppressed"]) == ("Indian/Maldives", False)
    assert sheet["registrations"] == {
        "total": 8,
        "by_sex": {"female": 6, "male": 2, "other": 0, "undisclosed": 0},
    }
    assert sheet["cards_issued"] == 1
    assert sheet["doses"] == {"given": 3, "people": 2}
    assert sheet["calls"] == {
        "total": 8,
        "incoming": 7,
        "outgoing": 1,
        "answered": 7,
        "missed": 1,
    }
    assert sheet["deliveries"]["by_service"] == [
        {
            "service": "food_parcel",
            "deliveries": 5,
            "unique_people": 5,
            "people_reached_in_groups": 0,
        },
        {
            "service": "hygiene_kit",
            "deliveries": 1,
            "unique_people": 1,
            "people_reached_in_groups": 0,
        },
    ]
    assert sheet["deliveries"]["voided"] == 1

    # And a partner sees every count under 5 hidden, and totals that would give one away
    partner = (
        await http.get(
            "/reports/daily",
            params={"date": "2026-11-20", "site": MALE},
            headers=as_role("partner"),
        )
    ).json()
    assert partner["suppressed"] is True
    assert partner["registrations"] == {
        "total": None,  # 8 - 6 would be the men
        "by_sex": {"female": 6, "male": "<5", "other": 0, "undisclosed": 0},
    }
    assert (partner["cards_issued"], partner["doses"]) == (
        "<5",
        {"given": "<5", "people": "<5"},
    )
    assert partner["calls"] == {
        "total": None,
        "incoming": 7,
        "outgoing": "<5",
        "answered": 7,
        "missed": "<5",
    }
    assert partner["deliveries"]["by_service"][0]["deliveries"] == 5
    assert partner["deliveries"]["by_service"][1]["deliveries"] == "<5"

    # And the all-sites sheet of the 21st has the Seenu registration
    next_day = (
        await http.get("/reports/daily", params={"date": "2026-11-21"}, headers=as_role("admin"))
    ).json()
    assert next_day["registrations"]["total"] == 1
    # But an unknown site is refused with the sites there are, and other roles are kept out
    unknown = await http.get(
        "/reports/daily", params={"site": "Atlantis"}, headers=as_role("manager")
    )
    assert unknown.status_code == 422
    assert "Seenu Atoll" in unknown.json()["error"]["message"]
    refused = await http.get("/reports/daily", headers=as_role("distributor"))
    assert refused.status_code == 403


def dose(migrant_id: str, number: int) -> DoseRecorded:
    return DoseRecorded(
        dose_id=str(uuid.uuid4()),
        migrant_id=migrant_id,
        card_number="K7MR4XQ2PNC",
        vaccine="measles_rubella",
        dose_number=number,
        course_doses=2,
        administered_on=DAY,
        centre="IGMH",
        site=MALE,
        recorded_by="nurse-1",
        recorded_at=MORNING,
    )
