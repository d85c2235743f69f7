"""Partner subscriptions: one settings file per partner organisation, and its pseudonyms.

A programme adds a partner by dropping ``<id>.toml`` into the partners folder
(``BENSYS_PARTNERS_DIR``)::

    name = "IOM Maldives"
    secret_env = "BENSYS_PARTNER_SECRET_IOM"     # the variable that holds its secret
    events = ["PersonRegistered", "ServiceDelivered", "DoseGiven"]

The secret itself never sits in the file (files get copied, mailed and committed): the file
names the environment variable that holds it, and it must be at least 32 characters, so the
pseudonyms cannot be found by trying every migrant id. A folder with a file that is wrong in
any way stops the service at start-up with a message naming the file and what to fix, rather
than sending a partner a feed it did not ask for.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from shared.contracts import partner as partner_events
from shared.contracts.catalog import CATALOG

MIN_SECRET_CHARS = 32
PSEUDONYM_BYTES = 16
"""128 bits of the HMAC: collisions among a programme's ids are out of reach."""
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_KEYS = frozenset({"name", "secret_env", "events"})


def partner_event_names() -> dict[str, str]:
    """Every partner event a subscription may name, by event name: its ce_type."""
    return {
        event.event_type: event.ce_type()
        for event in CATALOG
        if issubclass(event, partner_events.PartnerEvent)
    }


class PartnerSettingsError(ValueError):
    """A partner file that cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class PartnerSubscription:
    """One partner: who, its secret, and the partner event types (ce_type) it receives."""

    partner_id: str
    name: str
    secret: bytes
    event_types: frozenset[str]

    def pseudonym(self, identifier: str) -> str:
        """The partner's name for ``identifier``: the same every time, useless to others."""
        digest = hmac.digest(self.secret, identifier.encode("utf-8"), hashlib.sha256)
        return digest[:PSEUDONYM_BYTES].hex()

    def __repr__(self) -> str:  # the secret never reaches a log line through a repr
        return f"PartnerSubscription({self.partner_id!r}, events={sorted(self.event_types)})"


def load_partners(
    folder: Path, environ: Mapping[str, str] | None = None
) -> list[PartnerSubscription]:
    """Every ``*.toml`` in ``folder``, checked; PartnerSettingsError for the first bad one."""
    environ = os.environ if environ is None else environ
    if not folder.is_dir():
        raise PartnerSettingsError(f"BENSYS_PARTNERS_DIR={folder} is not a folder")
    return [_load(path, environ) for path in sorted(folder.glob("*.toml"))]


def _load(path: Path, environ: Mapping[str, str]) -> PartnerSubscription:
    def bad(what: str) -> PartnerSettingsError:
        return PartnerSettingsError(f"partner file {path}: {what}")

    partner_id = path.stem
    if not _ID.match(partner_id):
        raise bad("the file name is the partner's id: lower-case letters, digits and hyphens")
    try:
        settings = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise bad(f"not valid TOML ({error})") from None
    if unknown := sorted(settings.keys() - _KEYS):
        raise bad(f"unknown setting(s) {', '.join(unknown)}; a file has {', '.join(sorted(_KEYS))}")
    name, secret_env, events = (settings.get(key) for key in ("name", "secret_env", "events"))
    if not isinstance(name, str) or not name.strip():
        raise bad('name = "..." is missing: the organisation, as people will read it')
    if not isinstance(secret_env, str) or not secret_env:
        raise bad('secret_env = "..." is missing: the environment variable with its secret')
    secret = environ.get(secret_env, "")
    if len(secret) < MIN_SECRET_CHARS:
        raise bad(
            f"the environment variable {secret_env} must hold the partner's secret, at least "
            f"{MIN_SECRET_CHARS} characters (e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )
    known = partner_event_names()
    if not isinstance(events, list) or not events or not all(isinstance(e, str) for e in events):
        raise bad(f"events = [...] must name at least one of {', '.join(sorted(known))}")
    if unknown_events := sorted(set(events) - known.keys()):
        raise bad(
            f"no partner event is called {', '.join(unknown_events)}; "
            f"the feed has {', '.join(sorted(known))}"
        )
    return PartnerSubscription(
        partner_id=partner_id,
        name=name.strip(),
        secret=secret.encode("utf-8"),
        event_types=frozenset(known[event] for event in events),
    )
