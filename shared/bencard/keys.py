"""Ed25519 signing keys for BenCards, named by their JWK thumbprint and published as a JWKS.

A key's id is derived from the key itself (RFC 7638 thumbprint), never chosen: a verifier
that finds a kid in a JWKS can check that it names that very key, so a JWKS edited to put a
new key under a trusted kid is refused instead of believed. Verifiers get public keys only as
a JWKS, the one format every health centre's device and any third-party tool can read;
retired keys stay in it so cards signed before a rotation keep verifying.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

KEY_ID_LENGTH = 16
"""Characters of the thumbprint kept: 96 bits, unique among any number of keys we will own."""


def b64url(raw: bytes) -> str:
    """Base64url without padding, as JOSE writes bytes."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """The bytes of canonical unpadded base64url; ValueError for anything else.

    Python's decoder skips characters it does not know; re-encoding and comparing refuses
    them, and padding or loose bits, so one value has exactly one accepted spelling.
    """
    if not isinstance(text, str) or "=" in text:
        raise ValueError("not unpadded base64url text")
    raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    if b64url(raw) != text:
        raise ValueError("not canonical unpadded base64url")
    return raw


def _raw_public(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(public_key: Ed25519PublicKey) -> str:
    """The RFC 7638 thumbprint of the key's JWK (base64url SHA-256), first 16 characters."""
    members = {"crv": "Ed25519", "kty": "OKP", "x": b64url(_raw_public(public_key))}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode("ascii")).digest())[:KEY_ID_LENGTH]


def _public_jwk(public_key: Ed25519PublicKey) -> dict[str, str]:
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": b64url(_raw_public(public_key)),
        "kid": key_id(public_key),
        "alg": "EdDSA",
        "use": "sig",
    }


@dataclass(frozen=True)
class SigningKey:
    """A private key and its thumbprint kid, which goes into every credential it signs."""

    kid: str
    private_key: Ed25519PrivateKey

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.private_key.public_key()

    def public_jwk(self) -> dict[str, str]:
        """The public half as an OKP/Ed25519 JWK, for the JWKS verifiers download."""
        return _public_jwk(self.public_key)


def new_signing_key() -> SigningKey:
    private_key = Ed25519PrivateKey.generate()
    return SigningKey(key_id(private_key.public_key()), private_key)


def private_key_bytes(key: SigningKey) -> bytes:
    """The raw 32-byte seed, for the service to store wrapped under its master key."""
    return key.private_key.private_bytes_raw()


def signing_key_from_bytes(raw: bytes) -> SigningKey:
    """A stored key back; the kid is recomputed, so it cannot drift from the key."""
    if len(raw) != 32:
        raise ValueError(f"an Ed25519 private key is 32 bytes, not {len(raw)}")
    private_key = Ed25519PrivateKey.from_private_bytes(raw)
    return SigningKey(key_id(private_key.public_key()), private_key)


def jwks(keys: Iterable[Ed25519PublicKey]) -> dict[str, list[dict[str, str]]]:
    """A JWK Set of the given public keys: the current one and every retired one still valid."""
    return {"keys": [_public_jwk(key) for key in keys]}


def public_keys_from_jwks(document: Mapping[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 keys of a JWK Set by kid; entries of other key types are ignored.

    Raises ValueError, naming the entry, for a document that is not a JWK Set, an Ed25519
    entry that is malformed, or a kid that is not its key's thumbprint.
    """
    entries = document.get("keys") if isinstance(document, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError('a JWK Set is a JSON object with a "keys" array')
    keys: dict[str, Ed25519PublicKey] = {}
    for number, entry in enumerate(entries):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("kty"), str):
            raise ValueError(f"JWKS entry {number} is not a JWK: it has no kty")
        if entry["kty"] != "OKP" or entry.get("crv") != "Ed25519":
            continue
        public_key = _ed25519_entry(number, entry)
        if public_key.kid in keys:
            raise ValueError(f"JWKS entry {number} repeats kid {public_key.kid!r}")
        keys[public_key.kid] = public_key.key
    return keys


@dataclass(frozen=True)
class _Entry:
    kid: str
    key: Ed25519PublicKey


def _ed25519_entry(number: int, entry: Mapping[str, Any]) -> _Entry:
    if entry.get("alg", "EdDSA") != "EdDSA" or entry.get("use", "sig") != "sig":
        raise ValueError(f'JWKS entry {number} is an Ed25519 key not meant for "EdDSA" signing')
    try:
        x = entry.get("x")
        raw = b64url_decode(x) if isinstance(x, str) else b""
        if len(raw) != 32:
            raise ValueError("an Ed25519 public key is 32 bytes")
        key = Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as error:
        raise ValueError(f"JWKS entry {number} has no usable Ed25519 x: {error}") from None
    kid = entry.get("kid")
    if kid != key_id(key):
        raise ValueError(
            f"JWKS entry {number} has kid {kid!r}, which is not its key's thumbprint "
            f"{key_id(key)!r}: the document was edited or built by hand"
        )
    return _Entry(kid, key)
