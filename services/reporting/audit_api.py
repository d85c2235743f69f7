"""``/audit/subjects/{id}``: one person's whole history across every service, for auditors.

Types, times, actors and sites as the events carried them; personal data only as "encrypted"
or "erased" (see :mod:`services.reporting.audit_trail`). ``/audit/verify`` is every service's
own (``shared.http.audit``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from services.reporting.reading import Views
from shared.auth import Principal, Role, require_roles
from shared.errors import NotFound

router = APIRouter(prefix="/audit", tags=["audit"])
Auditor = Annotated[Principal, Depends(require_roles(Role.auditor, Role.admin))]


class TrailEvent(BaseModel):
    event_id: str
    type: str = Field(description="The CloudEvents type, e.g. bensys.registry.MigrantRegistered.v1")
    service: str
    time: datetime
    version: int = Field(description="Its version in the producer's stream.")
    subject: str
    actor: str
    site: str | None
    correlation_id: str
    data: dict[str, Any] = Field(
        description="As published, with each sealed value replaced by "
        '{"personal_data": "encrypted" | "erased", "kid": ...}.'
    )


class SubjectHistory(BaseModel):
    subject: str
    erased: bool = Field(description="True once the person's key was destroyed.")
    events: list[TrailEvent] = Field(description="Oldest first.")
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")


@router.get(
    "/subjects/{subject}",
    response_model=SubjectHistory,
    summary="One person's whole history across every service, oldest first",
)
async def subject_history(
    subject: str,
    views: Views,
    _: Auditor,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    page = await views.trail.history(subject, limit=limit, cursor=cursor)
    if not page.events and cursor is None:
        raise NotFound(f"no events about {subject}: check the id (a migrant id, or call:<id>)")
    return {
        "subject": subject,
        "erased": page.erased,
        "events": page.events,
        "next_cursor": page.next_cursor,
    }
