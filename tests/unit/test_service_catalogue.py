"""The service catalogue: the services the programme names, in the beneficiaries' own scripts,
rules that read well, files that fail loudly and precisely, and ``GET /services``."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.distribution.catalogue_api import router
from shared.auth import TokenVerifier, mint_token
from shared.catalogue.services import (
    CatalogueEntry,
    CatalogueError,
    EntitlementRule,
    ServiceCatalogue,
    load_catalogue,
)
from shared.errors import Invalid
from shared.http.errors import install_error_handlers
from shared.settings import DEV_JWT_SECRET

ISSUE_SERVICES = {
    "food_parcel",
    "hot_meal",
    "hygiene_kit",
    "health_screening",
    "healthcare_referral",
    "vaccination_support",
    "legal_aid",
    "voluntary_repatriation_assistance",
    "awareness_session",
    "caterer_delivery_pass",
    "transport_appointment",
    "health_insurance_enrolment",
    "orientation_job_training_referral",
}
SCRIPTS = {
    "bn": ("\u0980", "\u09ff"),  # Bengali
    "hi": ("\u0900", "\u097f"),  # Devanagari
    "ne": ("\u0900", "\u097f"),  # Devanagari
    "ta": ("\u0b80", "\u0bff"),  # Tamil
    "si": ("\u0d80", "\u0dff"),  # Sinhala
    "dv": ("\u0780", "\u07bf"),  # Thaana
}


def entry(**changes: Any) -> dict[str, Any]:
    """A valid catalogue entry as a file holds it, with ``changes`` applied."""
    base: dict[str, Any] = {
        "code": "tea_stall",
        "labels": {"en": "Tea stall voucher", "dv": "ސައިހޮޓާ ވައުޗަރ"},
        "unit": "voucher",
        "entitlement": {"max_units": 2, "per_days": 7},
        "requires_card": False,
        "recipients": ["person"],
    }
    return base | changes


def write(tmp_path: Path, content: Any) -> Path:
    path = tmp_path / "catalogue.json"
    text = content if isinstance(content, str) else json.dumps(content, ensure_ascii=False)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_default_catalogue_offers_every_service_the_issue_names() -> None:
    catalogue = load_catalogue()

    assert set(catalogue.codes) >= ISSUE_SERVICES
    assert len(catalogue) == len(list(catalogue))


def test_every_default_label_is_written_in_its_own_script_not_copied_from_english() -> None:
    for service in load_catalogue():
        assert set(service.labels) == {"en", *SCRIPTS}, service.code
        assert service.labels["en"].strip(), service.code
        for language, (first, last) in SCRIPTS.items():
            label = service.labels[language]
            assert label != service.labels["en"], (service.code, language)
            assert any(first <= char <= last for char in label), (service.code, language)
            assert not re.search("[A-Za-z]", label), (service.code, language, label)


def test_the_defaults_limit_goods_and_ask_a_card_only_where_a_person_shows_one() -> None:
    catalogue = load_catalogue()

    assert catalogue.get("food_parcel").entitlement == EntitlementRule(max_units=1, per_days=30)
    assert catalogue.get("legal_aid").entitlement is None
    assert catalogue.get("vaccination_support").requires_card
    assert catalogue.get("voluntary_repatriation_assistance").recipients == ("person",)
    assert catalogue.get("caterer_delivery_pass").recipients == ("organisation",)
    assert "group" in catalogue.get("awareness_session").recipients
    assert "group" in catalogue.get("hot_meal").recipients


@pytest.mark.parametrize(
    ("max_units", "per_days", "unit", "expected"),
    [
        (1, 30, "parcel", "at most 1 parcel per 30 days"),
        (2, 30, "parcel", "at most 2 parcels per 30 days"),
        (1, 1, "meal", "at most 1 meal per day"),
        (3, 7, "pass", "at most 3 passes per 7 days"),
        (2, 365, "case", "at most 2 cases per 365 days"),
    ],
)
def test_a_rule_reads_as_staff_would_say_it(
    max_units: int, per_days: int, unit: str, expected: str
) -> None:
    assert EntitlementRule(max_units, per_days).describe(unit) == expected


def test_a_label_falls_back_to_english_and_reads_regional_tags() -> None:
    parcel = load_catalogue().get("food_parcel")

    assert parcel.label("bn-BD") == parcel.labels["bn"]
    assert parcel.label("fr") == "Food parcel"


def test_an_unknown_service_is_refused_with_the_codes_that_would_work() -> None:
    with pytest.raises(Invalid) as raised:
        load_catalogue().get("food_parcels")

    assert "'food_parcels'" in raised.value.message
    assert "food_parcel, hot_meal" in raised.value.message
    assert "legal_aid" in raised.value.details["known_services"]


def test_a_catalogue_refuses_two_entries_with_one_code() -> None:
    kit = load_catalogue().get("hygiene_kit")

    with pytest.raises(ValueError, match="'hygiene_kit' appears twice"):
        ServiceCatalogue([kit, kit])


def test_a_programme_file_replaces_the_defaults(tmp_path: Path) -> None:
    path = write(tmp_path, {"services": [entry(), entry(code="boat_fare", entitlement=None)]})

    catalogue = load_catalogue(path)

    assert catalogue.codes == ("tea_stall", "boat_fare")
    voucher = catalogue.get("tea_stall")
    assert isinstance(voucher, CatalogueEntry)
    assert voucher.label("dv") == "ސައިހޮޓާ ވައުޗަރ"
    assert voucher.label("bn") == "Tea stall voucher"
    assert voucher.entitlement is not None
    assert voucher.entitlement.describe(voucher.unit) == "at most 2 vouchers per 7 days"
    assert catalogue.get("boat_fare").entitlement is None


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        (entry(labels={"dv": "ސައި"}), "labels: add an 'en' label"),
        (entry(labels={"en": "Tea", "bn": "  "}), "labels for bn are empty"),
        (entry(labels={"en": "Tea", "bengali": "চা"}), "ISO 639-1 codes like 'bn', not bengali"),
        (entry(code="Tea-Stall"), "code: must be snake_case"),
        (entry(entitlement={"max_units": 0, "per_days": 7}), "entitlement.max_units: Input"),
        (entry(entitlement={"max_units": 1, "per_days": 0}), "entitlement.per_days: Input"),
        (entry(entitlement={"max_units": "1", "per_days": 7}), "max_units: Input should be"),
        (entry(recipients=[]), "recipients: list each of person"),
        (entry(recipients=["family"]), "recipients.0: Input should be 'person'"),
        (entry(colour="red"), "unknown key 'colour'; allowed keys: code, labels"),
        (
            entry(entitlement={"max_units": 1, "per_days": 7, "per_site": True}),
            "entitlement: unknown key 'per_site'; allowed keys: max_units, per_days",
        ),
        (entry(requires_card=True, recipients=["group"]), 'requires_card needs recipients ["'),
        ({k: v for k, v in entry().items() if k != "entitlement"}, "entitlement: Field required"),
        (entry(code="food_parcel"), "code is already used by services[0]"),
    ],
)
def test_a_bad_entry_is_refused_naming_the_file_the_entry_and_the_fix(
    tmp_path: Path, bad: dict[str, Any], problem: str
) -> None:
    path = write(tmp_path, {"services": [entry(code="food_parcel"), bad]})

    with pytest.raises(CatalogueError) as raised:
        load_catalogue(path)

    message = str(raised.value)
    assert str(path) in message
    assert f"services[1] (code {bad.get('code')!r})" in message
    assert problem in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"services": [', "is not valid JSON: Expecting value at line 1, column 15"),
        ("[]", 'must be an object {"services": [...]}'),
        ({"services": []}, "services: List should have at least 1 item"),
        ({"services": [], "version": 2}, "unknown key 'version'; allowed keys: services"),
        ({"services": ["food_parcel"]}, "services[0]: must be a JSON object"),
    ],
)
def test_a_bad_file_is_refused_saying_what_is_wrong(
    tmp_path: Path, content: Any, problem: str
) -> None:
    with pytest.raises(CatalogueError) as raised:
        load_catalogue(write(tmp_path, content))

    assert problem in str(raised.value)


def test_a_missing_file_names_the_setting_to_fix(tmp_path: Path) -> None:
    with pytest.raises(CatalogueError, match="BENSYS_SERVICE_CATALOGUE_FILE"):
        load_catalogue(tmp_path / "nowhere.json")


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.state.catalogue = load_catalogue()
    app.state.token_verifier = TokenVerifier(secret=DEV_JWT_SECRET, algorithm="HS256")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


def signed_in(role: str = "distributor") -> dict[str, str]:
    return {"Authorization": f"Bearer {mint_token(secret=DEV_JWT_SECRET, role=role)}"}


async def test_the_catalogue_is_only_for_signed_in_callers(client: httpx.AsyncClient) -> None:
    response = await client.get("/services")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize("role", ["distributor", "auditor", "partner"])
async def test_any_role_lists_the_services_in_catalogue_order(
    client: httpx.AsyncClient, role: str
) -> None:
    response = await client.get("/services", headers=signed_in(role))

    assert response.status_code == 200
    services = response.json()["services"]
    assert [s["code"] for s in services] == list(load_catalogue().codes)
    parcel = services[0]
    assert parcel == {
        "code": "food_parcel",
        "labels": dict(load_catalogue().get("food_parcel").labels),
        "unit": "parcel",
        "entitlement": {"max_units": 1, "per_days": 30, "rule": "at most 1 parcel per 30 days"},
        "requires_card": False,
        "recipients": ["person"],
    }
    legal = next(s for s in services if s["code"] == "legal_aid")
    assert legal["entitlement"] is None


async def test_a_language_adds_each_label_in_it_or_in_english(client: httpx.AsyncClient) -> None:
    bengali = (await client.get("/services?language=bn", headers=signed_in())).json()
    french = (await client.get("/services?language=fr", headers=signed_in())).json()

    assert bengali["services"][0]["label"] == "খাদ্য প্যাকেট"
    assert all(s["label"] == s["labels"]["bn"] for s in bengali["services"])
    assert all(s["label"] == s["labels"]["en"] for s in french["services"])


async def test_a_language_that_is_not_an_iso_code_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.get("/services?language=bengali", headers=signed_in())

    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "query.language"


async def test_the_catalogue_pages_like_every_list(client: httpx.AsyncClient) -> None:
    # Given pages of five
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": "5", **({"cursor": cursor} if cursor else {})}
        page = (await client.get("/services", params=params, headers=signed_in())).json()
        assert len(page["services"]) <= 5
        seen += [s["code"] for s in page["services"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    # Then every service comes once, in catalogue order; a made-up cursor is refused
    assert seen == list(load_catalogue().codes)
    bad = await client.get("/services", params={"cursor": "nope"}, headers=signed_in())
    assert bad.status_code == 422
