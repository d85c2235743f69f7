"""Sealing and opening one person's personal data with that person's own key.

The key id doubles as associated data, so a sealed value copied under another person's id
fails to open instead of being read as theirs. Keys are fetched from the vault on every call,
never cached: once a person is erased, nothing of theirs may open again, in any process.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from shared.contracts.base import Sealed
from shared.crypto.vault import NONCE_BYTES, KeyDestroyed, KeyVault


class SealTampered(Exception):
    """A sealed value fails its integrity check: it was altered or moved to another person."""

    def __init__(self, kid: str) -> None:
        super().__init__(
            f"a value sealed under {kid!r} fails its integrity check: it was altered, or copied "
            "from another person's record; treat the record as suspect"
        )
        self.kid = kid


class UnknownKey(Exception):
    """A sealed value names a key the vault never had (not an erased one).

    Reporting this rather than answering None keeps a wrong vault database or a forged key
    id from passing for an erasure.
    """

    def __init__(self, kid: str) -> None:
        super().__init__(
            f"no data key {kid!r} exists in the key vault, nor was it ever erased: check that "
            "this service uses the same vault database as the service that sealed the value"
        )
        self.kid = kid


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class PersonalDataCipher:
    """AES-256-GCM over one person's fields, keyed by their vault key."""

    def __init__(self, vault: KeyVault) -> None:
        self._vault = vault

    async def seal(self, key_id: str, value: str) -> Sealed:
        """Raises KeyDestroyed for an erased person: their data must not be collected again."""
        key = await self._key_for_sealing(key_id)
        return self._seal_with(key, key_id, value)

    async def seal_many(
        self, key_id: str, values: Mapping[str, str | None]
    ) -> dict[str, Sealed | None]:
        """Seal a whole record with one key fetch; absent fields stay absent (None)."""
        if all(value is None for value in values.values()):
            return dict.fromkeys(values)
        key = await self._key_for_sealing(key_id)
        return {
            name: None if value is None else self._seal_with(key, key_id, value)
            for name, value in values.items()
        }

    async def open(self, sealed: Sealed) -> str | None:
        """The plain value, or None when its subject was erased.

        Raises SealTampered when the value was altered or moved, UnknownKey when the vault
        never knew its key.
        """
        return self._open_with(await self._key_for_opening(sealed.kid), sealed)

    async def open_many(self, sealed: Mapping[str, Sealed | None]) -> dict[str, str | None]:
        """Open a record's fields with one vault read per key (usually one); absent stay None."""
        kids = {value.kid for value in sealed.values() if value is not None}
        keys = {kid: await self._key_for_opening(kid) for kid in sorted(kids)}
        return {
            name: None if value is None else self._open_with(keys[value.kid], value)
            for name, value in sealed.items()
        }

    async def _key_for_opening(self, kid: str) -> bytes | None:
        """The key, or None when it was destroyed (erasure); UnknownKey if it never existed."""
        key = await self._vault.get_key(kid)
        if key is None and not await self._vault.is_destroyed(kid):
            raise UnknownKey(kid)
        return key

    @staticmethod
    def _open_with(key: bytes | None, sealed: Sealed) -> str | None:
        if key is None:
            return None
        try:
            nonce, ciphertext = _decode(sealed.iv), _decode(sealed.ct)
        except (binascii.Error, ValueError) as exc:
            raise SealTampered(sealed.kid) from exc
        if len(nonce) != NONCE_BYTES:
            raise SealTampered(sealed.kid)
        try:
            plain = AESGCM(key).decrypt(nonce, ciphertext, sealed.kid.encode("utf-8"))
        except InvalidTag as exc:
            raise SealTampered(sealed.kid) from exc
        return plain.decode("utf-8")

    async def _key_for_sealing(self, key_id: str) -> bytes:
        """One vault call for a known person; creating a newcomer's key costs two more."""
        key = await self._vault.get_key(key_id)
        if key is None:
            await self._vault.create_key(key_id)
            key = await self._vault.get_key(key_id)
        if key is None:  # erased between our create and our read
            raise KeyDestroyed(key_id)
        return key

    @staticmethod
    def _seal_with(key: bytes, key_id: str, value: str) -> Sealed:
        nonce = os.urandom(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, value.encode("utf-8"), key_id.encode("utf-8"))
        return Sealed(kid=key_id, iv=_encode(nonce), ct=_encode(ciphertext))
