"""The key vault: one AES-256 data key per person, wrapped by the deployment's master key.

Crypto-shredding rests on this module. Every piece of a person's personal data is sealed with
their own data key, so destroying that one key makes the data unreadable in every copy that
exists (event stores, topics, dead letters, backups) while the events themselves, and so the
counts built from them, survive. Destroying leaves a tombstone so the key is never recreated:
a new key would let a later registration under the same id look like the erased person.

Data keys are stored wrapped (AES-GCM under the master key, bound to their key id), so a copy
of the vault database alone reveals nothing, and a wrapped key moved to another id will not
unwrap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

KEY_BYTES = 32
NONCE_BYTES = 12
COLLECTION = "data_keys"


class KeyDestroyed(Exception):
    """The subject was erased: their key is gone for good and must never be recreated."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"the data key {key_id!r} was destroyed when its subject was erased; "
            "no new personal data can be recorded for them"
        )
        self.key_id = key_id


class MasterKeyMismatch(Exception):
    """A wrapped key does not open with this master key: the wrong key, or a damaged vault."""

    def __init__(self, key_id: str) -> None:
        super().__init__(
            f"the data key {key_id!r} cannot be unwrapped with this master key: check that "
            "BENSYS_MASTER_KEY is the one this vault was created with, and that the vault "
            "database was not altered"
        )
        self.key_id = key_id


class KeyVault(Protocol):
    """Where data keys live. Implementations must not cache keys: erasure acts at once."""

    async def create_key(self, key_id: str) -> None:
        """Make sure ``key_id`` has a key; an existing one is kept. Raises KeyDestroyed."""
        ...

    async def get_key(self, key_id: str) -> bytes | None:
        """The 32-byte data key, or None when it never existed or was destroyed."""
        ...

    async def destroy_key(self, key_id: str) -> bool:
        """Erase the key, leaving a tombstone; True only if a live key was destroyed."""
        ...

    async def is_destroyed(self, key_id: str) -> bool: ...


def check_master_key(master_key: bytes) -> bytes:
    if len(master_key) != KEY_BYTES:
        raise ValueError(f"the master key must be {KEY_BYTES} bytes, not {len(master_key)}")
    return master_key


def wrap(master_key: bytes, key_id: str, data_key: bytes) -> bytes:
    """nonce + AES-GCM(data key), with the key id as associated data so ids cannot be swapped."""
    nonce = os.urandom(NONCE_BYTES)
    return nonce + AESGCM(master_key).encrypt(nonce, data_key, key_id.encode("utf-8"))


def unwrap(master_key: bytes, key_id: str, wrapped: bytes) -> bytes:
    nonce, sealed = wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:]
    try:
        return AESGCM(master_key).decrypt(nonce, sealed, key_id.encode("utf-8"))
    except InvalidTag as exc:
        raise MasterKeyMismatch(key_id) from exc


@dataclass(frozen=True)
class _Record:
    """One vault entry: a wrapped key while live, only the time of erasure once destroyed."""

    wrapped: bytes | None
    at: datetime


class InMemoryKeyVault:
    """A fake for unit tests that still wraps keys, so it fails the way the real vault does."""

    def __init__(self, master_key: bytes) -> None:
        self._master_key = check_master_key(master_key)
        self._records: dict[str, _Record] = {}

    def reopen(self, master_key: bytes) -> InMemoryKeyVault:
        """The same stored keys as a process restarted with ``master_key`` would see them."""
        other = InMemoryKeyVault(master_key)
        other._records = self._records
        return other

    async def create_key(self, key_id: str) -> None:
        record = self._records.get(key_id)
        if record is None:
            data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            wrapped = wrap(self._master_key, key_id, data_key)
            self._records[key_id] = _Record(wrapped=wrapped, at=datetime.now(UTC))
        elif record.wrapped is None:
            raise KeyDestroyed(key_id)

    async def get_key(self, key_id: str) -> bytes | None:
        record = self._records.get(key_id)
        if record is None or record.wrapped is None:
            return None
        return unwrap(self._master_key, key_id, record.wrapped)

    async def destroy_key(self, key_id: str) -> bool:
        record = self._records.get(key_id)
        if record is not None and record.wrapped is None:
            return False
        self._records[key_id] = _Record(wrapped=None, at=datetime.now(UTC))
        return record is not None

    async def is_destroyed(self, key_id: str) -> bool:
        record = self._records.get(key_id)
        return record is not None and record.wrapped is None


class MongoKeyVault:
    """The vault in MongoDB: ``data_keys`` holds ``{_id, wrapped, created_at}`` per person.

    A destroyed key's document becomes ``{_id, destroyed_at}`` in one atomic replace, so no
    reader can ever see a half-erased key. The unique ``_id`` is what settles races: two
    concurrent creates both insert, one loses with a duplicate key and reads the winner's.
    """

    def __init__(
        self, client: AsyncMongoClient[dict[str, Any]], database: str, master_key: bytes
    ) -> None:
        self._master_key = check_master_key(master_key)
        self._keys = client[database][COLLECTION]

    async def ensure_indexes(self) -> None:
        """``_id`` carries uniqueness; this index lets auditors list erasures by date."""
        await self._keys.create_index("destroyed_at", sparse=True, name="destroyed_at")

    async def create_key(self, key_id: str) -> None:
        existing = await self._keys.find_one({"_id": key_id})
        if existing is None:
            data_key = AESGCM.generate_key(bit_length=KEY_BYTES * 8)
            document = {
                "_id": key_id,
                "wrapped": wrap(self._master_key, key_id, data_key),
                "created_at": datetime.now(UTC),
            }
            try:
                await self._keys.insert_one(document)
                return
            except DuplicateKeyError:  # a concurrent create (or erasure) won: obey it
                existing = await self._keys.find_one({"_id": key_id})
        if existing is not None and "wrapped" not in existing:
            raise KeyDestroyed(key_id)

    async def get_key(self, key_id: str) -> bytes | None:
        document = await self._keys.find_one({"_id": key_id})
        if document is None or "wrapped" not in document:
            return None
        return unwrap(self._master_key, key_id, bytes(document["wrapped"]))

    async def destroy_key(self, key_id: str) -> bool:
        """Replace a live key by its tombstone, or plant one if there was never a key.

        The tombstone for a never-created key matters: the subject may be erased before any
        personal data of theirs was sealed, and must stay erased afterwards.
        """
        try:
            result = await self._keys.replace_one(
                {"_id": key_id, "wrapped": {"$exists": True}},
                {"destroyed_at": datetime.now(UTC)},
                upsert=True,
            )
        except DuplicateKeyError:
            return False  # already a tombstone: the filter missed and the upsert collided
        return result.modified_count == 1

    async def is_destroyed(self, key_id: str) -> bool:
        document = await self._keys.find_one({"_id": key_id}, projection={"wrapped": False})
        return document is not None and "destroyed_at" in document
