"""Registry routes: translate HTTP into commands and back; no business rule lives here."""

from __future__ import annotations

import re
from typing import Annotated, Any

import uuid_utils
from fastapi import APIRouter, Depends, Request, Response, status

from services.registry.domain import Migrant, RegisterMigrant, decide_register
from services.registry.schemas import MigrantCreate, MigrantPublic
from shared.auth import Principal, Role, require_roles
from shared.commands import append_decided, command_id, fingerprint, previous_answer
from shared.contracts.registry import ConsentGiven
from shared.errors import Invalid
from shared.eventstore.model import utc_now
from shared.http.deps import Runtime

router = APIRouter(prefix="/migrants", tags=["migrants"])
RegistrarOrAdmin = Annotated[Principal, Depends(require_roles(Role.registrar, Role.admin))]
LANGUAGE = re.compile(r"^[a-z]{2,3}$")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MigrantPublic,
    summary="Register a migrant, with their consent",
)
async def register_migrant(
    body: MigrantCreate,
    request: Request,
    response: Response,
    runtime: Runtime,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    bad = [code for code in body.preferred_languages if not LANGUAGE.match(code)]
    if bad:
        raise Invalid(f"preferred_languages must be ISO 639-1 codes like 'bn'; not {bad}")
    command = command_id(request, "register")
    request_fingerprint = fingerprint(body.model_dump(mode="json"))
    answer = await previous_answer(runtime, command, request_fingerprint)
    if answer is None:
        answer = await _register(
            runtime,
            request,
            principal,
            body,
            command=command,
            request_fingerprint=request_fingerprint,
        )
    response.headers["Location"] = f"/migrants/{answer['migrant_id']}"
    response.headers["ETag"] = f'"{answer["version"]}"'
    return answer


async def _register(
    runtime: Runtime,
    request: Request,
    principal: Principal,
    body: MigrantCreate,
    *,
    command: str | None,
    request_fingerprint: str,
) -> dict[str, Any]:
    migrant_id = str(uuid_utils.uuid7())
    sealed = await runtime.cipher.seal_many(
        migrant_id,
        {
            "full_name": body.full_name,
            "date_of_birth": body.date_of_birth.isoformat() if body.date_of_birth else None,
        },
    )
    now = utc_now()
    full_name = sealed["full_name"]
    assert full_name is not None  # a name is required by the schema
    events = decide_register(
        Migrant(),
        RegisterMigrant(
            migrant_id=migrant_id,
            full_name=full_name,
            date_of_birth=sealed["date_of_birth"],
            born_on=body.date_of_birth,
            sex=body.sex,
            nationality=body.nationality,
            preferred_languages=tuple(body.preferred_languages),
            site=body.site,
            consent=ConsentGiven(
                purposes=tuple(dict.fromkeys(body.consent.purposes)),
                method=body.consent.method,
                notice_language=body.consent.notice_language,
            ),
            issue_card=body.issue_card,
            registered_by=principal.subject,
            registered_at=now,
        ),
        sites=runtime.settings.sites,
    )
    return await append_decided(
        runtime,
        request,
        principal,
        stream_id=migrant_id,
        expected_version=0,
        events=events,
        answer=lambda version: {
            "migrant_id": migrant_id,
            "version": version,
            "registered_at": now.isoformat(),
        },
        command=command,
        request_fingerprint=request_fingerprint,
    )
