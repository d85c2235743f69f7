"""The README's offline-verifier example runs as written: docs that run (STYLE habit 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.bencard import (
    CardClaims,
    OfflineResult,
    issue_credential,
    jwks,
    new_card_number,
    new_signing_key,
    sign_revocation_list,
)

README = Path(__file__).resolve().parents[2] / "README.md"


def readme_python(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index("```python", text.index(f"<!-- example: {name} -->")) + len("```python")
    return text[start : text.index("```", start)]


def test_the_readme_example_accepts_a_genuine_card_and_refuses_a_revoked_one() -> None:
    # Given an issuer key, two cards, and a list on which the second is revoked
    key = new_signing_key()
    now = datetime.now(UTC).replace(microsecond=0)
    kept, revoked = new_card_number(), new_card_number()

    def card(number: str) -> str:
        claims = CardClaims(
            card_number=number,
            name="Ayesha Begum",
            sex="female",
            birth_year=1991,
            issued_at=now - timedelta(days=1),
            expires_at=now + timedelta(days=729),
            issuer="Maldivian Red Crescent",
        )
        return issue_credential(claims, key)

    documents = {
        "jwks": jwks([key.public_key]),
        "revocation_list": sign_revocation_list([revoked], key, issued_at=now),
    }
    # When the README's code runs on each card
    results: list[OfflineResult] = []
    for scanned in (card(kept), card(revoked)):
        namespace: dict[str, object] = {**documents, "scanned_text": scanned}
        exec(readme_python("offline-verifier"), namespace)  # noqa: S102 - our own README
        result = namespace["result"]
        assert isinstance(result, OfflineResult)
        results.append(result)
    # Then the genuine card is accepted with its printed facts, and the revoked one is not
    assert results[0].valid
    assert results[0].claims is not None
    assert results[0].claims.name == "Ayesha Begum"
    assert (results[1].valid, results[1].status) == (False, "revoked")
