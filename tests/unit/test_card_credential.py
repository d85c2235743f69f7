"""The BenCard credential: what the QR code holds, byte for byte, and who can read it.

The layout is checked with cbor2 and zlib directly, not through the module's own helpers, so
a reader written from the module docstring alone (another vendor's app, a script) would read
the same card.
"""

from __future__ import annotations

import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.bencard import (
    CardClaims,
    CredentialRejected,
    SigningKey,
    base45,
    card_number_of,
    issue_credential,
    jwks,
    key_id,
    new_card_number,
    new_signing_key,
    private_key_bytes,
    public_keys_from_jwks,
    read_credential,
    signing_key_from_bytes,
)

NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
RFC8032_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")


def claims(**changes: Any) -> CardClaims:
    values: dict[str, Any] = {
        "card_number": new_card_number(),
        "name": "Ayesha Begum",
        "sex": "female",
        "birth_year": 1991,
        "issued_at": NOW - timedelta(days=10),
        "expires_at": NOW + timedelta(days=720),
        "issuer": "MRC BenSys",
    }
    return CardClaims(**(values | changes))


def cose_of(text: str) -> Any:
    assert text.startswith("BC1:")
    return cbor2.loads(zlib.decompress(base45.decode(text[4:])))


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return new_signing_key()


def test_a_credential_reads_back_as_the_claims_it_was_issued_with(key: SigningKey) -> None:
    # given a card issued to a person
    issued = claims()
    text = issue_credential(issued, key)
    # when a verifier with the issuer's JWKS reads its QR text
    read = read_credential(text, public_keys_from_jwks(jwks([key.public_key])), now=NOW)
    # then it gets back exactly what was issued
    assert read == issued


@pytest.mark.parametrize(
    ("sex", "year", "name"),
    [
        ("male", 1980, "Mohammad Abdur Rahman"),
        ("other", 2001, "আয়েশা বেগম"),
        ("undisclosed", None, "Suresh"),
        ("female", None, "N"),
    ],
)
def test_every_sex_and_an_unknown_year_of_birth_round_trip(
    key: SigningKey, sex: Any, year: int | None, name: str
) -> None:
    issued = claims(sex=sex, birth_year=year, name=name)
    keys = public_keys_from_jwks(jwks([key.public_key]))
    assert read_credential(issue_credential(issued, key), keys, now=NOW) == issued


def test_the_qr_text_is_base45_of_zlib_of_a_cose_sign1_with_eddsa_and_the_kid(
    key: SigningKey,
) -> None:
    # given a credential
    text = issue_credential(claims(), key)
    # then it is "BC1:" and QR alphanumeric characters only
    assert set(text[4:]) <= set(base45.ALPHABET)
    # and inside is CBOR tag 18 (COSE_Sign1) of four elements
    sign1 = cose_of(text)
    assert isinstance(sign1, cbor2.CBORTag)
    assert sign1.tag == 18
    protected, unprotected, payload, signature = sign1.value
    # whose protected header is a byte string holding alg EdDSA (-8) and the kid, nothing else
    assert cbor2.loads(protected) == {1: -8, 4: key.kid.encode()}
    assert unprotected == {}
    # and whose signature is Ed25519 over the COSE Sig_structure, checkable by anyone
    key.public_key.verify(signature, cbor2.dumps(["Signature1", protected, b"", payload]))


def test_the_claims_are_a_cwt_with_a_claim_169_identity_map(key: SigningKey) -> None:
    issued = claims(sex="female", birth_year=1991)
    payload = cbor2.loads(cose_of(issue_credential(issued, key)).value[2])
    iat, exp = int(issued.issued_at.timestamp()), int(issued.expires_at.timestamp())
    assert payload == {
        1: "MRC BenSys",
        6: iat,
        5: iat,
        4: exp,
        169: {1: issued.card_number, 4: "Ayesha Begum", 8: "1991", 9: 2},
    }


