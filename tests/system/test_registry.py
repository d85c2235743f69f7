"""The registry as registrars, the helpline, admins and auditors use it, on the whole system."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import MongoClient

from tests.system.harness import RunningBenSys, auth, person


async def fifty_writers(system: RunningBenSys, migrant_id: str, etag: str) -> list[tuple[int, str]]:
    """Fifty corrections of one record sent at once, all at version ``etag``."""
    async with httpx.AsyncClient(timeout=60) as client:

        async def correct(n: int) -> tuple[int, str]:
            employer = f"Employer {n}"
            answer = await client.patch(
                f"{system.registry}/migrants/{migrant_id}",
                json={"employer": employer},
                headers={**auth("registrar"), "If-Match": etag},
            )
            return answer.status_code, employer

        return list(await asyncio.gather(*(correct(n) for n in range(50))))


pytestmark = pytest.mark.system


def post(
    system: RunningBenSys, path: str, body: Any, role: str = "registrar", **kw: Any
) -> httpx.Response:
    return httpx.post(
        f"{system.registry}{path}", json=body, headers={**auth(role), **kw}, timeout=30
    )


def test_register_find_correct_and_resolve_duplicates(bensys_up: RunningBenSys) -> None:
    bensys_up.start()
    # Given a person registered with phone and document
    first = post(
        bensys_up,
        "/migrants",
        {
            **person("Mohammed Karim Uddin", "male", "Greater Malé"),
            "phone": "+960 777-1000",
            "date_of_birth": "1988-05-01",
            "identity_document": {
                "type": "passport",
                "number": "BX 123 456",
                "issuing_country": "BD",
            },
            "vulnerabilities": ["economic_hardship"],
        },
    )
    assert first.status_code == 201, first.text
    first_id = first.json()["migrant_id"]
    assert first.json()["likely_duplicates"] == []

    # When the same man comes back as "Md. Karim Uddin", same year, no documents
    again = post(
        bensys_up,
        "/migrants",
        {
            **person("Md. Karim Uddin", "male", "Greater Malé"),
            "date_of_birth": "1988-05-01",
        },
    )
    assert again.status_code == 201, again.text
    second_id = again.json()["migrant_id"]
    # Then the registrar is shown the first record as a likely duplicate, with what matched
    [dup] = again.json()["likely_duplicates"]
    assert dup["migrant_id"] == first_id
    assert dup["score"] >= 0.7
    assert "name" in dup["matched"]

    # And search finds him by fuzzy name and by phone in any common spelling
    found = httpx.get(
        f"{bensys_up.registry}/migrants", params={"q": "Muhammad Karim"}, headers=auth("helpline")
    ).json()["results"]
    assert first_id in [r["migrant_id"] for r in found]
    by_phone = httpx.get(
        f"{bensys_up.registry}/migrants", params={"q": "7771000"}, headers=auth("registrar")
    ).json()["results"]
    assert [r["migrant_id"] for r in by_phone] == [first_id]

    # The helpline sees what a call needs, not documents or nationality
    seen = httpx.get(f"{bensys_up.registry}/migrants/{first_id}", headers=auth("helpline"))
    assert seen.json()["full_name"] == "Mohammed Karim Uddin"
    assert seen.json()["phone"] == "+9607771000"
    assert "identity_document" not in seen.json()
    assert "nationality" not in seen.json()
    full = httpx.get(f"{bensys_up.registry}/migrants/{first_id}", headers=auth("registrar")).json()
    assert full["identity_document"]["number"] == "BX 123 456"

    # Correction needs the current version; a stale one is a 409 that says what to do
    etag = seen.headers["ETag"]
    fixed = httpx.patch(
        f"{bensys_up.registry}/migrants/{first_id}",
        json={"employer": "Island Catering"},
        headers={**auth("registrar"), "If-Match": etag},
    )
    assert fixed.status_code == 200, fixed.text
    assert fixed.json()["corrected_fields"] == ["employer"]
    stale = httpx.patch(
        f"{bensys_up.registry}/migrants/{first_id}",
        json={"employer": "Other"},
        headers={**auth("registrar"), "If-Match": etag},
    )
    assert stale.status_code == 409
    assert "GET it again" in stale.json()["error"]["message"]
    missing = httpx.patch(
        f"{bensys_up.registry}/migrants/{first_id}",
        json={"employer": "X"},
        headers=auth("registrar"),
    )
    assert missing.status_code == 422
    assert "If-Match" in missing.json()["error"]["message"]

    # Fifty registrars correct the record at once from the same version: exactly one wins
    current = httpx.get(f"{bensys_up.registry}/migrants/{first_id}", headers=auth("registrar"))
    outcomes = asyncio.run(fifty_writers(bensys_up, first_id, current.headers["ETag"]))
    winners = [employer for status, employer in outcomes if status == 200]
    assert len(winners) == 1, outcomes
    assert sorted({status for status, _ in outcomes}) == [200, 409]
    after = httpx.get(f"{bensys_up.registry}/migrants/{first_id}", headers=auth("registrar"))
    assert after.json()["employer"] == winners[0]
    assert after.headers["ETag"] == f'"{int(current.headers["ETag"].strip(chr(34))) + 1}"'

    # Consent: withdraw one purpose; registration consent cannot be withdrawn
    withdrawn = httpx.delete(
        f"{bensys_up.registry}/migrants/{first_id}/consents/health_vaccination",
        headers=auth("registrar"),
    )
    assert withdrawn.json()["consents"] == ["registration"]
    refused = httpx.delete(
        f"{bensys_up.registry}/migrants/{first_id}/consents/registration", headers=auth("registrar")
    )
    assert refused.status_code == 422
    assert "erase" in refused.json()["error"]["message"]

    # Merge the second into the first: the absorbed record points to the survivor
    merged = post(
        bensys_up,
        f"/migrants/{second_id}/merge",
        {"into": first_id, "reason": "same passport photo and phone"},
    )
    assert merged.status_code == 200, merged.text
    absorbed = httpx.get(
        f"{bensys_up.registry}/migrants/{second_id}", headers=auth("registrar")
    ).json()
    assert absorbed["merged_into"] == first_id
    # Reports count one person for the merged pair
    wait_for_report_total(bensys_up, 1)
    assert (
        httpx.get(
            f"{bensys_up.registry}/migrants/{first_id}/duplicates", headers=auth("registrar")
        ).json()["likely_duplicates"]
        == []
    )
    # Reversible only by a new event
    undone = post(bensys_up, f"/migrants/{second_id}/unmerge", {"reason": "brothers, not one man"})
    assert undone.status_code == 200
    wait_for_report_total(bensys_up, 2)
    distinct = post(
        bensys_up,
        f"/migrants/{second_id}/distinct",
        {"other_id": first_id, "reason": "brothers, not one man"},
    )
    assert distinct.status_code == 200
    again_merge = post(
        bensys_up, f"/migrants/{second_id}/merge", {"into": first_id, "reason": "oops"}
    )
    assert again_merge.status_code == 409
    assert bensys_up.interrupt() == 0


def test_disclosures_are_recorded_and_decided_and_nothing_is_released_by_the_system(
    bensys_up: RunningBenSys,
) -> None:
    bensys_up.start()
    someone = post(bensys_up, "/migrants", person("Rina Akter", "female", "Kdh Atoll")).json()
    asked = post(
        bensys_up,
        "/disclosures",
        {
            "authority": "Maldives Immigration",
            "requested_by": "Officer A. Rasheed",
            "migrant_ids": [someone["migrant_id"]],
            "data_requested": "current address",
            "legal_basis": "letter ref 2026/114",
        },
        role="manager",
    )
    assert asked.status_code == 201, asked.text
    disclosure_id = asked.json()["disclosure_id"]
    no_reason = post(
        bensys_up,
        f"/disclosures/{disclosure_id}/decision",
        {"decision": "released", "reason": "court order"},
        role="admin",
    )
    assert no_reason.status_code == 422  # a release must say what was released
    decided = post(
        bensys_up,
        f"/disclosures/{disclosure_id}/decision",
        {"decision": "refused", "reason": "no court order; programme policy"},
        role="admin",
    )
    assert decided.status_code == 200, decided.text
    listed = httpx.get(f"{bensys_up.registry}/disclosures", headers=auth("auditor")).json()[
        "disclosures"
    ]
    assert listed[0]["authority"] == "Maldives Immigration"
    assert listed[0]["requested_by"] == "Officer A. Rasheed"
    assert listed[0]["status"] == "refused"
    assert (
        httpx.get(f"{bensys_up.registry}/disclosures", headers=auth("registrar")).status_code == 403
    )
    assert bensys_up.interrupt() == 0


def test_erasure_leaves_a_canary_unreadable_everywhere_and_counts_intact(
    bensys_up: RunningBenSys,
) -> None:
    bensys_up.start()
    canary_name = f"Zyqor Canary{uuid.uuid4().hex[:6]}"
    canary_phone = "+960 799 4242"
    created = post(
        bensys_up,
        "/migrants",
        {
            **person(canary_name, "female", "Seenu Atoll"),
            "phone": canary_phone,
            "employer": f"{canary_name} Employer",
        },
    )
    migrant_id = created.json()["migrant_id"]
    # Readable through the API before erasure, and read by the helpline once (a recorded read)
    shown = httpx.get(f"{bensys_up.registry}/migrants/{migrant_id}", headers=auth("helpline"))
    assert shown.json()["full_name"] == canary_name
    wait_for_report_total(bensys_up, 1)

    # When an admin erases the person
    assert (
        httpx.delete(
            f"{bensys_up.registry}/migrants/{migrant_id}",
            params={"reason": "person_request"},
            headers=auth("registrar"),
        ).status_code
        == 403
    )
    erased = httpx.delete(
        f"{bensys_up.registry}/migrants/{migrant_id}",
        params={"reason": "person_request"},
        headers=auth("admin"),
    )
    assert erased.status_code == 200, erased.text

    # Then the API says so, and search no longer finds them
    assert (
        httpx.get(f"{bensys_up.registry}/migrants/{migrant_id}", headers=auth("admin")).status_code
        == 410
    )
    assert (
        httpx.get(
            f"{bensys_up.registry}/migrants", params={"q": canary_name}, headers=auth("registrar")
        ).json()["results"]
        == []
    )
    # And no store, topic, dead-letter topic or log holds the name or the phone readably
    needles = [canary_name, "7994242"]
    assert scan_databases(bensys_up, needles) == []
    assert asyncio.run(scan_topics(bensys_up, needles)) == []
    logs = "".join(p.read_text(errors="replace") for p in (bensys_up.data_dir / "logs").iterdir())
    assert not [n for n in needles if n in logs]
    # While the count of people registered stays
    wait_for_report_total(bensys_up, 1)
    assert bensys_up.interrupt() == 0


def wait_for_report_total(system: RunningBenSys, total: int) -> None:
    deadline = time.monotonic() + 60
    while True:
        body = httpx.get(
            f"{system.reporting}/reports/registrations", headers=auth("manager")
        ).json()
        if body["total"] == total:
            return
        assert time.monotonic() < deadline, body
        time.sleep(0.1)


def scan_databases(system: RunningBenSys, needles: list[str]) -> list[str]:
    client: MongoClient[dict[str, Any]] = MongoClient(
        f"mongodb://127.0.0.1:{system.mongo_port}/?directConnection=true"
    )
    found = []
    try:
        for db_name in client.list_database_names():
            for collection in client[db_name].list_collection_names():
                for doc in client[db_name][collection].find({}):
                    text = repr(doc)
                    found += [f"{db_name}.{collection}: {n}" for n in needles if n in text]
    finally:
        client.close()
    return found


async def scan_topics(system: RunningBenSys, needles: list[str]) -> list[str]:
    bootstrap = f"127.0.0.1:{system.kafka_port}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    topics = [t for t in await admin.list_topics() if t.startswith("bensys.")]
    await admin.close()
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=f"scan-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    found: list[str] = []
    seen = 0
    try:
        quiet = 0
        while quiet < 3:  # three empty polls in a row: the topics are read to their end
            batch = await consumer.getmany(timeout_ms=1000)
            quiet = 0 if batch else quiet + 1
            for records in batch.values():
                for record in records:
                    seen += 1
                    blob = (record.value or b"") + b"".join(v for _, v in record.headers)
                    found += [f"{record.topic}: {n}" for n in needles if n.encode() in blob]
    finally:
        await consumer.stop()
    assert seen > 0, "the scan read no messages at all"
    return found
