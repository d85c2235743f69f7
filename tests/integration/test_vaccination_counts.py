"""Reporting's vaccination counts on a real MongoDB: each person counts once, whatever arrives."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.reporting.vaccinations import VaccinationCounts
from shared.contracts.cards import DoseRecorded
from shared.messaging.envelope import Envelope

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def dose(migrant_id: str, vaccine: str, number: int, course: int, site: str) -> DoseRecorded:
    return DoseRecorded(
        dose_id=str(uuid.uuid4()),
        migrant_id=migrant_id,
        card_number="K7MR4XQ2PNC",
        vaccine=vaccine,
        dose_number=number,
        course_doses=course,
        administered_on=date(2026, 11, 20),
        centre="IGMH",
        site=site,
        recorded_by="nurse-1",
        recorded_at=NOW,
    )


async def apply(
    client: AsyncMongoClient[dict[str, Any]], counts: VaccinationCounts, event: DoseRecorded
) -> None:
    envelope: Any = Envelope.__new__(Envelope)  # the projection reads only the event
    async with client.start_session() as session:

        async def write(session: Any) -> None:
            await counts.on_dose(envelope, event, session)

        await session.with_transaction(write)


async def test_people_count_once_as_vaccinated_and_once_complete(
    mongo_client: AsyncMongoClient[dict[str, Any]], db_name: str
) -> None:
    counts = VaccinationCounts(mongo_client, db_name)
    # Given a woman who had both doses of measles-rubella, the first recorded twice over
    for event in (
        dose("ayesha", "measles_rubella", 1, 2, "Kdh Atoll"),
        dose("ayesha", "measles_rubella", 1, 2, "Kdh Atoll"),
        dose("ayesha", "measles_rubella", 2, 2, "Kdh Atoll"),
        # and a man with one dose of a three-dose course, and a one-dose vaccine, elsewhere
        dose("rahim", "hepatitis_b", 1, 3, "Seenu Atoll"),
        dose("rahim", "typhoid", 1, 1, "Seenu Atoll"),
    ):
        await apply(mongo_client, counts, event)
    # Then two people are vaccinated, each course counted by who completed it
    assert await counts.summary() == {
        "people_vaccinated": 2,
        "by_vaccine": [
            {"vaccine": "hepatitis_b", "people_with_a_dose": 1, "people_complete": 0},
            {"vaccine": "measles_rubella", "people_with_a_dose": 1, "people_complete": 1},
            {"vaccine": "typhoid", "people_with_a_dose": 1, "people_complete": 1},
        ],
    }
    # And a site's report counts only its own people
    assert (await counts.summary("Kdh Atoll"))["people_vaccinated"] == 1
