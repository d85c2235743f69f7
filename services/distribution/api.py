"""``/deliveries``: record relief one at a time or in offline batches, void mistakes, list.

Routes translate; the rules live in :mod:`services.distribution.domain` and
:mod:`services.distribution.delivering`.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import ValidationError

from services.distribution.context import DistributionDep, Recorder, require_site
from services.distribution.delivering import record_delivery
from services.distribution.domain import decide_void
from services.distribution.schemas import DeliveryBatch, DeliveryCreate, VoidRequest
from shared.commands import append_decided
from shared.errors import BenSysError, Invalid, NotFound
from shared.eventstore.model import utc_now
from shared.http.rate_limit import lookup_limit

router = APIRouter(tags=["deliveries"])


@router.post(
    "/deliveries",
    status_code=status.HTTP_201_CREATED,
    summary="Record relief delivered to a person (card or id) or an organisation",
)
async def deliver(
    body: DeliveryCreate,
    request: Request,
    response: Response,
    distribution: DistributionDep,
    principal: Recorder,
) -> dict[str, Any]:
    answer = await record_delivery(distribution, request, principal, body)
    if answer.pop("replayed", False):
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/deliveries/{answer['delivery_id']}"
    return answer


@router.post(
    "/deliveries/batch",
    summary="Apply deliveries captured offline, in order, each with its own result",
    description="Up to 1,000 deliveries. Each result is `recorded`, `already_recorded` (its "
    "client id was sent before: nothing changed) or `refused` with the error. Sending the "
    "same batch twice changes nothing.",
)
async def deliver_batch(
    body: DeliveryBatch, request: Request, distribution: DistributionDep, principal: Recorder
) -> dict[str, Any]:
    limit = distribution.settings.batch_limit
    if len(body.deliveries) > limit:
        raise Invalid(f"a batch holds at most {limit} deliveries; split this one")
    results = []
    for index, item in enumerate(body.deliveries):
        result: dict[str, Any] = {"index": index, "client_id": item.get("client_id")}
        try:
            answer = await record_delivery(
                distribution, request, principal, DeliveryCreate.model_validate(item)
            )
        except ValidationError as invalid:
            error = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'item'}: {e['msg']}"
                for e in invalid.errors()
            )
            result |= {"status": "refused", "error": {"code": "invalid", "message": error}}
        except BenSysError as refused:
            result |= {
                "status": "refused",
                "error": {
                    "code": refused.code,
                    "message": refused.message,
                    "details": refused.details,
                },
            }
        else:
            replayed = answer.pop("replayed", False)
            result |= {"status": "already_recorded" if replayed else "recorded", **answer}
        results.append(result)
    counts = {
        s: sum(r["status"] == s for r in results)
        for s in ("recorded", "already_recorded", "refused")
    }
    return {"results": results, **counts}


@router.get("/deliveries/{delivery_id}", summary="One delivery or group activity")
async def read_delivery(
    delivery_id: str, distribution: DistributionDep, _: Recorder
) -> dict[str, Any]:
    doc = await distribution.ledger.delivery(delivery_id)
    if doc is None:
        raise NotFound(f"no delivery {delivery_id}")
    return _view(doc)


@router.post("/deliveries/{delivery_id}/void", summary="Void a delivery recorded by mistake")
async def void_delivery(
    delivery_id: str,
    body: VoidRequest,
    request: Request,
    distribution: DistributionDep,
    principal: Recorder,
) -> dict[str, Any]:
    doc = await distribution.ledger.delivery(delivery_id)
    if doc is None:
        raise NotFound(f"no delivery {delivery_id}")
    require_site(principal, doc["site"])
    event = decide_void(
        delivery_id,
        doc["migrant_id"],
        voided=doc["voided"],
        reason=body.reason,
        actor=principal.subject,
        now=utc_now(),
    )
    stream = doc["stream_id"]
    return await append_decided(
        distribution.runtime,
        request,
        principal,
        stream_id=stream,
        expected_version=await distribution.ledger.version(stream),
        events=[event],
        answer=lambda _: event.model_dump(mode="json"),
        subject=doc["migrant_id"] or delivery_id,
        inline=distribution.ledger.project,
    )


@router.get(
    "/migrants/{migrant_id}/deliveries",
    summary="A person's deliveries, newest first, a page at a time",
    dependencies=[Depends(lookup_limit("lookups"))],
)
async def deliveries_of(
    migrant_id: str,
    distribution: DistributionDep,
    _: Recorder,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    docs = await distribution.ledger.history(
        migrant_id, limit=limit + 1, before=None if cursor is None else _decode(cursor)
    )
    page = docs[:limit]
    more = len(docs) > limit
    return {
        "items": [_view(doc) for doc in page],
        "next_cursor": _encode(page[-1]) if more else None,
    }


def _view(doc: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in doc.items() if k not in {"_id", "stream_id"}}
    return {"delivery_id": doc["_id"], **shown}


def _encode(doc: dict[str, Any]) -> str:
    at: datetime = doc["delivered_at"]
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{doc['_id']}".encode()).decode()


def _decode(cursor: str) -> tuple[datetime, str]:
    try:
        at, delivery_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return datetime.fromisoformat(at), delivery_id
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this service gave: start again without it") from None
