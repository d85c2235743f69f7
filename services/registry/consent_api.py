"""Consent per purpose: recorded and withdrawn as events other services act on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from services.registry.context import RegistrarOrAdmin, RegistryDep
from services.registry.domain import decide_record_consent, decide_withdraw_consent
from services.registry.schemas import ConsentChange
from services.registry.streams import load_migrant
from shared.auth import Principal
from shared.commands import append_decided
from shared.contracts.base import Event
from shared.contracts.registry import ConsentPurpose
from shared.eventstore.model import utc_now

router = APIRouter(prefix="/migrants/{migrant_id}/consents", tags=["consent"])


@router.post("", summary="Record consent for one purpose")
async def record_consent(
    migrant_id: str,
    body: ConsentChange,
    request: Request,
    registry: RegistryDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    migrant = await load_migrant(registry, migrant_id)
    events = decide_record_consent(
        migrant,
        body.purpose,
        method=body.method,
        notice_language=body.notice_language,
        by=principal.subject,
        at=utc_now(),
    )
    return await _append(
        registry, request, principal, migrant_id=migrant_id, version=migrant.version, events=events
    )


@router.delete("/{purpose}", summary="Withdraw consent for one purpose")
async def withdraw_consent(
    migrant_id: str,
    purpose: ConsentPurpose,
    request: Request,
    registry: RegistryDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    migrant = await load_migrant(registry, migrant_id)
    events = decide_withdraw_consent(migrant, purpose, by=principal.subject, at=utc_now())
    return await _append(
        registry, request, principal, migrant_id=migrant_id, version=migrant.version, events=events
    )


async def _append(
    registry: RegistryDep,
    request: Request,
    principal: Principal,
    *,
    migrant_id: str,
    version: int,
    events: list[Any],
) -> dict[str, Any]:
    """Nothing to add (already so) is a success too: the answer is the current consents."""
    decided: list[Event] = list(events)
    if decided:
        await append_decided(
            registry.runtime,
            request,
            principal,
            stream_id=migrant_id,
            expected_version=version,
            events=decided,
            answer=lambda v: {"version": v},
        )
    after = await load_migrant(registry, migrant_id)
    return {"migrant_id": migrant_id, "version": after.version, "consents": sorted(after.consents)}
