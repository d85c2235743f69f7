"""Per-person keys and crypto-shredding: what a person's erasure must guarantee.

``KeyVaultContract`` is written once and run against every vault: here the in-memory fake,
in ``tests/integration/test_mongo_key_vault.py`` the MongoDB one. A subclass only says how to
open vaults over one shared store.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable

import pytest

from shared.contracts.base import Sealed
from shared.crypto import (
    InMemoryKeyVault,
    KeyDestroyed,
    KeyVault,
    MasterKeyMismatch,
    PersonalDataCipher,
    SealTampered,
    UnknownKey,
)

MASTER_KEY = bytes(range(32))
ANOTHER_MASTER_KEY = bytes(range(32, 64))

VaultOpener = Callable[[bytes], KeyVault]
"""Opens a vault over the shared store with the given master key, as a new process would."""


class KeyVaultContract:
    """What every KeyVault promises. Subclasses override the ``open_vault`` fixture."""

    @pytest.fixture
    def open_vault(self) -> VaultOpener:
        raise NotImplementedError("a KeyVaultContract subclass must provide open_vault")

    @pytest.fixture
    def vault(self, open_vault: VaultOpener) -> KeyVault:
        return open_vault(MASTER_KEY)

    async def test_a_new_person_gets_a_32_byte_key(self, vault: KeyVault) -> None:
        # given a person with no key yet
        assert await vault.get_key("person-1") is None
        # when their key is created
        await vault.create_key("person-1")
        # then it is an AES-256 key
        key = await vault.get_key("person-1")
        assert key is not None
        assert len(key) == 32

    async def test_creating_a_key_again_keeps_the_first_one(self, vault: KeyVault) -> None:
        # given a person whose data is already sealed with their key
        await vault.create_key("person-1")
        first = await vault.get_key("person-1")
        # when their key is "created" again (every seal does this)
        await vault.create_key("person-1")
        # then the key is unchanged, so their earlier data still opens
        assert await vault.get_key("person-1") == first

    async def test_each_person_has_a_key_of_their_own(self, vault: KeyVault) -> None:
        await vault.create_key("person-1")
        await vault.create_key("person-2")
        assert await vault.get_key("person-1") != await vault.get_key("person-2")

    async def test_a_key_is_kept_for_the_next_process(self, open_vault: VaultOpener) -> None:
        # given a key created by one process
        first = open_vault(MASTER_KEY)
        await first.create_key("person-1")
        key = await first.get_key("person-1")
        # when a later process with the same master key reads it
        later = open_vault(MASTER_KEY)
        # then it gets the same key, so data sealed before the restart still opens
        assert key is not None
        assert await later.get_key("person-1") == key

    async def test_an_unknown_person_is_neither_keyed_nor_erased(self, vault: KeyVault) -> None:
        assert await vault.get_key("stranger") is None
        assert await vault.is_destroyed("stranger") is False

    async def test_destroying_a_key_makes_it_unreadable(self, vault: KeyVault) -> None:
        # given a person with a key
        await vault.create_key("person-1")
        # when they are erased
        destroyed = await vault.destroy_key("person-1")
        # then the key is gone and the erasure is on record
        assert destroyed is True
        assert await vault.get_key("person-1") is None
        assert await vault.is_destroyed("person-1") is True

    async def test_an_erased_persons_key_is_never_recreated(self, vault: KeyVault) -> None:
        # given an erased person
        await vault.create_key("person-1")
        await vault.destroy_key("person-1")
        # when something tries to key them again
        # then it is refused: their id must never carry personal data again
        with pytest.raises(KeyDestroyed):
            await vault.create_key("person-1")
        assert await vault.get_key("person-1") is None

    async def test_erasing_twice_reports_nothing_left_to_destroy(self, vault: KeyVault) -> None:
        await vault.create_key("person-1")
        assert await vault.destroy_key("person-1") is True
        assert await vault.destroy_key("person-1") is False
        assert await vault.is_destroyed("person-1") is True

    async def test_erasing_someone_never_keyed_still_bars_a_key(self, vault: KeyVault) -> None:
        # given a person erased before any personal data of theirs was sealed
        destroyed = await vault.destroy_key("person-1")
        # then no live key was destroyed, but the erasure is on record and binding
        assert destroyed is False
        assert await vault.is_destroyed("person-1") is True
        with pytest.raises(KeyDestroyed):
            await vault.create_key("person-1")

    async def test_concurrent_creates_end_with_one_key(self, open_vault: VaultOpener) -> None:
        # given two processes registering the same person at the same moment
        vaults = [open_vault(MASTER_KEY), open_vault(MASTER_KEY)]
        # when both create the key several times at once
        await asyncio.gather(*(vaults[n % 2].create_key("person-1") for n in range(8)))
        # then everyone sees one and the same key
        keys = {await vault.get_key("person-1") for vault in vaults}
        assert len(keys) == 1
        assert None not in keys

    async def test_an_erasure_racing_a_create_always_wins(self, open_vault: VaultOpener) -> None:
        # given a create and an erasure of the same person at the same moment
        creator, eraser = open_vault(MASTER_KEY), open_vault(MASTER_KEY)
        outcomes = await asyncio.gather(
            creator.create_key("person-1"), eraser.destroy_key("person-1"), return_exceptions=True
        )
        # then whichever came first, the person ends erased with no key
        create_outcome = outcomes[0]
        assert create_outcome is None or isinstance(create_outcome, KeyDestroyed)
        assert await creator.get_key("person-1") is None
        assert await creator.is_destroyed("person-1") is True

    async def test_a_wrong_master_key_is_refused_not_misread(self, open_vault: VaultOpener) -> None:
        # given a key wrapped under one master key
        await open_vault(MASTER_KEY).create_key("person-1")
        # when a process started with another master key reads it
        # then it is told plainly, instead of getting 32 bytes of garbage
        with pytest.raises(MasterKeyMismatch, match="BENSYS_MASTER_KEY"):
            await open_vault(ANOTHER_MASTER_KEY).get_key("person-1")


class TestInMemoryKeyVault(KeyVaultContract):
    @pytest.fixture
    def open_vault(self) -> VaultOpener:
        store = InMemoryKeyVault(MASTER_KEY)
        return store.reopen


@pytest.mark.parametrize("length", [0, 16, 31, 33, 64])
def test_a_master_key_must_be_32_bytes(length: int) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        InMemoryKeyVault(b"k" * length)


# --- sealing personal data ---------------------------------------------------------------


class CountingVault:
    """Counts vault calls, to hold the cipher to one round trip per record."""

    def __init__(self, inner: KeyVault) -> None:
        self.inner = inner
        self.calls: list[str] = []

    async def create_key(self, key_id: str) -> None:
        self.calls.append("create_key")
        await self.inner.create_key(key_id)

    async def get_key(self, key_id: str) -> bytes | None:
        self.calls.append("get_key")
        return await self.inner.get_key(key_id)

    async def destroy_key(self, key_id: str) -> bool:
        self.calls.append("destroy_key")
        return await self.inner.destroy_key(key_id)

    async def is_destroyed(self, key_id: str) -> bool:
        self.calls.append("is_destroyed")
        return await self.inner.is_destroyed(key_id)


@pytest.fixture
def vault() -> InMemoryKeyVault:
    return InMemoryKeyVault(MASTER_KEY)


@pytest.fixture
def cipher(vault: InMemoryKeyVault) -> PersonalDataCipher:
    return PersonalDataCipher(vault)


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def with_bit_flipped(text: str, byte_index: int) -> str:
    raw = bytearray(b64url_decode(text))
    raw[byte_index] ^= 0x01
    return b64url_encode(bytes(raw))


@pytest.mark.parametrize(
    "value",
    [
        "মোহাম্মদ রহিম",  # Bengali
        "முகமது ரஹீம்",  # Tamil
        "މުޙައްމަދު ރަޙީމް",  # Dhivehi (Thaana)
        "Nguyễn Thị Ánh",
        "+960 777-1234",
        "",
    ],
)
async def test_a_sealed_value_opens_to_exactly_what_was_sealed(
    cipher: PersonalDataCipher, value: str
) -> None:
    sealed = await cipher.seal("person-1", value)
    assert await cipher.open(sealed) == value


async def test_a_sealed_value_is_aes_gcm_in_unpadded_base64url(cipher: PersonalDataCipher) -> None:
    sealed = await cipher.seal("person-1", "মোহাম্মদ রহিম")
    assert sealed.alg == "A256GCM"
    assert sealed.kid == "person-1"
    assert "=" not in sealed.iv + sealed.ct
    assert len(b64url_decode(sealed.iv)) == 12
    assert len(b64url_decode(sealed.ct)) == len("মোহাম্মদ রহিম".encode()) + 16


async def test_the_plaintext_never_appears_in_the_sealed_json(cipher: PersonalDataCipher) -> None:
    canary = "CANARY-Fathimath-Shifa-A1234567"
    sealed = await cipher.seal("person-1", canary)
    wire = sealed.model_dump_json()
    assert canary.casefold() not in wire.casefold()
    assert "Fathimath" not in wire
    assert set(sealed.model_dump()) == {"alg", "kid", "iv", "ct"}


async def test_the_same_value_sealed_twice_looks_different(cipher: PersonalDataCipher) -> None:
    # so that equal names or phone numbers cannot be matched across records
    first = await cipher.seal("person-1", "+960 777-1234")
    second = await cipher.seal("person-1", "+960 777-1234")
    assert first.iv != second.iv
    assert first.ct != second.ct
    assert await cipher.open(first) == await cipher.open(second) == "+960 777-1234"


async def test_people_are_sealed_with_different_keys(
    cipher: PersonalDataCipher, vault: InMemoryKeyVault
) -> None:
    await cipher.seal("person-1", "Aminath")
    await cipher.seal("person-2", "Aminath")
    assert await vault.get_key("person-1") != await vault.get_key("person-2")


async def test_a_value_moved_to_another_person_does_not_open(cipher: PersonalDataCipher) -> None:
    # given two people, and one person's sealed name copied into the other's record
    theirs = await cipher.seal("person-1", "Aminath Shareef")
    await cipher.seal("person-2", "Ibrahim Naseer")
    moved = theirs.model_copy(update={"kid": "person-2"})
    # when it is opened, then it is reported as tampered rather than read as person-2's
    with pytest.raises(SealTampered):
        await cipher.open(moved)


@pytest.mark.parametrize("byte_index", [0, 5, -1])
async def test_a_flipped_ciphertext_bit_is_detected(
    cipher: PersonalDataCipher, byte_index: int
) -> None:
    sealed = await cipher.seal("person-1", "Aminath Shareef")
    altered = sealed.model_copy(update={"ct": with_bit_flipped(sealed.ct, byte_index)})
    with pytest.raises(SealTampered, match="person-1"):
        await cipher.open(altered)


@pytest.mark.parametrize("iv", ["flipped", "short", "not base64!"])
async def test_a_damaged_nonce_is_detected(cipher: PersonalDataCipher, iv: str) -> None:
    sealed = await cipher.seal("person-1", "Aminath Shareef")
    damaged = {
        "flipped": with_bit_flipped(sealed.iv, 0),
        "short": sealed.iv[:8],
        "not base64!": "@@@@",
    }[iv]
    with pytest.raises(SealTampered):
        await cipher.open(sealed.model_copy(update={"iv": damaged}))


async def test_an_erased_persons_data_stops_opening_at_once(
    cipher: PersonalDataCipher, vault: InMemoryKeyVault
) -> None:
    # given a person's name, opened once already by this cipher
    sealed = await cipher.seal("person-1", "মোহাম্মদ রহিম")
    assert await cipher.open(sealed) == "মোহাম্মদ রহিম"
    # when the person is erased
    await vault.destroy_key("person-1")
    # then the same cipher can no longer read it: no key was kept in memory
    assert await cipher.open(sealed) is None


async def test_nothing_new_can_be_sealed_for_an_erased_person(
    cipher: PersonalDataCipher, vault: InMemoryKeyVault
) -> None:
    await cipher.seal("person-1", "Aminath")
    await vault.destroy_key("person-1")
    with pytest.raises(KeyDestroyed, match="person-1"):
        await cipher.seal("person-1", "Aminath")
    with pytest.raises(KeyDestroyed):
        await cipher.seal_many("person-1", {"full_name": "Aminath", "phone": None})


async def test_a_value_under_a_key_the_vault_never_had_is_not_taken_for_erased(
    cipher: PersonalDataCipher,
) -> None:
    # given a value that names a key this vault never created (wrong vault, forged kid)
    sealed = await cipher.seal("person-1", "Aminath")
    stray = sealed.model_copy(update={"kid": "person-from-elsewhere"})
    # then opening it is an error, not a silent "erased"
    with pytest.raises(UnknownKey, match="vault database"):
        await cipher.open(stray)


async def test_a_record_is_sealed_with_one_vault_round_trip(vault: InMemoryKeyVault) -> None:
    # given a person who already has a key
    await vault.create_key("person-1")
    counting = CountingVault(vault)
    cipher = PersonalDataCipher(counting)
    # when their whole record is sealed
    record = {
        "full_name": "মোহাম্মদ রহিম",
        "phone": "+960 777-1234",
        "date_of_birth": "1994-03-07",
        "address": "M. Dhoores, Malé",
        "notes": None,
    }
    sealed = await cipher.seal_many("person-1", record)
    # then the vault was asked once, and absent fields stay absent
    assert counting.calls == ["get_key"]
    assert sealed["notes"] is None
    opened = {
        name: None if value is None else await cipher.open(value) for name, value in sealed.items()
    }
    assert opened == record


async def test_a_record_is_opened_with_one_vault_round_trip_per_key(
    vault: InMemoryKeyVault,
) -> None:
    # given a person's name and year, and a caller's phone under a key of the call's own
    cipher = PersonalDataCipher(vault)
    theirs = await cipher.seal_many("person-1", {"name": "Aminath", "year": "1990"})
    call = await cipher.seal("call:c-1", "+9607771234")
    counting = CountingVault(vault)
    # when they are opened together
    opened = await PersonalDataCipher(counting).open_many(theirs | {"phone": call, "notes": None})
    # then each key was fetched once, and each field opened to its value
    assert opened == {"name": "Aminath", "year": "1990", "phone": "+9607771234", "notes": None}
    assert counting.calls == ["get_key", "get_key"]
    # and once the person is erased, their fields open to None while the call's still opens
    await vault.destroy_key("person-1")
    after = await cipher.open_many(theirs | {"phone": call})
    assert after == {"name": None, "year": None, "phone": "+9607771234"}
    stray = call.model_copy(update={"kid": "person-from-elsewhere"})
    with pytest.raises(UnknownKey):
        await cipher.open_many({"phone": stray})


async def test_sealing_a_new_person_creates_their_key(
    cipher: PersonalDataCipher, vault: InMemoryKeyVault
) -> None:
    sealed = await cipher.seal_many("person-9", {"full_name": "Hawwa Mohamed"})
    assert await vault.get_key("person-9") is not None
    item = sealed["full_name"]
    assert isinstance(item, Sealed)
    assert await cipher.open(item) == "Hawwa Mohamed"


async def test_a_record_with_no_personal_data_creates_no_key(
    cipher: PersonalDataCipher, vault: InMemoryKeyVault
) -> None:
    sealed = await cipher.seal_many("person-1", {"phone": None, "notes": None})
    assert sealed == {"phone": None, "notes": None}
    assert await vault.get_key("person-1") is None
