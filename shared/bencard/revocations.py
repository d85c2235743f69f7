"""The offline revocation list: which cards a health centre must refuse, without naming them.

The list is copied to every health centre's device and may be lost or read by anyone, so it
holds keyed pseudonyms, never card numbers: HMAC-SHA-256 of the canonical number under a salt
drawn afresh for each list, cut to 128 bits. A reader holding a card can check it; a reader
holding only the list learns how many cards are revoked, and cannot tell whether the same card
is on two lists (the salts differ). The salt must travel with the list, so the pseudonyms are
no stronger than the number space: recovering the numbers on one list means trying all 30^10
(about 2^49) of them, days of GPU time per list, and yields random numbers that name nobody
without the registry.

The list is signed like the cards (Ed25519, kid from the JWKS) over canonical JSON of its
payload, and dated: a verifier refuses a list older than its maximum age, so a device left
offline too long stops accepting cards instead of trusting revocations it no longer knows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.bencard.keys import SigningKey, b64url, b64url_decode
from shared.bencard.numbers import normalise_card_number

SALT_BYTES = 16
PSEUDONYM_BYTES = 16
CLOCK_SKEW = timedelta(minutes=5)
"""How far ahead of a device's clock a list may be dated: clocks in the field drift."""

RevocationListReason = Literal[
    "malformed", "unknown_key", "bad_signature", "too_old", "from_the_future"
]
_DOCUMENT_KEYS = frozenset({"payload", "kid", "alg", "signature"})
_PAYLOAD_KEYS = frozenset({"issued_at", "salt", "pseudonyms"})
_UTC_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", re.ASCII)


class RevocationListRejected(Exception):
    """A list that must not be relied on; ``reason`` says why."""

    def __init__(self, reason: RevocationListReason, message: str) -> None:
        super().__init__(message)
        self.reason: RevocationListReason = reason


def pseudonym(salt: bytes, card_number: str) -> bytes:
    """The list's entry for a canonical card number under ``salt``."""
    return hmac.digest(salt, card_number.encode("ascii"), "sha256")[:PSEUDONYM_BYTES]


_INNER_PAD = bytes(byte ^ 0x36 for byte in range(256))
_OUTER_PAD = bytes(byte ^ 0x5C for byte in range(256))


