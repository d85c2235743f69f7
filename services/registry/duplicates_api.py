"""Likely duplicates and their resolution: merge (reversible by unmerge) or mark distinct."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import APIRouter, Request

from services.registry.context import RegistrarOrAdmin, RegistryDep
from services.registry.domain import decide_mark_distinct, decide_merge, decide_unmerge
from services.registry.matching import score
from services.registry.schemas import DistinctRequest, MergeRequest, ReasonIn
from services.registry.streams import keys_of, load_migrant
from shared.commands import append_decided
from shared.eventstore.model import StoredEvent, utc_now

router = APIRouter(prefix="/migrants/{migrant_id}", tags=["duplicates"])


@router.get("/duplicates", summary="Likely duplicates of this person, with scores")
async def likely_duplicates(
    migrant_id: str, registry: RegistryDep, _principal: RegistrarOrAdmin
) -> dict[str, Any]:
    migrant = await load_migrant(registry, migrant_id)
    migrant.require_active()
    keys = await keys_of(registry, migrant)
    matches = await registry.people.likely_duplicates(
        keys, threshold=registry.settings.duplicate_threshold
    )
    return {
        "migrant_id": migrant_id,
        "likely_duplicates": [
            {"migrant_id": m.migrant_id, "score": round(m.score, 3), "matched": list(m.matched)}
            for m in matches
            if m.migrant_id not in migrant.distinct_from
        ],
    }


@router.post("/merge", summary="This record is the same person as `into`: absorb it")
async def merge(
    migrant_id: str,
    body: MergeRequest,
    request: Request,
    registry: RegistryDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    absorbed = await load_migrant(registry, migrant_id)
    survivor = await load_migrant(registry, body.into)
    if body.override_distinct:  # the decision may be on either record's stream
        absorbed = replace(absorbed, distinct_from=absorbed.distinct_from - {body.into})
        survivor = replace(survivor, distinct_from=survivor.distinct_from - {migrant_id})
    match = score(await keys_of(registry, absorbed), await keys_of(registry, survivor))
    events = decide_merge(
        absorbed,
        survivor,
        score=round(match.score, 3),
        reason=body.reason,
        by=principal.subject,
        at=utc_now(),
    )

    async def unindex(session: Any, _stored: list[StoredEvent]) -> None:
        await registry.people.remove(migrant_id, session=session)

    return await append_decided(
        registry.runtime,
        request,
        principal,
        stream_id=migrant_id,
        expected_version=absorbed.version,
        events=events,
        answer=lambda v: {"migrant_id": migrant_id, "merged_into": body.into, "version": v},
        inline=unindex,
    )


@router.post("/unmerge", summary="Undo a merge: the record stands on its own again")
async def unmerge(
    migrant_id: str,
    body: ReasonIn,
    request: Request,
    registry: RegistryDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    absorbed = await load_migrant(registry, migrant_id)
    events = decide_unmerge(absorbed, reason=body.reason, by=principal.subject, at=utc_now())
    keys = await keys_of(registry, absorbed)

    async def reindex(session: Any, _stored: list[StoredEvent]) -> None:
        await registry.people.put(keys, session=session)

    return await append_decided(
        registry.runtime,
        request,
        principal,
        stream_id=migrant_id,
        expected_version=absorbed.version,
        events=events,
        answer=lambda v: {"migrant_id": migrant_id, "merged_into": None, "version": v},
        inline=reindex,
    )


@router.post("/distinct", summary="This record and `other_id` are different people")
async def mark_distinct(
    migrant_id: str,
    body: DistinctRequest,
    request: Request,
    registry: RegistryDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    migrant = await load_migrant(registry, migrant_id)
    other = await load_migrant(registry, body.other_id)
    events = decide_mark_distinct(
        migrant, other, reason=body.reason, by=principal.subject, at=utc_now()
    )
    if not events:
        return {
            "migrant_id": migrant_id,
            "distinct_from": body.other_id,
            "version": migrant.version,
        }
    return await append_decided(
        registry.runtime,
        request,
        principal,
        stream_id=migrant_id,
        expected_version=migrant.version,
        events=events,
        answer=lambda v: {"migrant_id": migrant_id, "distinct_from": body.other_id, "version": v},
    )
