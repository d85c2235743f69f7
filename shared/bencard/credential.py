"""The BenCard credential: a signed CWT in a QR code, readable offline by any health centre.

Built as MOSIP Claim 169 and the EU DCC are, so existing QR tooling recognises it::

    "BC1:" + Base45( zlib( COSE_Sign1 ) )

    COSE_Sign1 = tag 18 [ protected: bstr .cbor {1: -8 (EdDSA), 4: kid (UTF-8 bytes)},
                          unprotected: {},
                          payload: bstr .cbor CWT claims,
                          signature: bstr (64 bytes, Ed25519) ]
    Sig_structure = ["Signature1", protected, b"", payload]    (what the key signs)

    CWT claims = {1: iss (text), 6: iat, 5: nbf (= iat), 4: exp (integer epoch seconds),
                  169: {1: card number, 4: full name,
                        8: year of birth "YYYY" (absent when unknown),
                        9: gender 1 male / 2 female / 3 other (absent when undisclosed)}}

Reading is strict because the text comes from a stranger's QR code: one accepted encoding per
credential, alg taken only from the protected header and only EdDSA (no algorithm confusion),
the kid only from the protected header, the signature checked before any claim is looked at,
and decompression capped so a zlib bomb is refused without being inflated. Whatever the input,
``read_credential`` either returns claims or raises CredentialRejected.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, Literal

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.bencard import base45
from shared.bencard.keys import SigningKey
from shared.bencard.numbers import is_canonical_card_number

PREFIX = "BC1:"
COSE_SIGN1 = 18
EDDSA = -8
MAX_DECOMPRESSED = 2048
"""Bytes a COSE_Sign1 may inflate to; a real credential is a fifth of this."""
MAX_CHARS = len(PREFIX) + (MAX_DECOMPRESSED + 64) * 3 // 2
"""Longer text is refused before decoding: the most that compresses to a credential's size."""

Sex = Literal["female", "male", "other", "undisclosed"]
RejectionReason = Literal[
    "malformed", "unsupported_algorithm", "unknown_key", "bad_signature", "expired", "not_yet_valid"
]
_GENDER: dict[str, int] = {"male": 1, "female": 2, "other": 3}
_SEX: dict[int, Sex] = {1: "male", 2: "female", 3: "other"}
_CLAIM_KEYS = frozenset({1, 4, 5, 6, 169})
_IDENTITY_KEYS = frozenset({1, 4, 8, 9})
_REQUIRED_IDENTITY = frozenset({1, 4})
_INT_ONLY = frozenset({int})
_TIMES_AND_ISSUER = itemgetter(1, 6, 5, 4)
_MAPS = (dict, cbor2.frozendict)
_HEAD_SIZE = tuple(1 if size < 24 else 2 if size < 0x100 else 3 for size in range(MAX_DECOMPRESSED))
"""Bytes of the shortest head of a byte string of each size a COSE_Sign1 part can have."""
_PROTECTED_ALG = b"\xa2\x01\x27\x04"
"""A two-entry map, then 1: -8 and the label 4; the kid's byte string follows."""
_PROTECTED_SHORT_KID = tuple(_PROTECTED_ALG + bytes((0x40 | size,)) for size in range(24))
"""The protected header up to the kid itself, for each kid length under 24 bytes."""
_SIGNATURE1 = b"\x84\x6aSignature1"
"""A four-element array and its first element, the text "Signature1"."""


@dataclass(frozen=True)
class CardClaims:
    """What a card says about its holder; datetimes are UTC, to the second."""

    card_number: str
    name: str
    sex: Sex
    birth_year: int | None
    issued_at: datetime
    expires_at: datetime
    issuer: str


class CredentialRejected(Exception):
    """A credential that must not be believed; ``reason`` says why, for counting and display."""

    def __init__(self, reason: RejectionReason, message: str) -> None:
        super().__init__(message)
        self.reason: RejectionReason = reason


def _epoch(moment: datetime) -> int:
    if moment.tzinfo is None or moment.microsecond:
        raise ValueError("credential times are timezone-aware and whole seconds")
    return int(moment.timestamp())


