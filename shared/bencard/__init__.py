"""BenCard: card numbers, the signed QR credential, the revocation list and the offline verifier.

A pure library (no I/O, no database, no web framework) so that the cards service, the
distribution points and a health centre's offline device all run exactly the same checks.
"""

from shared.bencard.credential import (
    CardClaims,
    CredentialRejected,
    RejectionReason,
    card_number_of,
    issue_credential,
    read_credential,
)
from shared.bencard.keys import (
    SigningKey,
    jwks,
    key_id,
    new_signing_key,
    private_key_bytes,
    public_keys_from_jwks,
    signing_key_from_bytes,
)
from shared.bencard.numbers import (
    ALPHABET,
    InvalidCardNumber,
    format_card_number,
    new_card_number,
    normalise_card_number,
)
from shared.bencard.offline import OfflineResult, OfflineVerifier
from shared.bencard.revocations import (
    RevocationList,
    RevocationListRejected,
    read_revocation_list,
    sign_revocation_list,
)

__all__ = [
    "ALPHABET",
    "CardClaims",
    "CredentialRejected",
    "InvalidCardNumber",
    "OfflineResult",
    "OfflineVerifier",
    "RejectionReason",
    "RevocationList",
    "RevocationListRejected",
    "SigningKey",
    "card_number_of",
    "format_card_number",
    "issue_credential",
    "jwks",
    "key_id",
    "new_card_number",
    "new_signing_key",
    "normalise_card_number",
    "private_key_bytes",
    "public_keys_from_jwks",
    "read_credential",
    "read_revocation_list",
    "sign_revocation_list",
    "signing_key_from_bytes",
]
