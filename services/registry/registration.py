"""Registering a person: one function for the API and for bulk import, so both apply the same
policies, validation and duplicate checks.

The person's entry in the people index (blind keys for duplicate checks and search) is written
in the same transaction as their ``MigrantRegistered``: the index can never know someone the
event store does not, nor miss someone it does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import uuid_utils
from fastapi import Request

from services.registry import validation
from services.registry.context import Registry
from services.registry.domain import Migrant, RegisterMigrant, decide_register
from services.registry.matching import PersonKeys
from services.registry.personal import seal_fields
from services.registry.schemas import MigrantCreate
from shared.auth import Principal
from shared.commands import append_decided
from shared.contracts.base import Sealed
from shared.contracts.registry import ConsentGiven, IdentityDocument
from shared.errors import Invalid
from shared.eventstore.model import StoredEvent, format_time, utc_now

PLACEHOLDER = Sealed(kid="dry-run", iv="", ct="")


def person_keys(
    registry: Registry, migrant_id: str, body: MigrantCreate, phone: str | None
) -> PersonKeys:
    birth_year = (
        body.date_of_birth.year if body.date_of_birth is not None else body.approximate_birth_year
    )
    document = body.identity_document
    return registry.indexer.keys_for(
        migrant_id=migrant_id,
        names=[body.full_name, *body.other_names],
        birth_year=birth_year,
        nationality=body.nationality,
        phone=phone,
        document_number=None if document is None else validation.document_number(document.number),
    )


async def register(
    registry: Registry,
    request: Request,
    principal: Principal,
    body: MigrantCreate,
    *,
    command: str | None,
    request_fingerprint: str,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Register ``body``; with ``dry_run`` check everything and store nothing."""
    settings = registry.settings
    phone = (
        None if body.phone is None else validation.e164(body.phone, settings.default_phone_region)
    )
    languages = validation.languages(body.preferred_languages)
    vulnerabilities = validation.vulnerabilities(body.vulnerabilities, settings.vulnerabilities)
    migrant_id = str(uuid_utils.uuid7())
    keys = person_keys(registry, migrant_id, body, phone)
    duplicates = [
        {"migrant_id": d.migrant_id, "score": round(d.score, 3), "matched": list(d.matched)}
        for d in await registry.people.likely_duplicates(
            keys, threshold=settings.duplicate_threshold
        )
    ]
    now = registered_at(body)
    personal: dict[str, Any] = {
        "full_name": body.full_name,
        "other_names": body.other_names,
        "date_of_birth": body.date_of_birth.isoformat() if body.date_of_birth else None,
        "approximate_birth_year": body.approximate_birth_year,
        "phone": phone,
        "address": body.address,
        "employer": body.employer,
        "identity_document": (
            None if body.identity_document is None else body.identity_document.model_dump()
        ),
    }
    if dry_run:
        sealed = {name: _placeholder(value) for name, value in personal.items()}
    else:
        sealed = await seal_fields(registry.runtime.cipher, migrant_id, personal)
    events = decide_register(
        Migrant(migrant_id=migrant_id),
        RegisterMigrant(
            migrant_id=migrant_id,
            born_on=body.date_of_birth,
            approximate_year=body.approximate_birth_year,
            sex=body.sex,
            nationality=body.nationality,
            preferred_languages=languages,
            site=body.site,
            consent=ConsentGiven(
                purposes=tuple(dict.fromkeys(body.consent.purposes)),
                method=body.consent.method,
                notice_language=body.consent.notice_language,
            ),
            issue_card=body.issue_card,
            registered_by=principal.subject,
            registered_at=now,
            vulnerabilities=vulnerabilities,
            **sealed,
        ),
        sites=settings.sites,
    )
    if dry_run:
        return {"migrant_id": None, "would_register": True, "likely_duplicates": duplicates}

    async def index(session: Any, _stored: list[StoredEvent]) -> None:
        await registry.people.put(keys, session=session)

    return await append_decided(
        registry.runtime,
        request,
        principal,
        stream_id=migrant_id,
        expected_version=0,
        events=events,
        answer=lambda version: {
            "migrant_id": migrant_id,
            "version": version,
            "registered_at": format_time(now),
            "likely_duplicates": duplicates,
        },
        command=command,
        request_fingerprint=request_fingerprint,
        inline=index,
    )


def _placeholder(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, list):
        return tuple(PLACEHOLDER for _ in value)
    if isinstance(value, dict):
        return IdentityDocument(type=value["type"], number=PLACEHOLDER)
    return PLACEHOLDER


CAPTURE_FLOOR = datetime(2000, 1, 1, tzinfo=UTC)


def registered_at(body: MigrantCreate) -> datetime:
    """Now, or when a form captured on paper or offline was filled (never in the future)."""
    now = utc_now()
    if body.registered_at is None:
        return now
    moment = body.registered_at.astimezone(UTC)
    if moment > now + timedelta(minutes=5):
        raise Invalid(f"registered_at {body.registered_at.isoformat()} is in the future")
    if moment < CAPTURE_FLOOR:
        raise Invalid("registered_at is before 2000: check the year")
    return moment
