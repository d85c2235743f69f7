"""The monthly report on a real MongoDB, through reporting's route: a month's outputs from
every service's events, "to date" figures that follow merges and replaced cards, CSV, and a
partner's variant with small cells hidden."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import httpx
import openpyxl  # type: ignore[import-untyped]
import pypdfium2 as pdfium  # type: ignore[import-untyped]
import pytest

from shared.contracts.base import Sealed
from shared.contracts.cards import CardIssued, CardReplaced, DoseRecorded
from shared.contracts.distribution import (
    DeliveryVoided,
    GroupActivityRecorded,
    ServiceDelivered,
)
from shared.contracts.helpline import (
    CallLogged,
    FollowUpCompleted,
    FollowUpScheduled,
    ReferralClosed,
    ReferralMade,
)
from shared.contracts.registry import ConsentGiven, MigrantRegistered, MigrantsMerged
from shared.runtime import ServiceRuntime
from tests.integration.reporting_harness import as_role, deliver, http, runtime

pytestmark = pytest.mark.integration
__all__ = ["http", "runtime"]  # fixtures
Sex = Literal["female", "male", "other", "undisclosed"]
KDH = "Kdh Atoll"
SEENU = "Seenu Atoll"
OCTOBER = datetime(2026, 10, 12, 5, 0, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 12, 5, 0, tzinfo=UTC)
SEALED = Sealed(kid="k", iv="aXY", ct="Y3Q")


def registered(sex: Sex, site: str, at: datetime, nationality: str = "BD") -> MigrantRegistered:
    return MigrantRegistered(
        migrant_id=str(uuid.uuid4()),
        full_name=SEALED,
        approximate_birth_year=SEALED,
        sex=sex,
        age_band="25-34" if nationality == "BD" else "35-44",
        nationality=nationality,
        preferred_languages=("bn",),
        site=site,
        consent=ConsentGiven(purposes=("registration",), method="verbal", notice_language="bn"),
        issue_card=True,
        registered_by="registrar-1",
        registered_at=at,
    )


def card(migrant_id: str, number: str, at: datetime) -> CardIssued:
    return CardIssued(
        migrant_id=migrant_id,
        card_number=number,
        printed_name=SEALED,
        sex="male",
        issued_at=at,
        expires_at=at + timedelta(days=730),
        key_id="issuer-1",
        site=KDH,
        trigger="registration",
        issued_by="system:cards",
    )


def parcel(migrant_id: str, at: datetime, service: str = "food_parcel") -> ServiceDelivered:
    return ServiceDelivered(
        delivery_id=str(uuid.uuid4()),
        client_id=str(uuid.uuid4()),
        migrant_id=migrant_id,
        service=service,
        quantity=1,
        unit="parcel",
        site=KDH,
        delivered_at=at,
        delivered_by="distributor-1",
    )


def call(at: datetime, *, answered: bool = True, language: str = "bn") -> CallLogged:
    return CallLogged(
        call_id=str(uuid.uuid4()),
        client_id=str(uuid.uuid4()),
        direction="incoming",
        started_at=at,
        duration_seconds=60 if answered else 0,
        answered=answered,
        language=language,
        caller="anonymous",
        categories=("vaccination", "relief_request"),
        services_requested=("food_parcel",),
        follow_up_needed=False,
        site=KDH,
        logged_by="operator-1",
    )


async def a_programme_month(runtime: ServiceRuntime) -> dict[str, Any]:
    """October: four men at Kdh, one with a card. November: what the test reads."""
    october = [registered("male", KDH, OCTOBER) for _ in range(4)]
    november = [registered("female", KDH, NOVEMBER) for _ in range(6)]
    november += [registered("male", SEENU, NOVEMBER, "NP")]
    for person in october + november:
        await deliver(runtime, person, person.migrant_id)
    men, women = [p.migrant_id for p in october], [p.migrant_id for p in november[:6]]
    await deliver(runtime, card(men[0], "K7MR4XQ2PNC", OCTOBER))
    # In November: the first man's card replaced, cards for five women
    replaced = card(men[0], "M3XV9TQ7HNA", NOVEMBER)
    await deliver(
        runtime,
        CardReplaced(
            migrant_id=men[0],
            old_card_number="K7MR4XQ2PNC",
            card_number="M3XV9TQ7HNA",
            reason="lost",
            printed_name=SEALED,
            sex="male",
            issued_at=NOVEMBER,
            expires_at=replaced.expires_at,
            key_id="issuer-1",
            site=KDH,
            replaced_by="registrar-1",
        ),
    )
    for i, woman in enumerate(women[:5]):
        await deliver(runtime, card(woman, f"W{i}XV9TQ7HN", NOVEMBER))
    # a man of October found to be a duplicate of another
    await deliver(
        runtime,
        MigrantsMerged(
            absorbed_id=men[3],
            survivor_id=men[2],
            score=0.93,
            reason="same phone and year of birth",
            merged_by="registrar-1",
            merged_at=NOVEMBER,
        ),
    )
    # two doses completing a woman's course, a first dose for another
    for who, number in ((women[0], 1), (women[0], 2), (women[1], 1)):
        await deliver(
            runtime,
            DoseRecorded(
                dose_id=str(uuid.uuid4()),
                migrant_id=who,
                card_number="W0XV9TQ7HN",
                vaccine="measles_rubella",
                dose_number=number,
                course_doses=2,
                administered_on=date(2026, 11, 12),
                centre="Kulhudhuffushi Hospital",
                site=KDH,
                recorded_by="nurse-1",
                recorded_at=NOVEMBER,
            ),
        )
    # food parcels to the six women and a man (one voided), an October parcel, a session
    parcels = [parcel(p, NOVEMBER) for p in [*women, men[0]]]
    for given in parcels:
        await deliver(runtime, given)
    await deliver(
        runtime,
        DeliveryVoided(
            delivery_id=parcels[-1].delivery_id,
            migrant_id=men[0],
            reason="given twice",
            voided_by="manager-1",
            voided_at=NOVEMBER,
        ),
    )
    await deliver(runtime, parcel(men[1], OCTOBER))
    await deliver(
        runtime,
        GroupActivityRecorded(
            activity_id=str(uuid.uuid4()),
            client_id=str(uuid.uuid4()),
            service="awareness_session",
            people_reached=40,
            language="bn",
            site=KDH,
            held_at=NOVEMBER,
            recorded_by="volunteer-1",
        ),
    )
    # the helpline: six calls in Bengali, one missed, a Nepali one; a referral; follow-ups
    for i in range(6):
        await deliver(runtime, call(NOVEMBER, answered=i != 5))
    await deliver(runtime, call(NOVEMBER, language="ne"))
    await deliver(
        runtime,
        ReferralMade(
            referral_id="r-1",
            migrant_id=women[0],
            partner="iom_maldives",
            referred_by="operator-1",
            referred_at=NOVEMBER,
        ),
    )
    await deliver(
        runtime,
        ReferralClosed(
            referral_id="r-1",
            migrant_id=women[0],
            outcome="accepted",
            recorded_by="operator-1",
            recorded_at=NOVEMBER,
        ),
    )
    for follow_up, due in (("f-1", date(2026, 11, 14)), ("f-2", date(2026, 12, 3))):
        await deliver(
            runtime,
            FollowUpScheduled(
                follow_up_id=follow_up,
                due_on=due,
                assignee="operator-2",
                scheduled_by="operator-1",
                scheduled_at=NOVEMBER,
            ),
        )
    await deliver(
        runtime,
        FollowUpCompleted(
            follow_up_id="f-3-unscheduled-elsewhere",
            outcome="reached",
            completed_by="operator-2",
            completed_at=NOVEMBER,
        ),
    )
    return {"women": women, "men": men}


async def test_a_month_of_every_service_in_one_report(
    runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    await a_programme_month(runtime)
    # When a manager reads November
    answer = await http.get(
        "/reports/monthly", params={"month": "2026-11"}, headers=as_role("manager")
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    # Then people registered that month are broken down every way the programme reports them
    new = report["people"]["registered_in_month"]
    assert new["total"] == 7
    assert new["by_sex"] == {"female": 6, "male": 1, "other": 0, "undisclosed": 0}
    assert (new["by_nationality"], new["by_site"]) == ({"BD": 6, "NP": 1}, {KDH: 6, SEENU: 1})
    assert new["by_age_band"] == {"25-34": 6, "35-44": 1}
    # and to date, the merged duplicate counts once
    assert report["people"]["registered_to_date"]["total"] == 10
    assert report["people"]["registered_to_date"]["by_sex"]["male"] == 4
    pyramid = report["people"]["registered_to_date"]["by_age_band_and_sex"]
    assert pyramid["25-34"] == {"female": 6, "male": 3, "other": 0, "undisclosed": 0}
    assert pyramid["35-44"]["male"] == 1  # the Nepali man at Seenu
    # Cards: six issued in November (a replacement and five), six active (the lost one not)
    assert report["cards"] == {"issued_in_month": 6, "active_at_month_end": 6}
    assert report["vaccination"] == {
        "doses_given": 3,
        "people_with_a_dose": 2,
        "people_completing_a_course": 1,
        "by_vaccine": {"measles_rubella": 2},
        "doses_by_day": {"2026-11-12": 3},
    }
    services = report["services"]
    [food] = services["by_service"]
    assert (food["service"], food["deliveries"], food["unique_people"]) == ("food_parcel", 6, 6)
    assert food["people_by_sex"] == {"female": 6, "male": 0, "other": 0, "undisclosed": 0}
    assert services["group_activities"] == {
        "total": 1,
        "people_reached": 40,
        "by_service": {"awareness_session": 1},
    }
    assert (services["voided"], services["overridden"]) == (1, 0)
    calls = report["helpline"]["calls"]
    assert (calls["total"], calls["answered"], calls["missed"]) == (7, 6, 1)
    assert calls["answered_rate"] == pytest.approx(0.857, abs=0.001)
    assert calls["by_language"] == {"bn": 6, "ne": 1}
    assert calls["by_category"] == {"relief_request": 7, "vaccination": 7}
    assert report["helpline"]["services_requested"] == {"food_parcel": 7}
    assert report["helpline"]["referrals"] == {
        "made": 1,
        "consent_overridden": 0,
        "outcomes": {"accepted": 1},
    }
    follow_ups = report["helpline"]["follow_ups"]
    assert (follow_ups["open_at_month_end"], follow_ups["overdue_at_month_end"]) == (2, 1)

    # And October is a month of its own
    october = (
        await http.get("/reports/monthly", params={"month": "2026-10"}, headers=as_role("admin"))
    ).json()
    assert october["people"]["registered_in_month"]["total"] == 4
    assert october["cards"] == {"issued_in_month": 1, "active_at_month_end": 1}
    assert october["services"]["by_service"][0]["deliveries"] == 1


async def test_the_month_as_csv_and_as_a_partner_sees_it(
    runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    await a_programme_month(runtime)
    # As CSV, one figure a row, ready for a spreadsheet
    sheet = await http.get(
        "/reports/monthly",
        params={"month": "2026-11", "site": KDH, "format": "csv"},
        headers=as_role("manager"),
    )
    assert sheet.status_code == 200, sheet.text
    assert sheet.headers["content-type"].startswith("text/csv")
    assert 'filename="bensys-monthly-2026-11-Kdh-Atoll.csv"' in sheet.headers["content-disposition"]
    male = await http.get(
        "/reports/monthly",
        params={"month": "2026-11", "site": "Greater Malé", "format": "csv"},
        headers=as_role("manager"),
    )
    assert (
        'filename="bensys-monthly-2026-11-Greater-Male.csv"' in male.headers["content-disposition"]
    )
    rows = {
        (r["section"], r["measure"]): r["value"] for r in csv.DictReader(io.StringIO(sheet.text))
    }
    assert rows[("report", "site")] == KDH
    assert rows[("people", "registered_in_month.by_sex.female")] == "6"
    assert rows[("services", "by_service.food_parcel.unique_people")] == "6"
    assert rows[("people", "registered_in_month.total")] == "6"  # Seenu's man left out

    # A partner sees small cells hidden, and the totals beside them
    partner = (
        await http.get("/reports/monthly", params={"month": "2026-11"}, headers=as_role("partner"))
    ).json()
    assert partner["suppressed"] is True
    new = partner["people"]["registered_in_month"]
    assert new["by_sex"] == {"female": 6, "male": "<5", "other": 0, "undisclosed": 0}
    assert new["total"] is None
    calls = partner["helpline"]["calls"]
    assert (calls["total"], calls["missed"], calls["answered_rate"]) == (None, "<5", None)
    assert partner["cards"] == {"issued_in_month": 6, "active_at_month_end": 6}
    assert partner["vaccination"]["doses_given"] == "<5"
    assert (partner["month"], partner["services"]["group_activities"]["people_reached"]) == (
        "2026-11",
        40,
    )


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"month": "2026-13"}, "month must be YYYY-MM"),
        ({"month": "November"}, "month"),
        ({"month": "2026-11", "site": "Atlantis"}, "unknown site"),
        ({"month": "2026-11", "format": "docx"}, "format"),
    ],
)
async def test_a_bad_request_says_what_to_fix(
    http: httpx.AsyncClient, params: dict[str, str], says: str
) -> None:
    answer = await http.get("/reports/monthly", params=params, headers=as_role("manager"))
    assert answer.status_code == 422
    assert says in answer.text


async def test_a_report_as_of_a_past_moment_counts_only_what_was_recorded_by_then(
    runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    # Given a parcel recorded on the 12th, voided on the 20th, and a woman registered late
    woman = registered("female", KDH, NOVEMBER)
    await deliver(runtime, woman, woman.migrant_id, at=NOVEMBER)
    given = parcel(woman.migrant_id, NOVEMBER)
    await deliver(runtime, given, at=NOVEMBER)
    voided_on = NOVEMBER + timedelta(days=8)
    void = DeliveryVoided(
        delivery_id=given.delivery_id,
        migrant_id=woman.migrant_id,
        reason="wrong person",
        voided_by="manager-1",
        voided_at=voided_on,
    )
    await deliver(runtime, void, at=voided_on)
    late = registered("male", KDH, NOVEMBER)  # captured offline, synced on the 25th
    await deliver(runtime, late, late.migrant_id, at=NOVEMBER + timedelta(days=13))

    async def november(**params: str) -> dict[str, Any]:
        answer = await http.get(
            "/reports/monthly", params={"month": "2026-11", **params}, headers=as_role("manager")
        )
        assert answer.status_code == 200, answer.text
        report: dict[str, Any] = answer.json()
        return report

    # When November is read as it stood on the 15th, in Malé time
    then = await november(as_of="2026-11-15T12:00:00+05:00")
    # Then the parcel counts, not yet voided, and the late registration is not there yet
    assert then["as_of"] == "2026-11-15T07:00:00+00:00"
    assert then["services"]["by_service"][0]["deliveries"] == 1
    assert then["services"]["voided"] == 0
    assert then["people"]["registered_in_month"]["total"] == 1
    # And read now, the void and the late registration both count
    now = await november()
    assert (now["services"]["by_service"], now["services"]["voided"]) == ([], 1)
    assert now["people"]["registered_in_month"]["total"] == 2
    # And before anything was recorded, the month was empty
    before = await november(as_of="2026-11-01T00:00:00")
    assert before["people"]["registered_in_month"]["total"] == 0


async def test_the_month_as_a_workbook_and_as_a_pdf_with_charts(
    runtime: ServiceRuntime, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    await a_programme_month(runtime)

    async def november(role: str, format: str) -> httpx.Response:
        answer = await http.get(
            "/reports/monthly",
            params={"month": "2026-11", "format": format},
            headers=as_role(role),
        )
        assert answer.status_code == 200, answer.text
        return answer

    # As a workbook: the figures, numbers as numbers, under a header row
    book = openpyxl.load_workbook(io.BytesIO((await november("manager", "xlsx")).content))
    rows = [tuple(row) for row in book.active.iter_rows(values_only=True)]
    assert rows[0] == ("section", "measure", "value")
    assert ("people", "registered_in_month.by_sex.female", 6) in rows
    assert ("helpline", "calls.answered_rate", 0.857) in rows

    # As a PDF: the programme's heading, the key figures and the charts' labels, in its text
    pdf = (await november("manager", "pdf")).content
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for words in (
        "Maldivian Red Crescent",
        "Monthly report, November 2026, all sites",
        "registered to date",
        "New registrations by nationality",
        "People reached, by service",
        "food parcel",
        "Helpline calls by category",
        "86%",  # answered rate
    ):
        assert words in text, words
    page = pdfium.PdfDocument(pdf)[0].render(scale=2).to_pil()
    page.save(tmp_path / "november.png")  # looked at by hand when the layout changes
    assert page.size[0] > 1000

    # A partner's PDF says what was hidden and shows it as <5
    partner = pdf_text((await november("partner", "pdf")).content)
    assert "<5" in partner
    assert "Counts from 1 to 4 are shown as" in partner


def pdf_text(pdf: bytes) -> str:
    document = pdfium.PdfDocument(pdf)
    return "\n".join(page.get_textpage().get_text_range() for page in document)


async def test_relief_at_one_site_to_someone_registered_at_another_counts_their_sex(
    runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    # A woman registered at Seenu who is given a parcel at Kdh (parcel() delivers at Kdh)
    woman = registered("female", SEENU, NOVEMBER)
    await deliver(runtime, woman, woman.migrant_id)
    await deliver(runtime, parcel(woman.migrant_id, NOVEMBER))
    report = (
        await http.get(
            "/reports/monthly", params={"month": "2026-11", "site": KDH}, headers=as_role("admin")
        )
    ).json()
    [food] = report["services"]["by_service"]
    assert food["people_by_sex"]["female"] == 1
    assert report["people"]["registered_in_month"]["total"] == 0  # she registered at Seenu
