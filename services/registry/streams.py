"""Loading a person from their stream, rebuilding their index keys, and recording reads."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import Request

from services.registry import validation
from services.registry.context import Registry
from services.registry.domain import Migrant, fold
from services.registry.matching import PersonKeys
from services.registry.personal import open_fields
from shared.auth import Principal
from shared.commands import append_decided
from shared.contracts.catalog import CATALOG
from shared.contracts.registry import PersonalDataRead
from shared.errors import NotFound
from shared.eventstore.model import ConcurrencyConflict, utc_now


async def load_migrant(registry: Registry, migrant_id: str) -> Migrant:
    stored = await registry.runtime.store.load(migrant_id)
    if not stored:
        raise NotFound(f"no migrant {migrant_id}: check the id, or search with GET /migrants?q=")
    return fold(migrant_id, [CATALOG.decode(e.type, e.data) for e in stored])


async def keys_of(registry: Registry, migrant: Migrant) -> PersonKeys:
    """The person's blind index keys, from their current (decrypted) details."""
    opened = await open_fields(registry.runtime.cipher, migrant.sealed)
    born = opened.get("date_of_birth")
    year = int(born[:4]) if born else opened.get("approximate_birth_year")
    document = opened.get("identity_document") or {}
    names = [opened.get("full_name"), *(opened.get("other_names") or [])]
    return registry.indexer.keys_for(
        migrant_id=migrant.migrant_id,
        names=[n for n in names if n],
        birth_year=int(year) if year else None,
        nationality=migrant.clear.get("nationality"),
        phone=opened.get("phone"),
        document_number=(
            validation.document_number(document["number"]) if document.get("number") else None
        ),
    )


async def record_read(
    registry: Registry,
    request: Request,
    principal: Principal,
    migrant_id: str,
    *,
    purpose: str,
    result: Literal["shown", "erased"],
) -> None:
    """ARCHITECTURE §5: every read of personal data is itself an event, on ``reads:<id>``."""
    event = PersonalDataRead(
        migrant_id=migrant_id,
        reader=principal.subject,
        role=principal.role.value,
        purpose=purpose,
        result=result,
        read_at=utc_now(),
    )
    expected = 0
    for _ in range(10):  # readers race on the reads stream; the loser retries at the new end
        try:
            await append_decided(
                registry.runtime,
                request,
                principal,
                stream_id=f"reads:{migrant_id}",
                expected_version=expected,
                events=[event],
                answer=lambda _version: {},
                subject=migrant_id,
            )
            return
        except ConcurrencyConflict as conflict:
            expected = conflict.actual
    raise ConcurrencyConflict(f"reads:{migrant_id}", expected, expected)


def public_view(migrant: Migrant, opened: dict[str, Any], *, full: bool) -> dict[str, Any]:
    """What a role sees: registrars and admins everything; the helpline what a call needs."""
    view: dict[str, Any] = {
        "migrant_id": migrant.migrant_id,
        "version": migrant.version,
        "status": "merged" if migrant.merged_into else "active",
        "merged_into": migrant.merged_into,
        "full_name": opened.get("full_name"),
        "other_names": opened.get("other_names") or [],
        "phone": opened.get("phone"),
        "sex": migrant.clear.get("sex"),
        "preferred_languages": list(migrant.clear.get("preferred_languages") or []),
        "site": migrant.clear.get("site"),
        "consents": sorted(migrant.consents),
    }
    if full:
        view.update(
            {
                "date_of_birth": opened.get("date_of_birth"),
                "approximate_birth_year": opened.get("approximate_birth_year"),
                "age_band": migrant.clear.get("age_band"),
                "nationality": migrant.clear.get("nationality"),
                "address": opened.get("address"),
                "employer": opened.get("employer"),
                "identity_document": opened.get("identity_document"),
                "vulnerabilities": list(migrant.clear.get("vulnerabilities") or []),
            }
        )
    return view