@pytest.mark.parametrize(("sex", "code"), [("male", 1), ("female", 2), ("other", 3)])
def test_sex_is_claim_169_gender_code(key: SigningKey, sex: Any, code: int) -> None:
    payload = cbor2.loads(cose_of(issue_credential(claims(sex=sex), key)).value[2])
    assert payload[169][9] == code


def test_an_unknown_year_and_an_undisclosed_sex_are_left_out_not_filled_in(
    key: SigningKey,
) -> None:
    issued = claims(sex="undisclosed", birth_year=None)
    payload = cbor2.loads(cose_of(issue_credential(issued, key)).value[2])
    assert payload[169] == {1: issued.card_number, 4: "Ayesha Begum"}


def test_a_typical_credential_fits_a_small_qr_code(key: SigningKey) -> None:
    # given a forty-character name, the longest a card prints
    text = issue_credential(claims(name="Mohammad Abdur Rahman Chowdhury Talukdar"), key)
    # then the QR text stays well inside a version 10 code at medium error correction
    assert len(text) < 400


def test_a_card_signed_before_a_key_rotation_still_verifies(key: SigningKey) -> None:
    # given a card signed by the old key, and a new key in use since
    old_card = issue_credential(claims(), key)
    new_key = new_signing_key()
    new_card = issue_credential(claims(), new_key)
    # when verifiers get a JWKS with both keys
    both = public_keys_from_jwks(jwks([new_key.public_key, key.public_key]))
    # then both cards verify
    assert read_credential(old_card, both, now=NOW).issuer == "MRC BenSys"
    assert read_credential(new_card, both, now=NOW).issuer == "MRC BenSys"
    # and once the old key is dropped from the JWKS, its cards no longer do
    only_new = public_keys_from_jwks(jwks([new_key.public_key]))
    with pytest.raises(CredentialRejected) as rejected:
        read_credential(old_card, only_new, now=NOW)
    assert rejected.value.reason == "unknown_key"


def test_a_card_is_valid_from_issue_until_just_before_expiry(key: SigningKey) -> None:
    issued = claims()
    text = issue_credential(issued, key)
    keys = {key.kid: key.public_key}
    assert read_credential(text, keys, now=issued.issued_at) == issued
    assert read_credential(text, keys, now=issued.expires_at - timedelta(seconds=1)) == issued
    for now, reason in [
        (issued.issued_at - timedelta(seconds=1), "not_yet_valid"),
        (issued.expires_at, "expired"),
    ]:
        with pytest.raises(CredentialRejected) as rejected:
            read_credential(text, keys, now=now)
        assert rejected.value.reason == reason


@pytest.mark.parametrize(
    "change",
    [
        {"issued_at": datetime(2026, 5, 1, 9, 0)},  # naive
        {"issued_at": NOW + timedelta(microseconds=1)},
        {"expires_at": NOW - timedelta(days=20)},
        {"card_number": "ABCDEFGHJKM"},
        {"name": ""},
    ],
)
def test_claims_no_reader_would_accept_are_not_issued(key: SigningKey, change: Any) -> None:
    with pytest.raises(ValueError, match=r"."):
        issue_credential(claims(**change), key)


def test_the_card_number_of_a_credential_can_be_logged_without_verifying_it(
    key: SigningKey,
) -> None:
    # given a genuine card, and a forgery signed by a key nobody trusts
    genuine = claims()
    forged = claims()
    stranger = new_signing_key()
    # then the number each claims can be read, to log which card was presented
    assert card_number_of(issue_credential(genuine, key)) == genuine.card_number
    assert card_number_of(issue_credential(forged, stranger)) == forged.card_number
    # and anything unreadable gives None, never an exception
    for junk in ["", "BC1:", "BC1:%%%", "HC1:6BFOXN", "BC1:" + "0" * 5000, "BC1:AB:"]:
        assert card_number_of(junk) is None


# --- keys ------------------------------------------------------------------------------------


