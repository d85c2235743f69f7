"""Per-person encryption of personal data, so that erasing a person is destroying one key."""

from shared.crypto.cipher import PersonalDataCipher, SealTampered, UnknownKey
from shared.crypto.vault import (
    InMemoryKeyVault,
    KeyDestroyed,
    KeyVault,
    MasterKeyMismatch,
    MongoKeyVault,
)

__all__ = [
    "InMemoryKeyVault",
    "KeyDestroyed",
    "KeyVault",
    "MasterKeyMismatch",
    "MongoKeyVault",
    "PersonalDataCipher",
    "SealTampered",
    "UnknownKey",
]
