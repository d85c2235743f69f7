"""BenCards on the whole running system: issued, verified online and offline, used for doses,
replaced, printed, and withdrawn when the registry merges or erases the person."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from tests.system.harness import BENSYS, RunningBenSys, auth, person, wait_for

pytestmark = pytest.mark.system
SITE = "Kdh Atoll"


def register(system: RunningBenSys, body: dict[str, Any]) -> str:
    response = httpx.post(
        f"{system.registry}/migrants", json=body, headers=auth("registrar"), timeout=30
    )
    assert response.status_code == 201, response.text
    migrant_id: str = response.json()["migrant_id"]
    return migrant_id


def active_card(system: RunningBenSys, migrant_id: str) -> dict[str, Any]:
    """The person's active card, once the cards service has learnt of them."""
    response = wait_for(
        lambda: httpx.get(
            f"{system.cards}/migrants/{migrant_id}/cards", headers=auth("registrar"), timeout=30
        ),
        lambda r: any(c["status"] == "active" for c in r.json()),
        what=f"an active card for {migrant_id}",
    )
    card: dict[str, Any] = next(c for c in response.json() if c["status"] == "active")
    return card


def verify(system: RunningBenSys, **body: str) -> dict[str, Any]:
    response = httpx.post(
        f"{system.cards}/verify", json=body, headers=auth("health_provider", SITE), timeout=30
    )
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def verified_when(
    system: RunningBenSys, number: str, until: Callable[[dict[str, Any]], bool], *, what: str
) -> None:
    """Verify the card until the answer shows what the registry's last event should change."""
    wait_for(
        lambda: httpx.post(
            f"{system.cards}/verify",
            json={"card_number": number},
            headers=auth("health_provider"),
            timeout=30,
        ),
        lambda response: until(response.json()),
        what=what,
    )


def credential(system: RunningBenSys, number: str) -> str:
    response = httpx.get(
        f"{system.cards}/cards/{number}/credential", headers=auth("registrar"), timeout=30
    )
    assert response.status_code == 200, response.text
    text: str = response.json()["credential"]
    return text


def bensys(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BENSYS, *args], capture_output=True, text=True, timeout=120, check=False, cwd=cwd
    )


