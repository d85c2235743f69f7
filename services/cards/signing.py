"""The issuer's Ed25519 signing keys: kept wrapped by the master key, rotated, never forgotten.

A card's credential names the key that signed it, and cards live for years, so a rotated key
stops signing but keeps verifying: its public half stays in the JWKS. Private keys are stored
wrapped (AES-GCM under the deployment's master key, bound to their key id) so a copy of the
database alone cannot sign a card.
"""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo import DESCENDING, AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from shared.bencard.keys import (
    SigningKey,
    new_signing_key,
    private_key_bytes,
    signing_key_from_bytes,
)
from shared.eventstore.model import utc_now

KEYS = "signing_keys"
NONCE_BYTES = 12
Document = dict[str, Any]


class SigningKeys:
    """The key ring. Keys are cached: they only ever change by rotation, which reloads."""

    def __init__(
        self, client: AsyncMongoClient[Document], database: str, master_key: bytes
    ) -> None:
        self._keys = client[database][KEYS]
        self._wrap = AESGCM(master_key)
        self._by_kid: dict[str, SigningKey] = {}
        self._active: SigningKey | None = None

    async def start(self) -> None:
        """Load the ring, creating the first key if there is none (any replica may win)."""
        await self._keys.create_index([("created_at", DESCENDING)])
        await self._keys.create_index("first", unique=True, sparse=True)
        if await self._keys.count_documents({}, limit=1) == 0:
            await self._store(new_signing_key(), utc_now(), first=True)
        await self.reload()

    async def reload(self) -> None:
        ring: dict[str, SigningKey] = {}
        newest: tuple[datetime, SigningKey] | None = None
        async for doc in self._keys.find():
            key = self._unwrap(doc)
            ring[key.kid] = key
            if newest is None or doc["created_at"] > newest[0]:
                newest = (doc["created_at"], key)
        self._by_kid = ring
        self._active = None if newest is None else newest[1]

    async def rotate(self) -> SigningKey:
        """A new key signs from now on; every older key keeps verifying what it signed."""
        key = new_signing_key()
        await self._store(key, utc_now(), first=False)
        await self.reload()
        return key

    @property
    def active(self) -> SigningKey:
        if self._active is None:
            raise RuntimeError("the signing keys were not loaded: call start() first")
        return self._active

    def key(self, kid: str) -> SigningKey | None:
        return self._by_kid.get(kid)

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {kid: key.public_key for kid, key in self._by_kid.items()}

    async def _store(self, key: SigningKey, created_at: datetime, *, first: bool) -> None:
        nonce = os.urandom(NONCE_BYTES)
        wrapped = self._wrap.encrypt(nonce, private_key_bytes(key), key.kid.encode())
        doc = {"_id": key.kid, "wrapped": nonce + wrapped, "created_at": created_at}
        if first:
            # Unique: two replicas starting on an empty ring create one key between them.
            doc["first"] = True
        try:
            await self._keys.insert_one(doc)
        except DuplicateKeyError:
            if not first:
                raise

    def _unwrap(self, doc: Document) -> SigningKey:
        blob: bytes = doc["wrapped"]
        raw = self._wrap.decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], doc["_id"].encode())
        key = signing_key_from_bytes(raw)
        if key.kid != doc["_id"]:
            raise ValueError(f"signing key {doc['_id']} does not match its stored id")
        return key
