"""``GET /audit/verify`` on every service: its own event store's chains, checked now.

Each service checks only its own store (one database per service), so ``bensys audit verify``
asks all five and adds up what they answer.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from shared.auth import Principal, Role, require_roles
from shared.eventstore.audit import check_stream
from shared.http.deps import Runtime

MAX_LISTED = 1000
"""Problems listed in one answer; ``problems_total`` counts them all."""

Auditor = Annotated[Principal, Depends(require_roles(Role.auditor, Role.admin))]


def audit_router(service: str) -> APIRouter:
    router = APIRouter(tags=["audit"])

    @router.get(
        "/audit/verify",
        summary="Check every stream's chain hash in this service's store",
        description="Names each stored event that was changed, removed, moved to another "
        "version or made unreadable since it was appended (ARCHITECTURE §5). It reads the "
        "whole store, so it takes as long as the store is large.",
    )
    async def verify(runtime: Runtime, _: Auditor) -> dict[str, Any]:
        streams = events = total = 0
        listed: list[dict[str, Any]] = []
        async for stream in runtime.store.audit_streams():
            streams += 1
            events += len(stream.events) + len(stream.unreadable)
            for problem in check_stream(stream.stream_id, stream.events, stream.unreadable):
                total += 1
                if len(listed) < MAX_LISTED:
                    listed.append(asdict(problem))
        return {
            "service": service,
            "streams": streams,
            "events": events,
            "intact": total == 0,
            "problems_total": total,
            "problems": listed,
        }

    return router