def test_a_card_from_registration_to_vaccination_replacement_and_offline_checks(
    bensys_up: RunningBenSys, tmp_path: Path
) -> None:
    bensys_up.start()
    # Given a person registered with consent to health use, asking for a card at once
    ayesha = register(
        bensys_up,
        {
            **person("Ayesha Begum", "female", SITE),
            "issue_card": True,
            "preferred_languages": ["bn"],
        },
    )
    # When the cards service learns of the registration
    card = active_card(bensys_up, ayesha)
    number = card["card_number"]
    # Then she has a card, and a health provider typing its number sees what health needs
    typed = verify(bensys_up, card_number=card["display_number"].lower())
    assert typed["valid"] is True, typed
    assert typed["holder"] == {"name": "Ayesha Begum", "sex": "female", "year_of_birth": 1991}
    assert typed["doses"] == []
    assert not {"nationality", "site", "migrant_id", "calls"} & (set(typed) | set(typed["holder"]))

    # When a dose is recorded against the card
    dose = httpx.post(
        f"{bensys_up.cards}/cards/{number}/doses",
        json={
            "vaccine": "measles_rubella",
            "dose_number": 1,
            "administered_on": "2026-11-20",
            "centre": "Kulhudhuffushi Regional Hospital",
        },
        headers={**auth("health_provider", SITE), "Idempotency-Key": "dose-1"},
        timeout=30,
    )
    assert dose.status_code == 201, dose.text
    # Then reporting counts her as vaccinated, her course not yet complete
    report = wait_for(
        lambda: httpx.get(
            f"{bensys_up.reporting}/reports/vaccinations",
            params={"site": SITE},
            headers=auth("manager"),
            timeout=30,
        ),
        lambda r: r.json()["people_vaccinated"] == 1,
        what="the vaccination report",
    ).json()
    assert report["by_vaccine"] == [
        {"vaccine": "measles_rubella", "people_with_a_dose": 1, "people_complete": 0}
    ]
    # And scanning the QR code shows the dose
    qr = credential(bensys_up, number)
    scanned = verify(bensys_up, credential=qr)
    assert scanned["valid"] is True
    assert [d["vaccine"] for d in scanned["doses"]] == ["measles_rubella"]

    # And the registry finds her by the number on the card
    found = wait_for(
        lambda: httpx.get(
            f"{bensys_up.registry}/migrants",
            params={"q": card["display_number"]},
            headers=auth("helpline"),
            timeout=30,
        ),
        lambda r: bool(r.json()["results"]),
        what="the registry's card-number search",
    ).json()["results"]
    assert [(r["migrant_id"], r["matched"]) for r in found] == [(ayesha, ["card_number"])]

    # When she loses the card and it is replaced
    replaced = httpx.post(
        f"{bensys_up.cards}/cards/{number}/replace",
        json={"reason": "lost"},
        headers=auth("registrar"),
        timeout=30,
    )
    assert replaced.status_code == 201, replaced.text
    new_number = replaced.json()["card_number"]
    # Then the old card stops verifying at once, online, and the new one verifies
    assert verify(bensys_up, credential=qr)["status"] == "replaced"
    assert verify(bensys_up, card_number=new_number)["valid"] is True
    new_qr = credential(bensys_up, new_number)

    # And offline, with only the keys and the signed list, the same holds
    sync = bensys("cards", "sync", "--cards-url", bensys_up.cards, cwd=tmp_path)
    assert sync.returncode == 0, sync.stderr
    assert number not in (tmp_path / "bencard-verifier" / "revocations.json").read_text()
    old_offline = bensys("card", "verify", qr, cwd=tmp_path)
    assert old_offline.returncode == 1, old_offline.stdout + old_offline.stderr
    assert old_offline.stdout.startswith("REVOKED")
    new_offline = bensys("card", "verify", new_qr, cwd=tmp_path)
    assert new_offline.returncode == 0, new_offline.stdout + new_offline.stderr
    assert "Ayesha Begum" in new_offline.stdout
    stale = bensys("card", "verify", new_qr, "--max-list-age-hours", "0", cwd=tmp_path)
    assert stale.returncode == 2, stale.stdout
    assert "bensys cards sync" in stale.stderr

    # When the issuer key is rotated, cards signed before still verify, and new ones use it
    rotated = httpx.post(f"{bensys_up.cards}/keys/rotate", headers=auth("admin"), timeout=30)
    assert rotated.status_code == 200, rotated.text
    assert verify(bensys_up, credential=new_qr)["valid"] is True
    keys = httpx.get(f"{bensys_up.cards}/.well-known/jwks.json", timeout=30).json()["keys"]
    assert rotated.json()["kid"] in [k["kid"] for k in keys]
    assert len(keys) == 2

    # And the card prints, alone and on A4 sheets with the site's other cards
    pdf = httpx.get(
        f"{bensys_up.cards}/cards/{new_number}/print", headers=auth("registrar"), timeout=60
    )
    assert pdf.status_code == 200, pdf.text[:200]
    assert pdf.content.startswith(b"%PDF")
    png = httpx.get(
        f"{bensys_up.cards}/cards/{new_number}/print",
        params={"format": "png"},
        headers=auth("registrar"),
        timeout=60,
    )
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    sheets = bensys("cards", "print", "--site", SITE, "--cards-url", bensys_up.cards, cwd=tmp_path)
    assert sheets.returncode == 0, sheets.stderr
    assert (tmp_path / "bencards.pdf").read_bytes().startswith(b"%PDF")
    # But the replaced card will not print
    old_print = httpx.get(
        f"{bensys_up.cards}/cards/{number}/print", headers=auth("registrar"), timeout=60
    )
    assert old_print.status_code == 409
    assert new_number in old_print.text
    # And each print was recorded as a read of the holder's printed name (ARCHITECTURE §5)
    client: MongoClient[dict[str, Any]] = MongoClient(
        f"mongodb://127.0.0.1:{bensys_up.mongo_port}/?directConnection=true"
    )
    with client:
        prints = list(
            client["bensys_cards"]["events"].find(
                {"type": "bensys.cards.CardsPrinted.v1"}, sort=[("_id", 1)]
            )
        )
    outputs = [(p["data"]["output"], p["data"]["card_numbers"]) for p in prints]
    assert outputs[-3:-1] == [("pdf", [new_number]), ("png", [new_number])]
    assert outputs[-1][0] == "sheets"
    assert new_number in outputs[-1][1]
    assert prints[-2]["subject"] == prints[-2]["data"]["migrant_ids"][0]
    assert "credential" in [output for output, _ in outputs]  # the QR text fetched earlier


