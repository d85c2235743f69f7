"""Disclosure requests from authorities: recorded and decided, never fulfilled by the system.

Each request is a stream ``disclosure:<id>``; a small read model (written inline with the
events) lets auditors list them. The requesting official's name is sealed with a key of the
request's own.
"""

from __future__ import annotations

from typing import Annotated, Any

import uuid_utils
from fastapi import APIRouter, Depends, Query, Request, status

from services.registry.context import RegistryDep
from services.registry.schemas import DisclosureCreate, DisclosureDecision
from shared.auth import Principal, Role, require_roles
from shared.commands import append_decided
from shared.contracts.base import Sealed
from shared.contracts.registry import DisclosureDecided, DisclosureRequested
from shared.errors import Conflict, NotFound
from shared.eventstore.model import StoredEvent, format_time, utc_now

router = APIRouter(prefix="/disclosures", tags=["disclosures"])
Recorder = Annotated[Principal, Depends(require_roles(Role.admin, Role.manager))]
Decider = Annotated[Principal, Depends(require_roles(Role.admin))]
Auditor = Annotated[Principal, Depends(require_roles(Role.auditor, Role.admin))]
COLLECTION = "disclosures"


@router.post("", status_code=status.HTTP_201_CREATED, summary="Record an authority's request")
async def request_disclosure(
    body: DisclosureCreate, request: Request, registry: RegistryDep, principal: Recorder
) -> dict[str, Any]:
    disclosure_id = str(uuid_utils.uuid7())
    stream = f"disclosure:{disclosure_id}"
    now = utc_now()
    event = DisclosureRequested(
        disclosure_id=disclosure_id,
        authority=body.authority,
        requested_by=await registry.runtime.cipher.seal(stream, body.requested_by),
        migrant_ids=tuple(body.migrant_ids),
        data_requested=body.data_requested,
        legal_basis=body.legal_basis,
        received_at=body.received_at or now,
        recorded_by=principal.subject,
    )
    collection = registry.runtime.mongo[registry.settings.database][COLLECTION]

    async def project(session: Any, _stored: list[StoredEvent]) -> None:
        await collection.insert_one(
            {"_id": disclosure_id, "status": "pending", **event.model_dump(mode="json")},
            session=session,
        )

    return await append_decided(
        registry.runtime,
        request,
        principal,
        stream_id=stream,
        expected_version=0,
        events=[event],
        answer=lambda _v: {"disclosure_id": disclosure_id, "status": "pending"},
        inline=project,
    )


@router.post("/{disclosure_id}/decision", summary="Record the release or refusal, with why")
async def decide_disclosure(
    disclosure_id: str,
    body: DisclosureDecision,
    request: Request,
    registry: RegistryDep,
    principal: Decider,
) -> dict[str, Any]:
    collection = registry.runtime.mongo[registry.settings.database][COLLECTION]
    current = await collection.find_one({"_id": disclosure_id})
    if current is None:
        raise NotFound(f"no disclosure request {disclosure_id}")
    if current["status"] != "pending":
        raise Conflict(f"disclosure {disclosure_id} was already {current['status']}")
    event = DisclosureDecided(
        disclosure_id=disclosure_id,
        decision=body.decision,
        reason=body.reason,
        released_data=body.released_data,
        decided_by=principal.subject,
        decided_at=utc_now(),
    )

    async def project(session: Any, _stored: list[StoredEvent]) -> None:
        await collection.update_one(
            {"_id": disclosure_id},
            {"$set": {"status": body.decision, "decision": event.model_dump(mode="json")}},
            session=session,
        )

    return await append_decided(
        registry.runtime,
        request,
        principal,
        stream_id=f"disclosure:{disclosure_id}",
        expected_version=1,
        events=[event],
        answer=lambda _v: {"disclosure_id": disclosure_id, "status": body.decision},
        inline=project,
    )


@router.get("", summary="Every disclosure request and its decision (auditors)")
async def list_disclosures(
    registry: RegistryDep,
    _principal: Auditor,
    status_: Annotated[str | None, Query(alias="status")] = None,
) -> dict[str, Any]:
    collection = registry.runtime.mongo[registry.settings.database][COLLECTION]
    query = {} if status_ is None else {"status": status_}
    items = []
    async for doc in collection.find(query, sort=[("received_at", -1)]):
        doc.pop("_id")
        doc["requested_by"] = await registry.runtime.cipher.open(
            Sealed.model_validate(doc["requested_by"])
        )
        items.append(doc)
    return {"disclosures": items, "as_of": format_time(utc_now())}