def issue_credential(claims: CardClaims, key: SigningKey) -> str:
    """The QR text of ``claims`` signed by ``key``; ValueError for claims no reader accepts."""
    iat, exp = _epoch(claims.issued_at), _epoch(claims.expires_at)
    if not is_canonical_card_number(claims.card_number) or not claims.name or exp <= iat:
        raise ValueError("a credential needs a canonical card number, a name and exp > iat")
    identity: dict[int, Any] = {1: claims.card_number, 4: claims.name}
    if claims.birth_year is not None:
        if not 0 <= claims.birth_year <= 9999:
            raise ValueError("a year of birth has four digits")
        identity[8] = f"{claims.birth_year:04d}"
    if claims.sex != "undisclosed":
        identity[9] = _GENDER[claims.sex]
    payload = cbor2.dumps({1: claims.issuer, 6: iat, 5: iat, 4: exp, 169: identity})
    protected = cbor2.dumps({1: EDDSA, 4: key.kid.encode("utf-8")})
    signature = key.private_key.sign(_sig_structure(protected, payload))
    cose = cbor2.dumps(cbor2.CBORTag(COSE_SIGN1, [protected, {}, payload, signature]))
    return PREFIX + base45.encode(zlib.compress(cose, 9))


def _malformed(what: str) -> CredentialRejected:
    return CredentialRejected("malformed", f"not a BenCard credential: {what}")


def _head(size: int) -> bytes:
    """The head of a CBOR byte string of ``size`` bytes, in the shortest form (as cbor2 writes)."""
    if size < 24:
        return bytes((0x40 | size,))
    if size < 0x100:
        return bytes((0x58, size))
    if size < 0x10000:
        return b"\x59" + size.to_bytes(2, "big")
    return b"\x5a" + size.to_bytes(4, "big")


def _sig_structure(protected: bytes, payload: bytes) -> bytes:
    """``["Signature1", protected, b"", payload]`` in CBOR: the bytes the key signs."""
    return b"".join(
        (_SIGNATURE1, _head(len(protected)), protected, b"\x40", _head(len(payload)), payload)
    )


def _unwrap(text: str) -> tuple[bytes, bytes, bytes]:
    """Prefix, Base45, capped zlib, COSE_Sign1: (protected, payload, signature), unverified.

    The COSE_Sign1 must be the one encoding our issuer writes, without trailing bytes: any
    longer-than-needed or indefinite length, or anything after the array, makes it longer than
    the shortest encoding of what was parsed, which is cheap to compute and compare. So cbor2
    can decode with its defaults: whatever else it would tolerate makes the length differ.
    """
    if not isinstance(text, str) or not text.startswith(PREFIX) or len(text) > MAX_CHARS:
        raise _malformed(f'it does not start with "{PREFIX}" or is too long')
    inflater = zlib.decompressobj()
    cose = inflater.decompress(base45.decode(text[len(PREFIX) :]), MAX_DECOMPRESSED)
    if inflater.unconsumed_tail or not inflater.eof or inflater.unused_data:
        raise _malformed("the compressed data is oversized, truncated or followed by more")
    sign1 = cbor2.loads(cose)
    if type(sign1) is not cbor2.CBORTag or sign1.tag != COSE_SIGN1:
        raise _malformed("it is not a COSE_Sign1 (CBOR tag 18)")
    if type(sign1.value) not in (tuple, list) or len(sign1.value) != 4:
        raise _malformed("a COSE_Sign1 is an array of four elements")
    protected, unprotected, payload, signature = sign1.value
    if type(unprotected) not in _MAPS or unprotected:
        raise _malformed("the unprotected header must be an empty map: nothing unsigned counts")
    if type(protected) is not bytes or type(payload) is not bytes or type(signature) is not bytes:
        raise _malformed("the protected header, payload and signature must be byte strings")
    heads = _HEAD_SIZE[len(protected)] + _HEAD_SIZE[len(payload)] + _HEAD_SIZE[len(signature)]
    if len(cose) != 3 + heads + len(protected) + len(payload) + len(signature):  # 3: d2 84 a0
        raise _malformed("the COSE_Sign1 is padded, followed by more bytes or oddly encoded")
    return protected, payload, signature