def test_merge_erasure_and_consent_change_what_a_card_shows(bensys_up: RunningBenSys) -> None:
    bensys_up.start()
    # Given two records of one man, each with a card, and a woman without health consent
    first = register(bensys_up, {**person("Rahim Mia", "male", SITE), "issue_card": True})
    second = register(bensys_up, {**person("Md. Rahim Mia", "male", SITE), "issue_card": True})
    private = register(
        bensys_up,
        {
            **person("Shirin Akter", "female", SITE),
            "issue_card": True,
            "consent": {"purposes": ["registration"], "notice_language": "bn"},
        },
    )
    first_card, second_card = active_card(bensys_up, first), active_card(bensys_up, second)

    # A card whose holder did not consent to health use shows validity only
    shown = verify(bensys_up, card_number=active_card(bensys_up, private)["card_number"])
    assert (shown["valid"], shown["holder"], shown["doses"]) == (True, None, None)
    assert "not consented" in shown["reason"]
    refused = httpx.post(
        f"{bensys_up.cards}/cards/{active_card(bensys_up, private)['card_number']}/doses",
        json={
            "vaccine": "covid19",
            "dose_number": 1,
            "administered_on": "2026-11-20",
            "centre": "IGMH",
        },
        headers=auth("health_provider"),
        timeout=30,
    )
    assert refused.status_code == 409
    assert "health_vaccination" in refused.text

    # When the registrar merges the second record into the first
    merged = httpx.post(
        f"{bensys_up.registry}/migrants/{second}/merge",
        json={"into": first, "reason": "same passport photo"},
        headers=auth("registrar"),
        timeout=30,
    )
    assert merged.status_code == 200, merged.text
    # Then the absorbed record's card answers "replaced"; the survivor's stays valid
    verified_when(
        bensys_up,
        second_card["card_number"],
        lambda answer: answer["status"] == "replaced",
        what="the merged record's card to be replaced",
    )
    assert verify(bensys_up, card_number=first_card["card_number"])["valid"] is True

    # When the first man withdraws consent to health use, health details stop showing
    withdrawn = httpx.delete(
        f"{bensys_up.registry}/migrants/{first}/consents/health_vaccination",
        headers=auth("registrar"),
        timeout=30,
    )
    assert withdrawn.status_code == 200, withdrawn.text
    verified_when(
        bensys_up,
        first_card["card_number"],
        lambda answer: answer["holder"] is None and answer["valid"] is True,
        what="health details to be withheld",
    )

    # When he is erased, his card is revoked and shows nothing
    erased = httpx.delete(
        f"{bensys_up.registry}/migrants/{first}",
        params={"reason": "person_request"},
        headers=auth("admin"),
        timeout=30,
    )
    assert erased.status_code in (200, 204), erased.text
    verified_when(
        bensys_up,
        first_card["card_number"],
        lambda answer: answer["status"] == "revoked",
        what="the erased person's card to be revoked",
    )
    # And no new card can be issued for him
    again = httpx.post(
        f"{bensys_up.cards}/cards",
        json={"migrant_id": first},
        headers=auth("registrar"),
        timeout=30,
    )
    assert again.status_code == 410, again.text
