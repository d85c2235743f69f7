"""The walking slice, as a person would use it: ``bensys up``, register over HTTP, read the
report, Ctrl-C, start again (the broker comes back empty), and find nothing lost or doubled."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.system.harness import (
    BENSYS,
    RunningBenSys,
    auth,
    bensys_up,
    duplicates_seen,
    person,
    readme_example,
    report_when,
)

__all__ = [
    "BENSYS",
    "RunningBenSys",
    "auth",
    "bensys_up",
    "person",
    "readme_example",
    "report_when",
]

pytestmark = pytest.mark.system


def test_register_then_report_survives_a_restart_with_an_empty_broker(
    bensys_up: RunningBenSys,
) -> None:
    # Given the whole system started with `bensys up`
    bensys_up.start()
    registrar = auth("registrar", "Greater Malé")

    # When a registrar registers three people, retrying one request with the same key
    for name, sex, site in [
        ("Ayesha Begum", "female", "Greater Malé"),
        ("Rina Akter", "female", "Greater Malé"),
        ("Md. Karim", "male", "Seenu Atoll"),
    ]:
        created = httpx.post(
            f"{bensys_up.registry}/migrants", json=person(name, sex, site), headers=registrar
        )
        assert created.status_code == 201, created.text
    retried = [
        httpx.post(
            f"{bensys_up.registry}/migrants",
            json=person("Sumon Das", "male", "Seenu Atoll"),
            headers={**registrar, "Idempotency-Key": "form-0042"},
        )
        for _ in range(2)
    ]
    assert retried[0].json() == retried[1].json()

    # Then reporting counts four people by site and sex
    report = report_when(bensys_up, lambda r: r["total"] == 4)
    assert {(r["site"], r["sex"]): r["count"] for r in report["by_site_and_sex"]} == {
        ("Greater Malé", "female"): 2,
        ("Seenu Atoll", "male"): 2,
    }

    # When BenSys is stopped with Ctrl-C and started again (Tansu keeps nothing in between)
    assert bensys_up.interrupt() == 0
    assert "BenSys stopped" in bensys_up.output[-1]
    bensys_up.start()

    # Then the refilled topic is replayed to reporting, which recognises every event...
    deadline = time.monotonic() + 60
    while duplicates_seen(bensys_up) < 4:
        assert time.monotonic() < deadline, "reporting never saw the replayed events"
        time.sleep(0.1)
    # ...and one more registration counts once: nothing lost, nothing doubled
    httpx.post(
        f"{bensys_up.registry}/migrants",
        json=person("Priya Tamang", "female", "Seenu Atoll"),
        headers=registrar,
    ).raise_for_status()
    report = report_when(bensys_up, lambda r: r["total"] >= 5)
    assert report["total"] == 5
    assert bensys_up.interrupt() == 0


def test_bad_input_gets_a_clear_4xx_and_stores_nothing(bensys_up: RunningBenSys) -> None:
    bensys_up.start()
    registrar = auth("registrar")
    url = f"{bensys_up.registry}/migrants"

    visa = httpx.post(
        url, json={**person("A", "male", "Kdh Atoll"), "visa_status": "expired"}, headers=registrar
    )
    no_consent = httpx.post(
        url,
        json={
            **person("B", "male", "Kdh Atoll"),
            "consent": {"purposes": ["health_vaccination"], "notice_language": "bn"},
        },
        headers=registrar,
    )
    bad_date = httpx.post(
        url,
        json={**person("C", "male", "Kdh Atoll"), "date_of_birth": "14/03/1991"},
        headers=registrar,
    )
    unknown_site = httpx.post(url, json=person("D", "male", "Atlantis"), headers=registrar)
    wrong_role = httpx.post(url, json=person("E", "male", "Kdh Atoll"), headers=auth("helpline"))
    no_token = httpx.post(url, json=person("F", "male", "Kdh Atoll"))

    assert visa.status_code == 422
    assert "never collects legal or immigration status" in visa.json()["error"]["message"]
    assert no_consent.status_code == 422
    assert "consent" in no_consent.json()["error"]["message"]
    assert bad_date.status_code == 422
    assert "date_of_birth" in bad_date.json()["error"]["message"]
    assert unknown_site.status_code == 422
    assert "Greater Malé" in unknown_site.json()["error"]["message"]
    assert wrong_role.status_code == 403
    assert "registrar" in wrong_role.json()["error"]["message"]
    assert no_token.status_code == 401

    # And the README's example, after all that, is the only registration counted
    example = httpx.post(url, json=readme_example("register"), headers=registrar)
    assert example.status_code == 201, example.text
    report = report_when(bensys_up, lambda r: r["total"] >= 1)
    assert report["by_site_and_sex"] == [{"site": "Kdh Atoll", "sex": "male", "count": 1}]
    assert bensys_up.interrupt() == 0
