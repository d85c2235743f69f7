"""``GET /audit/subjects/{id}`` on a real MongoDB: one person's history across every service,
personal data never decrypted, and marked erased once their key is gone."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest

from shared.contracts.base import Sealed
from shared.contracts.cards import CardIssued, CardVerified
from shared.contracts.helpline import CallDetailsRead
from shared.contracts.registry import ConsentGiven, MigrantErased, MigrantRegistered
from shared.runtime import ServiceRuntime
from tests.integration.reporting_harness import MORNING, as_role, deliver, http, runtime

pytestmark = pytest.mark.integration
__all__ = ["http", "runtime"]  # fixtures
SITE = "Kdh Atoll"


def registration(migrant_id: str) -> MigrantRegistered:
    return MigrantRegistered(
        migrant_id=migrant_id,
        full_name=Sealed(kid=migrant_id, iv="aXY", ct="c2VjcmV0IG5hbWU"),
        approximate_birth_year=Sealed(kid=migrant_id, iv="aXY", ct="MTk5MA"),
        sex="female",
        age_band="25-34",
        nationality="NP",
        preferred_languages=("ne",),
        site=SITE,
        consent=ConsentGiven(purposes=("registration",), method="verbal", notice_language="ne"),
        issue_card=True,
        registered_by="registrar-7",
        registered_at=MORNING,
    )


async def test_a_persons_history_spans_every_service_and_never_shows_their_data(
    runtime: ServiceRuntime, http: httpx.AsyncClient
) -> None:
    # Given a woman registered, carded, verified at a clinic and read about on the helpline
    sita, someone_else = str(uuid.uuid4()), str(uuid.uuid4())
    ids = [await deliver(runtime, registration(sita), sita)]
    await deliver(runtime, registration(someone_else), someone_else)
    ids.append(
        await deliver(
            runtime,
            CardIssued(
                migrant_id=sita,
                card_number="K7MR4XQ2PNC",
                printed_name=Sealed(kid=sita, iv="aXY", ct="U0lUQQ"),
                sex="female",
                issued_at=MORNING,
                expires_at=MORNING + timedelta(days=730),
                key_id="issuer-1",
                site=SITE,
                trigger="registration",
                issued_by="system:cards",
            ),
            sita,
        )
    )
    ids.append(
        await deliver(
            runtime,
            CardVerified(
                verification_id=str(uuid.uuid4()),
                migrant_id=sita,
                card_number="K7MR4XQ2PNC",
                method="credential",
                status="valid",
                verified_by="nurse-3",
                verified_at=MORNING,
            ),
            sita,
        )
    )
    ids.append(  # a read of several callers' details: its subject is the read itself
        await deliver(
            runtime,
            CallDetailsRead(
                call_ids=("c-1", "c-2"),
                subjects=(sita, "call:c-2"),
                reader="operator-1",
                role="helpline",
                purpose="call_list",
                read_at=MORNING,
            ),
        )
    )

    # When an auditor asks for her history, two events a page
    pages, cursor = [], None
    while True:
        params = {"limit": "2"} | ({} if cursor is None else {"cursor": cursor})
        answer = await http.get(
            f"/audit/subjects/{sita}", params=params, headers=as_role("auditor")
        )
        assert answer.status_code == 200, answer.text
        pages.append(answer.json())
        cursor = answer.json()["next_cursor"]
        if cursor is None:
            break

    # Then every event about her is there, oldest first, and nobody else's
    events = [event for page in pages for event in page["events"]]
    assert [e["event_id"] for e in events] == ids
    assert [e["service"] for e in events] == ["registry", "cards", "cards", "helpline"]
    assert events[0]["type"] == "bensys.registry.MigrantRegistered.v1"
    assert (events[0]["site"], events[0]["data"]["nationality"]) == (None, "NP")
    # And her name is only said to be encrypted: no ciphertext, no plain text
    assert events[0]["data"]["full_name"] == {"personal_data": "encrypted", "kid": sita}
    assert "c2VjcmV0IG5hbWU" not in str(pages)
    assert pages[0]["erased"] is False

    # When she is erased, her sealed values are shown as erased
    await deliver(
        runtime,
        MigrantErased(
            migrant_id=sita, reason="person_request", erased_by="admin-1", erased_at=MORNING
        ),
        sita,
    )
    after = (
        await http.get(f"/audit/subjects/{sita}", params={"limit": "500"}, headers=as_role("admin"))
    ).json()
    assert after["erased"] is True
    assert after["events"][1]["data"]["printed_name"] == {"personal_data": "erased", "kid": sita}
    assert after["events"][-1]["type"] == "bensys.registry.MigrantErased.v1"
    # And only auditors and admins may read it; an unknown id is a 404 that says what to check
    refused = await http.get(f"/audit/subjects/{sita}", headers=as_role("manager"))
    assert refused.status_code == 403
    garbled = await http.get(
        f"/audit/subjects/{sita}", params={"cursor": "%%%"}, headers=as_role("auditor")
    )
    assert garbled.status_code == 422
    assert "start again without it" in garbled.json()["error"]["message"]
    unknown = await http.get("/audit/subjects/nobody", headers=as_role("auditor"))
    assert unknown.status_code == 404
    assert "check the id" in unknown.json()["error"]["message"]