def test_a_key_id_is_the_rfc_7638_thumbprint_of_the_public_key() -> None:
    # given the Ed25519 key of RFC 8032 test 1, whose thumbprint RFC 8037 A.3 gives
    private_key = Ed25519PrivateKey.from_private_bytes(RFC8032_SECRET)
    # then its key id is that thumbprint, cut to 16 characters
    assert key_id(private_key.public_key()) == "kPrK_qmxVWaYVA9w"


def test_the_public_jwk_is_an_okp_ed25519_signing_key() -> None:
    key = signing_key_from_bytes(RFC8032_SECRET)
    assert key.public_jwk() == {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        "kid": "kPrK_qmxVWaYVA9w",
        "alg": "EdDSA",
        "use": "sig",
    }
    assert jwks([key.public_key]) == {"keys": [key.public_jwk()]}


def test_a_stored_key_comes_back_with_the_same_kid(key: SigningKey) -> None:
    raw = private_key_bytes(key)
    assert len(raw) == 32
    restored = signing_key_from_bytes(raw)
    assert restored.kid == key.kid
    assert private_key_bytes(restored) == raw
    with pytest.raises(ValueError, match="32 bytes"):
        signing_key_from_bytes(raw[:31])


def test_a_jwks_may_carry_other_kinds_of_key_which_are_ignored(key: SigningKey) -> None:
    document = jwks([key.public_key])
    document["keys"].insert(0, {"kty": "RSA", "n": "0vx7", "e": "AQAB", "kid": "rsa-1"})
    document["keys"].append({"kty": "OKP", "crv": "X25519", "x": "abc", "kid": "x"})
    assert set(public_keys_from_jwks(document)) == {key.kid}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda jwk: jwk.update(kid="trusted-key-1"), "thumbprint"),
        (lambda jwk: jwk.update(x=jwk["x"][:-2]), "usable Ed25519 x"),
        (lambda jwk: jwk.update(x=jwk["x"] + "=="), "usable Ed25519 x"),
        (lambda jwk: jwk.pop("x"), "usable Ed25519 x"),
        (lambda jwk: jwk.update(alg="ES256"), "EdDSA"),
        (lambda jwk: jwk.pop("kty"), "no kty"),
    ],
)
def test_a_malformed_or_edited_jwks_is_refused_with_a_reason(
    key: SigningKey, edit: Any, message: str
) -> None:
    document = jwks([key.public_key])
    edit(document["keys"][0])
    with pytest.raises(ValueError, match=message):
        public_keys_from_jwks(document)


@pytest.mark.parametrize("document", [{}, {"keys": {}}, {"keys": ["x"]}, []])
def test_something_that_is_not_a_jwks_is_refused(document: Any) -> None:
    with pytest.raises(ValueError, match="JWK"):
        public_keys_from_jwks(document)


def test_a_key_cannot_be_listed_twice(key: SigningKey) -> None:
    with pytest.raises(ValueError, match="repeats kid"):
        public_keys_from_jwks(jwks([key.public_key, key.public_key]))


# --- Base45 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"AB", "BB8"),
        (b"Hello!!", "%69 VD92EX0"),
        (b"base-45", "UJCLQE7W581"),
        (b"ietf!", "QED8WEX0"),
        (b"", ""),
        (b"\xff\xff", "FGW"),
    ],
)
def test_base45_matches_rfc_9285(raw: bytes, text: str) -> None:
    assert base45.encode(raw) == text
    assert base45.decode(text) == raw


def test_base45_round_trips_every_length_and_byte() -> None:
    for size in range(300):
        data = bytes((size * 7 + i * 13) % 256 for i in range(size))
        assert base45.decode(base45.encode(data)) == data
    assert base45.decode(base45.encode(bytes(range(256)))) == bytes(range(256))


@pytest.mark.parametrize("text", ["GGW", ":::", "A", "ABCD", "abc", "A\u00e9B", "AB\n", "AB_"])
def test_base45_refuses_what_rfc_9285_does_not_allow(text: str) -> None:
    # 65,536 and above in three characters, a lone character, lower case, other characters
    with pytest.raises(base45.Base45Error):
        base45.decode(text)
