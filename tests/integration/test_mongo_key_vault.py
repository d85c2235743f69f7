"""The MongoDB key vault keeps the same promises as the fake, and stores no key in the clear.

The shared promises come from ``KeyVaultContract``; the tests below it look at what lands in
the ``data_keys`` collection, because that is what backups and database copies contain.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from shared.crypto import MasterKeyMismatch, MongoKeyVault, PersonalDataCipher
from tests.unit.test_crypto import MASTER_KEY, KeyVaultContract, VaultOpener

pytestmark = pytest.mark.integration

Client = AsyncMongoClient[dict[str, Any]]


class TestMongoKeyVault(KeyVaultContract):
    @pytest.fixture
    async def open_vault(self, mongo_client: Client, db_name: str) -> VaultOpener:
        await MongoKeyVault(mongo_client, db_name, MASTER_KEY).ensure_indexes()

        def open_(master_key: bytes) -> MongoKeyVault:
            return MongoKeyVault(mongo_client, db_name, master_key)

        return open_


@pytest.fixture
async def vault(mongo_client: Client, db_name: str) -> MongoKeyVault:
    vault = MongoKeyVault(mongo_client, db_name, MASTER_KEY)
    await vault.ensure_indexes()
    return vault


async def stored(mongo_client: Client, db_name: str, key_id: str) -> dict[str, Any] | None:
    return await mongo_client[db_name]["data_keys"].find_one({"_id": key_id})


async def test_a_stored_key_is_wrapped_never_in_the_clear(
    vault: MongoKeyVault, mongo_client: Client, db_name: str
) -> None:
    # given a person's key
    await vault.create_key("person-1")
    key = await vault.get_key("person-1")
    assert key is not None
    # then the database holds only nonce + wrapped key + tag, and the key is not among it
    document = await stored(mongo_client, db_name, "person-1")
    assert document is not None
    assert set(document) == {"_id", "wrapped", "created_at"}
    assert isinstance(document["created_at"], datetime)
    wrapped = bytes(document["wrapped"])
    assert len(wrapped) == 12 + 32 + 16
    assert key not in wrapped


async def test_an_erased_key_leaves_a_tombstone_with_no_key_material(
    vault: MongoKeyVault, mongo_client: Client, db_name: str
) -> None:
    await vault.create_key("person-1")
    await vault.destroy_key("person-1")
    document = await stored(mongo_client, db_name, "person-1")
    assert document is not None
    assert set(document) == {"_id", "destroyed_at"}
    assert isinstance(document["destroyed_at"], datetime)


async def test_a_wrapped_key_copied_to_another_id_does_not_unwrap(
    vault: MongoKeyVault, mongo_client: Client, db_name: str
) -> None:
    # given someone with database access copying one person's wrapped key onto another id
    await vault.create_key("person-1")
    document = await stored(mongo_client, db_name, "person-1")
    assert document is not None
    await mongo_client[db_name]["data_keys"].insert_one({**document, "_id": "person-2"})
    # then the copy is refused, so person-1's data cannot be opened as person-2's
    with pytest.raises(MasterKeyMismatch):
        await vault.get_key("person-2")


async def test_ensure_indexes_can_run_at_every_start(vault: MongoKeyVault) -> None:
    await vault.ensure_indexes()
    await vault.create_key("person-1")
    assert await vault.get_key("person-1") is not None


async def test_erasure_shreds_sealed_data_for_every_reader(
    mongo_client: Client, db_name: str
) -> None:
    # given a name sealed by one service and readable by another sharing the vault
    registry = PersonalDataCipher(MongoKeyVault(mongo_client, db_name, MASTER_KEY))
    helpline = PersonalDataCipher(MongoKeyVault(mongo_client, db_name, MASTER_KEY))
    sealed = await registry.seal("person-1", "মোহাম্মদ রহিম")
    assert await helpline.open(sealed) == "মোহাম্মদ রহিম"
    # when the person is erased
    assert await MongoKeyVault(mongo_client, db_name, MASTER_KEY).destroy_key("person-1")
    # then neither service can read it any more
    assert await registry.open(sealed) is None
    assert await helpline.open(sealed) is None


def test_the_vault_refuses_a_master_key_of_the_wrong_size(mongo_client: Client) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        MongoKeyVault(mongo_client, "unused", b"too short")