def _kid(protected: bytes) -> str:
    """The kid of a protected header that is exactly {1: -8, 4: kid}, as issued."""
    kid = protected[5:]
    if len(kid) < 24 and protected[:5] == _PROTECTED_SHORT_KID[len(kid)]:
        return kid.decode("utf-8")  # the header as issued (every kid we make is 16 bytes)
    header = cbor2.loads(protected)  # anything else: read it, to say what is wrong
    alg = header.get(1) if type(header) is dict else None
    if type(alg) is not int or alg != EDDSA:
        raise CredentialRejected(
            "unsupported_algorithm",
            f"the credential claims algorithm {alg!r}; BenCards are signed only with EdDSA (-8)",
        )
    kid = header.get(4)
    if type(kid) is not bytes or protected != _PROTECTED_ALG + _head(len(kid)) + kid:
        raise _malformed("the protected header must hold exactly alg and kid, in that order")
    return kid.decode("utf-8")


def _claims(payload: bytes) -> CardClaims:
    # Signed bytes, which only our issuer writes: its encoding is not checked, only its content.
    claims = cbor2.loads(payload)
    if type(claims) is not dict or claims.keys() != _CLAIM_KEYS:
        raise _malformed("the claims are not exactly iss, iat, nbf, exp and 169")
    identity = claims[169]
    if type(identity) is not dict or not _REQUIRED_IDENTITY <= identity.keys() <= _IDENTITY_KEYS:
        raise _malformed("the identity claim is not a card number, a name and optional fields")
    if not (_INT_ONLY.issuperset(map(type, claims)) and _INT_ONLY.issuperset(map(type, identity))):
        raise _malformed("a claim's label is not an integer")  # True and 1.0 pass for 1 above
    issuer, iat, nbf, exp = _TIMES_AND_ISSUER(claims)
    if type(issuer) is not str or not (type(iat) is type(nbf) is type(exp) is int):
        raise _malformed("iss is not text or a time is not an integer")
    if nbf != iat or exp <= iat:
        raise _malformed("nbf differs from iat, or exp is not after iat")
    number, name, year, gender = identity[1], identity[4], identity.get(8), identity.get(9)
    if type(number) is not str or not is_canonical_card_number(number):
        raise _malformed("the card number is not a valid BenCard number")
    if type(name) is not str or not name:
        raise _malformed("the name is not text")
    if year is not None and not (
        type(year) is str and len(year) == 4 and year.isascii() and year.isdigit()
    ):
        raise _malformed("the year of birth is not four digits")
    if gender is not None and (type(gender) is not int or gender not in _SEX):
        raise _malformed("the gender is not 1, 2 or 3")
    sex = "undisclosed" if gender is None else _SEX[gender]
    issued, expires = datetime.fromtimestamp(iat, UTC), datetime.fromtimestamp(exp, UTC)
    birth_year = None if year is None else int(year)
    return CardClaims(number, name, sex, birth_year, issued, expires, issuer)  # positional: faster


def read_credential(
    text: str, public_keys: Mapping[str, Ed25519PublicKey], *, now: datetime
) -> CardClaims:
    """The claims of a genuine, currently valid credential; CredentialRejected otherwise.

    ``public_keys`` maps kid to key, as ``public_keys_from_jwks`` gives; ``now`` is aware.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    try:
        protected, payload, signature = _unwrap(text)
        kid = _kid(protected)
        public_key = public_keys.get(kid)
        if public_key is None:
            raise CredentialRejected(
                "unknown_key", f"signed with key {kid!r}, which is not in this verifier's JWKS"
            )
        try:
            public_key.verify(signature, _sig_structure(protected, payload))
        except InvalidSignature:
            raise CredentialRejected(
                "bad_signature", "the signature does not match: the card was altered or forged"
            ) from None
        claims = _claims(payload)
    except CredentialRejected:
        raise
    except Exception as error:  # whatever a parser raises on hostile input
        raise _malformed(f"{type(error).__name__}: {error}") from None
    if now < claims.issued_at:
        raise CredentialRejected("not_yet_valid", f"valid only from {claims.issued_at:%Y-%m-%d}")
    if now >= claims.expires_at:
        raise CredentialRejected("expired", f"expired on {claims.expires_at:%Y-%m-%d}")
    return claims


def card_number_of(text: str) -> str | None:
    """The card number a credential claims, NOT verified: only for logging what was presented.

    Only a syntactically valid card number is returned, so a forger cannot write arbitrary
    text (newlines, markup) into logs through this; None for anything else. Never raises.
    """
    try:
        identity = cbor2.loads(_unwrap(text)[1])[169]
        number = identity[1]
    except Exception:  # anything unreadable is simply "no number"
        return None
    return number if type(number) is str and is_canonical_card_number(number) else None
