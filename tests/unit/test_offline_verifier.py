"""The offline verifier at a health centre: the JWKS, the last revocation list, and the clock."""

from __future__ import annotations

import hmac
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.bencard import (
    CardClaims,
    OfflineVerifier,
    RevocationListRejected,
    SigningKey,
    format_card_number,
    issue_credential,
    jwks,
    new_card_number,
    new_signing_key,
    read_revocation_list,
    sign_revocation_list,
)
from shared.bencard.revocations import Pseudonymiser, pseudonym

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
WEEK = timedelta(days=7)


class Clock:
    """The verifier's clock, moved by the test as days pass at the health centre."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_signing_key()


def card(key: SigningKey, number: str | None = None, name: str = "Rahim Uddin") -> tuple[str, str]:
    """A genuine credential and its card number."""
    number = number or new_card_number()
    claims = CardClaims(
        card_number=number,
        name=name,
        sex="male",
        birth_year=1988,
        issued_at=NOW - timedelta(days=30),
        expires_at=NOW + timedelta(days=700),
        issuer="MRC BenSys",
    )
    return issue_credential(claims, key), number


def verifier(
    key: SigningKey, revoked: list[str], *, listed: datetime = NOW, clock: Clock | None = None
) -> OfflineVerifier:
    document = sign_revocation_list(revoked, key, issued_at=listed)
    return OfflineVerifier(
        jwks([key.public_key]), document, max_list_age=WEEK, now=clock or Clock()
    )


def test_a_genuine_card_not_on_the_list_is_valid(key: SigningKey) -> None:
    # given a genuine card, and a list revoking other cards
    text, number = card(key)
    checker = verifier(key, [new_card_number() for _ in range(50)])
    # when it is checked offline
    result = checker.verify(text)
    # then it is valid, and the holder is shown
    assert result.valid
    assert result.status == "valid"
    assert result.claims is not None
    assert result.claims.card_number == number
    assert result.claims.name == "Rahim Uddin"


def test_a_revoked_card_is_refused_and_its_holder_not_shown(key: SigningKey) -> None:
    # given a genuine card that the list revokes
    text, number = card(key)
    checker = verifier(key, [new_card_number(), number, new_card_number()])
    # when it is checked
    result = checker.verify(text)
    # then it is refused as revoked, and nothing about the holder is returned
    assert not result.valid
    assert result.status == "revoked"
    assert result.claims is None
    assert "revoked" in result.reason


def test_a_replaced_card_is_refused_and_its_replacement_accepted(key: SigningKey) -> None:
    # given a lost card, replaced by a new card for the same person
    lost, lost_number = card(key, name="Ayesha Begum")
    replacement, _ = card(key, name="Ayesha Begum")
    # when the list carries the lost card, as it does any revoked one
    checker = verifier(key, [lost_number])
    # then the lost card is refused and the new one accepted
    assert checker.verify(lost).status == "revoked"
    assert checker.verify(replacement).status == "valid"


def test_a_list_older_than_the_maximum_age_is_refused_at_start(key: SigningKey) -> None:
    with pytest.raises(RevocationListRejected) as rejected:
        verifier(key, [], listed=NOW - WEEK - timedelta(seconds=1))
    assert rejected.value.reason == "too_old"
    assert "download a new list" in str(rejected.value)


def test_a_verifier_left_running_refuses_once_its_list_is_too_old(key: SigningKey) -> None:
    # given a verifier started with a fresh list
    text, _ = card(key)
    clock = Clock()
    checker = verifier(key, [], clock=clock)
    assert checker.verify(text).valid
    # when it is still running a week later, to the second
    clock.now = NOW + WEEK
    assert checker.verify(text).valid
    # then a second later it refuses to check any card until it gets a new list
    clock.now = NOW + WEEK + timedelta(seconds=1)
    with pytest.raises(RevocationListRejected) as rejected:
        checker.verify(text)
    assert rejected.value.reason == "too_old"


def test_a_list_dated_in_the_future_is_refused_beyond_five_minutes_of_clock_drift(
    key: SigningKey,
) -> None:
    assert verifier(key, [], listed=NOW + timedelta(minutes=5)).verify(card(key)[0]).valid
    with pytest.raises(RevocationListRejected) as rejected:
        verifier(key, [], listed=NOW + timedelta(minutes=5, seconds=1))
    assert rejected.value.reason == "from_the_future"


def test_a_verifier_whose_clock_is_set_back_refuses(key: SigningKey) -> None:
    clock = Clock()
    checker = verifier(key, [], clock=clock)
    clock.now = NOW - timedelta(hours=1)
    with pytest.raises(RevocationListRejected) as rejected:
        checker.verify(card(key)[0])
    assert rejected.value.reason == "from_the_future"


def test_a_list_signed_by_an_unknown_key_is_refused(key: SigningKey) -> None:
    # given a list signed by a key that is not in the JWKS
    document = sign_revocation_list([], new_signing_key(), issued_at=NOW)
    # then the verifier will not start with it
    with pytest.raises(RevocationListRejected) as rejected:
        OfflineVerifier(jwks([key.public_key]), document, max_list_age=WEEK, now=Clock())
    assert rejected.value.reason == "unknown_key"


def tampered(key: SigningKey, edit: Any) -> dict[str, Any]:
    document = sign_revocation_list([new_card_number() for _ in range(3)], key, issued_at=NOW)
    edit(document)
    return document


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["payload"]["pseudonyms"].pop(1),
        lambda d: d["payload"].update(salt="A" * 22),
        lambda d: d["payload"].update(issued_at="2026-05-08T09:00:00Z"),
        lambda d: d.update(
            signature=("B" if d["signature"][0] == "A" else "A") + d["signature"][1:]
        ),
        lambda d: d.update(payload=[]),
        lambda d: d["payload"].update(pseudonyms="x"),
    ],
)
def test_a_tampered_list_is_refused_as_badly_signed(key: SigningKey, edit: Any) -> None:
    # given a list someone edited, say to take a stolen card off it
    document = tampered(key, edit)
    # then it is refused: its signature no longer matches
    with pytest.raises(RevocationListRejected) as rejected:
        read_revocation_list(document, {key.kid: key.public_key}, now=NOW, max_age=WEEK)
    assert rejected.value.reason == "bad_signature"


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d.update(alg="none"),
        lambda d: d.pop("signature"),
        lambda d: d.update(extra=1),
        lambda d: d.update(signature=None),
        lambda d: d.update(signature="not base64!"),
        lambda d: d.update(kid=5),
    ],
)
def test_a_list_that_is_not_one_is_refused_as_malformed(key: SigningKey, edit: Any) -> None:
    document = tampered(key, edit)
    with pytest.raises(RevocationListRejected) as rejected:
        read_revocation_list(document, {key.kid: key.public_key}, now=NOW, max_age=WEEK)
    assert rejected.value.reason == "malformed"


def test_the_list_never_holds_a_card_number_in_clear(key: SigningKey) -> None:
    # given a list of revoked cards
    numbers = [new_card_number() for _ in range(200)]
    document = sign_revocation_list(numbers, key, issued_at=NOW)
    # then no number appears in it, in any form it is written
    text = json.dumps(document)
    for number in numbers:
        assert number not in text
        assert format_card_number(number) not in text
        assert number.lower() not in text.lower()
    # and it holds one 128-bit pseudonym per card, nothing else per card
    assert len(document["payload"]["pseudonyms"]) == 200
    assert {len(p) for p in document["payload"]["pseudonyms"]} == {22}


def test_two_lists_of_the_same_cards_cannot_be_linked(key: SigningKey) -> None:
    numbers = [new_card_number() for _ in range(20)]
    first = sign_revocation_list(numbers, key, issued_at=NOW)
    second = sign_revocation_list(numbers, key, issued_at=NOW)
    assert first["payload"]["salt"] != second["payload"]["salt"]
    assert not set(first["payload"]["pseudonyms"]) & set(second["payload"]["pseudonyms"])


def test_a_list_survives_being_saved_as_json_and_checks_typed_numbers(key: SigningKey) -> None:
    # given a list written to a file as JSON and read back on the device
    number = new_card_number()
    document = json.loads(json.dumps(sign_revocation_list([number], key, issued_at=NOW)))
    revocations = read_revocation_list(document, {key.kid: key.public_key}, now=NOW, max_age=WEEK)
    # then a number typed at the counter, in any case and grouping, is found
    assert revocations.is_revoked(format_card_number(number).lower())
    assert not revocations.is_revoked(new_card_number())
    assert revocations.issued_at == NOW


def test_a_verifier_answers_rubbish_with_malformed_instead_of_an_error(key: SigningKey) -> None:
    checker = verifier(key, [])
    for rubbish in ["", "BC1:", "hello", "BC1:" + "Z" * 99, card(key)[0][:-3]]:
        result = checker.verify(rubbish)
        assert (result.valid, result.status, result.claims) == (False, "malformed", None)


def test_a_card_from_an_unknown_issuer_key_is_refused_as_unknown_key(key: SigningKey) -> None:
    text, _ = card(new_signing_key())
    result = verifier(key, []).verify(text)
    assert (result.valid, result.status) == (False, "unknown_key")


def test_the_verifiers_fast_pseudonyms_are_hmac_sha_256_as_the_list_is_signed() -> None:
    # given the HMAC the verifier prepares once per list, and the library HMAC the list uses
    for n in range(500):
        salt = secrets.token_bytes(16)
        number = new_card_number()
        # then they agree on every card under every salt
        assert Pseudonymiser(salt)(number) == pseudonym(salt, number), n
    assert (
        pseudonym(bytes(16), "ABCDEFGHJKM") == hmac.digest(bytes(16), b"ABCDEFGHJKM", "sha256")[:16]
    )
