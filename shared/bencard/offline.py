"""The verifier a health centre runs with no network: the JWKS and the last revocation list.

Both documents are read and checked once, at construction, so each ``verify`` is a signature
check plus a few microseconds of parsing. Nothing about any credential is remembered between
calls; what is prepared once per list is the span in which the list is usable and the HMAC
keyed with its salt.

The list's age is checked again on every call: a verifier left running for weeks starts
refusing (RevocationListRejected) instead of trusting revocations it no longer knows. That is
the verifier's fault, not the card's, so it is raised, never reported as a card's status.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from shared.bencard.credential import CardClaims, CredentialRejected, read_credential
from shared.bencard.keys import public_keys_from_jwks
from shared.bencard.revocations import CLOCK_SKEW, Pseudonymiser, read_revocation_list

OfflineStatus = Literal[
    "valid",
    "revoked",
    "expired",
    "not_yet_valid",
    "bad_signature",
    "unknown_key",
    "malformed",
    "unsupported_algorithm",
]


@dataclass(frozen=True)
class OfflineResult:
    """What to show at the counter: accept or not, why, and the holder only when accepted."""

    valid: bool
    status: OfflineStatus
    reason: str
    claims: CardClaims | None


def _utc_now() -> datetime:
    return datetime.now(UTC)


class OfflineVerifier:
    """Checks BenCard credentials against one JWKS and one signed revocation list."""

    def __init__(
        self,
        jwks: Mapping[str, Any],
        revocations: Mapping[str, Any],
        *,
        max_list_age: timedelta,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        """Raises ValueError for an unusable JWKS, RevocationListRejected for the list."""
        self._now = now or _utc_now
        self._max_list_age = max_list_age
        self._keys = public_keys_from_jwks(jwks)
        self._list = read_revocation_list(
            revocations, self._keys, now=self._now(), max_age=max_list_age
        )
        self._usable_from = self._list.issued_at - CLOCK_SKEW
        self._usable_until = self._list.issued_at + max_list_age
        self._pseudonym = Pseudonymiser(self._list.salt)

    def verify(self, credential: str) -> OfflineResult:
        """The card's status; RevocationListRejected if the list has become too old to use."""
        now = self._now()
        if not self._usable_from <= now <= self._usable_until:
            self._list.check_age(now=now, max_age=self._max_list_age)  # raises, saying why
        try:
            claims = read_credential(credential, self._keys, now=now)
        except CredentialRejected as rejected:
            return OfflineResult(False, rejected.reason, str(rejected), None)
        if self._pseudonym(claims.card_number) in self._list.pseudonyms:
            return OfflineResult(
                False, "revoked", "this card was revoked or replaced: do not accept it", None
            )
        return OfflineResult(True, "valid", "genuine, in date and not revoked", claims)
