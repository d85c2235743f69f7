"""The bearer token a ``bensys`` command sends: the one given, ``$BENSYS_TOKEN``, or, on a
development stack, one minted for the role the command needs with ``$BENSYS_JWT_SECRET``."""

from __future__ import annotations

import os

from shared.auth import Role, mint_token
from shared.settings import DEV_JWT_SECRET


def bearer(given: str | None, role: Role) -> dict[str, str]:
    token = (
        given
        or os.environ.get("BENSYS_TOKEN")
        or mint_token(secret=os.environ.get("BENSYS_JWT_SECRET", DEV_JWT_SECRET), role=role)
    )
    return {"Authorization": f"Bearer {token}"}
