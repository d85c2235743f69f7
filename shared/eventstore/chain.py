"""The audit chain: each stored event commits to the one before it in its stream.

``chainhash = sha256(previous chainhash + canonical JSON of this event)`` (ARCHITECTURE §5), so
an auditor who recomputes the chain finds any event that was changed, removed or reordered.
Canonical JSON: sorted keys, no insignificant white space, UTF-8, so every language and every
process computes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def chain_hash(previous: str, hashed_fields: dict[str, Any]) -> str:
    return hashlib.sha256(previous.encode("ascii") + canonical_json(hashed_fields)).hexdigest()