class Pseudonymiser:
    """``pseudonym`` under one salt, for checking card after card against one list.

    HMAC (RFC 2104) with both padded keys hashed once, as ``hmac.py`` does without OpenSSL's
    HMAC: each card then costs two copied SHA-256 states, a third of a keyed one-shot HMAC.
    """

    def __init__(self, salt: bytes) -> None:
        if len(salt) > 64:
            raise ValueError("a salt longer than a SHA-256 block would be hashed first")
        key = salt.ljust(64, b"\0")
        self._inner = hashlib.sha256(key.translate(_INNER_PAD))
        self._outer = hashlib.sha256(key.translate(_OUTER_PAD))

    def __call__(self, card_number: str) -> bytes:
        inner = self._inner.copy()
        inner.update(card_number.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()[:PSEUDONYM_BYTES]


@dataclass(frozen=True)
class RevocationList:
    """A verified list: its date, its salt and the pseudonyms of the cards it revokes."""

    issued_at: datetime
    salt: bytes
    pseudonyms: frozenset[bytes]

    def is_revoked(self, card_number: str) -> bool:
        """Whether the card is on the list; the number may be typed (InvalidCardNumber if bad)."""
        return pseudonym(self.salt, normalise_card_number(card_number)) in self.pseudonyms

    def check_age(self, *, now: datetime, max_age: timedelta) -> None:
        """RevocationListRejected unless the list is fresh enough to rely on at ``now``."""
        if now - self.issued_at > max_age:
            raise RevocationListRejected(
                "too_old",
                f"the revocation list of {self.issued_at:%Y-%m-%d %H:%M} UTC is older than "
                f"{max_age}: download a new list before checking cards",
            )
        if self.issued_at > now + CLOCK_SKEW:
            raise RevocationListRejected(
                "from_the_future",
                f"the revocation list is dated {self.issued_at:%Y-%m-%d %H:%M} UTC, after this "
                "device's clock: set the clock right",
            )


def _canonical_json(payload: Any) -> bytes:
    return json.dumps(
        payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
    ).encode("ascii")


def sign_revocation_list(
    card_numbers: Iterable[str], key: SigningKey, *, issued_at: datetime
) -> dict[str, Any]:
    """The JSON-able signed list of the given cards (InvalidCardNumber for a bad number)."""
    if issued_at.tzinfo is None:
        raise ValueError("issued_at must be timezone-aware")
    salt = secrets.token_bytes(SALT_BYTES)
    numbers = {normalise_card_number(number) for number in card_numbers}
    payload = {
        "issued_at": issued_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "salt": b64url(salt),
        "pseudonyms": sorted(b64url(pseudonym(salt, number)) for number in numbers),
    }
    signature = key.private_key.sign(_canonical_json(payload))
    return {"payload": payload, "kid": key.kid, "alg": "EdDSA", "signature": b64url(signature)}


def read_revocation_list(
    document: Mapping[str, Any],
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    now: datetime,
    max_age: timedelta,
) -> RevocationList:
    """The verified list, fresh enough at ``now``; RevocationListRejected otherwise."""
    try:
        revocations = _parse(_verified_payload(document, public_keys))
    except RevocationListRejected:
        raise
    except Exception as error:  # whatever malformed JSON makes a parser raise
        raise _malformed(f"{type(error).__name__}: {error}") from None
    revocations.check_age(now=now, max_age=max_age)
    return revocations


def _malformed(what: str) -> RevocationListRejected:
    return RevocationListRejected("malformed", f"not a BenCard revocation list: {what}")


def _verified_payload(
    document: Mapping[str, Any], public_keys: Mapping[str, Ed25519PublicKey]
) -> Any:
    if not isinstance(document, Mapping) or document.keys() != _DOCUMENT_KEYS:
        raise _malformed("it must hold exactly payload, kid, alg and signature")
    if document["alg"] != "EdDSA" or type(document["kid"]) is not str:
        raise _malformed('alg must be "EdDSA" and kid text')
    public_key = public_keys.get(document["kid"])
    if public_key is None:
        raise RevocationListRejected(
            "unknown_key", f"signed with key {document['kid']!r}, which is not in the JWKS"
        )
    try:
        public_key.verify(
            b64url_decode(document["signature"]), _canonical_json(document["payload"])
        )
    except InvalidSignature:
        raise RevocationListRejected(
            "bad_signature", "the list's signature does not match: it was altered"
        ) from None
    return document["payload"]


def _parse(payload: Any) -> RevocationList:
    if not isinstance(payload, Mapping) or payload.keys() != _PAYLOAD_KEYS:
        raise _malformed("the payload must hold exactly issued_at, salt and pseudonyms")
    issued_at, pseudonyms = payload["issued_at"], payload["pseudonyms"]
    if type(issued_at) is not str or not _UTC_SECONDS.fullmatch(issued_at):
        raise _malformed("issued_at must be UTC to the second, as 2026-01-31T09:00:00Z")
    if type(pseudonyms) is not list or pseudonyms != sorted(set(pseudonyms)):
        raise _malformed("pseudonyms must be a sorted list without repeats")
    salt = b64url_decode(payload["salt"])
    entries = frozenset(b64url_decode(entry) for entry in pseudonyms)
    if len(salt) != SALT_BYTES or any(len(entry) != PSEUDONYM_BYTES for entry in entries):
        raise _malformed(f"the salt and every pseudonym must be {PSEUDONYM_BYTES} bytes")
    return RevocationList(datetime.fromisoformat(issued_at), salt, entries)
