"""``/partners``: the partner directory loaded at start-up, and how a route reaches it.

The directory is the one loaded when the service starts (``app.state.partners``), so a bad
file stops the service and never reaches a request.
"""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field

from services.helpline.partners import PartnerDirectory, PartnerKind
from shared.auth import Principal, Role, require_roles
from shared.errors import Invalid

router = APIRouter(tags=["referrals"])
AnyRole = Annotated[Principal, Depends(require_roles(*Role))]
Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]


def get_partners(request: Request) -> PartnerDirectory:
    partners = getattr(request.app.state, "partners", None)
    if not isinstance(partners, PartnerDirectory):
        # A wiring mistake, not the caller's: a 500 and a log line that says what is missing.
        raise TypeError("app.state.partners must be the PartnerDirectory loaded at start-up")
    return partners


PartnersDep = Annotated[PartnerDirectory, Depends(get_partners)]


class PartnerPublic(BaseModel):
    code: str = Field(description="What a referral names, e.g. 'iom_maldives'.")
    name: str
    kind: PartnerKind
    services: list[str] = Field(description="Catalogue codes it takes; [] for any.")
    contact: str | None


class PartnerPage(BaseModel):
    items: list[PartnerPublic]
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")


@router.get("/partners", response_model=PartnerPage, summary="The partner directory")
async def list_partners(
    partners: PartnersDep,
    _: AnyRole,
    kind: PartnerKind | None = None,
    service: Annotated[str | None, Query(description="Only partners that take it.")] = None,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> dict[str, Any]:
    chosen = [
        p
        for p in partners
        if (kind is None or p.kind == kind) and (service is None or p.takes(service))
    ]
    start = 0
    if cursor is not None:
        codes = [p.code for p in chosen]
        last = _unpack(cursor)
        if last not in codes:
            raise Invalid("cursor is not one this service gave: start again without it")
        start = codes.index(last) + 1
    items = chosen[start : start + limit]
    more = start + limit < len(chosen)
    return {
        "items": [
            PartnerPublic(
                code=p.code, name=p.name, kind=p.kind, services=list(p.services), contact=p.contact
            ).model_dump()
            for p in items
        ],
        "next_cursor": base64.urlsafe_b64encode(items[-1].code.encode()).decode() if more else None,
    }


def _unpack(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        raise Invalid("cursor is not one this service gave: start again without it") from None
