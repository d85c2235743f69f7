"""``/migrants``: register, find, read, correct and erase. Routes translate; rules live in
the domain and in :mod:`services.registry.registration`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from services.registry import validation
from services.registry.context import RegistrarOrAdmin, RegistryDep
from services.registry.domain import decide_correct, decide_erase, evolve
from services.registry.matching import PersonKeys
from services.registry.personal import open_fields, seal_fields
from services.registry.registration import register
from services.registry.schemas import (
    ErasureCode,
    MigrantCorrection,
    MigrantCreate,
    MigrantCreated,
)
from services.registry.streams import keys_of, load_migrant, public_view, record_read
from shared.age import age_band
from shared.auth import Principal, Role, require_roles
from shared.bencard.numbers import InvalidCardNumber, normalise_card_number
from shared.commands import append_decided, command_id, fingerprint, previous_answer
from shared.errors import Conflict, Gone, Invalid
from shared.eventstore.model import StoredEvent, utc_now
from shared.http.rate_limit import lookup_limit

router = APIRouter(prefix="/migrants", tags=["migrants"])
Finder = Annotated[Principal, Depends(require_roles(Role.registrar, Role.helpline, Role.admin))]
Admin = Annotated[Principal, Depends(require_roles(Role.admin))]
PHONE_LIKE = re.compile(r"^\+?[\d\s\-()]{6,}$")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=MigrantCreated,
    summary="Register a migrant, with their consent; returns likely duplicates",
)
async def register_migrant(
    body: MigrantCreate,
    request: Request,
    response: Response,
    registry: RegistryDep,
    principal: RegistrarOrAdmin,
) -> dict[str, Any]:
    command = command_id(request, "register")
    request_fingerprint = fingerprint(body.model_dump(mode="json"))
    answer = await previous_answer(registry.runtime, command, request_fingerprint)
    if answer is None:
        answer = await register(
            registry,
            request,
            principal,
            body,
            command=command,
            request_fingerprint=request_fingerprint,
        )
    response.headers["Location"] = f"/migrants/{answer['migrant_id']}"
    response.headers["ETag"] = f'"{answer["version"]}"'
    return answer


@router.get(
    "",
    summary="Find people by name (fuzzy), phone, card number or document number",
    dependencies=[Depends(lookup_limit("searches"))],
)
async def find_migrants(
    request: Request,
    registry: RegistryDep,
    principal: Finder,
    q: Annotated[
        str, Query(min_length=2, max_length=200, description="Name, phone, card or document")
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
) -> dict[str, Any]:
    query = q.strip()
    matches = await _card_holder(registry, query)
    if matches is None:
        matches = [
            Match(m.migrant_id, m.score, tuple(m.matched))
            for m in await registry.people.search(_search_keys(registry, query), limit=limit)
        ]
    results = []
    for match in matches:
        migrant = await load_migrant(registry, match.migrant_id)
        if migrant.erased:
            continue
        opened = await open_fields(registry.runtime.cipher, migrant.sealed)
        await record_read(
            registry, request, principal, migrant.migrant_id, purpose="search", result="shown"
        )
        results.append(
            {
                "migrant_id": migrant.migrant_id,
                "full_name": opened.get("full_name"),
                "site": migrant.clear.get("site"),
                "sex": migrant.clear.get("sex"),
                "score": round(match.score, 3),
                "matched": list(match.matched),
                **({"card_status": match.card_status} if match.card_status else {}),
            }
        )
    return {"results": results}


@dataclass(frozen=True)
class Match:
    migrant_id: str
    score: float
    matched: tuple[str, ...]
    card_status: str | None = None


async def _card_holder(registry: RegistryDep, query: str) -> list[Match] | None:
    """A query that is a well-formed card number (its check character holds) finds its holder;
    anything else is searched as a name, phone or document."""
    try:
        number = normalise_card_number(query)
    except InvalidCardNumber:
        return None
    holder = await registry.cards.holder(number)
    if holder is None:  # maybe a document number that happens to look like a card's
        return None
    return [Match(holder["migrant_id"], 1.0, ("card_number",), holder["status"])]


def _search_keys(registry: RegistryDep, query: str) -> PersonKeys:
    phone = None
    if PHONE_LIKE.match(query):
        try:
            phone = validation.e164(query, registry.settings.default_phone_region)
        except Invalid:
            phone = None
    return registry.indexer.keys_for(
        migrant_id="",
        names=[] if phone else [query],
        birth_year=None,
        nationality=None,
        phone=phone,
        document_number=validation.document_number(query)
        if any(c.isdigit() for c in query)
        else None,
    )


@router.get(
    "/{migrant_id}",
    summary="One person's record; the read is recorded",
    dependencies=[Depends(lookup_limit("lookups"))],
)
async def read_migrant(
    migrant_id: str,
    request: Request,
    response: Response,
    registry: RegistryDep,
    principal: Finder,
    purpose: Annotated[str, Query(max_length=100, description="Why you read it")] = "lookup",
) -> dict[str, Any]:
    migrant = await load_migrant(registry, migrant_id)
    if migrant.erased:
        await record_read(
            registry, request, principal, migrant_id, purpose=purpose, result="erased"
        )
        raise Gone(f"migrant {migrant_id} was erased; their personal data no longer exists")
    opened = await open_fields(registry.runtime.cipher, migrant.sealed)
    await record_read(registry, request, principal, migrant_id, purpose=purpose, result="shown")
    response.headers["ETag"] = f'"{migrant.version}"'
    return public_view(migrant, opened, full=principal.role is not Role.helpline)


@router.patch("/{migrant_id}", summary="Correct details; If-Match must carry the version")
async def correct_migrant(
    migrant_id: str,
    body: MigrantCorrection,
    request: Request,
    response: Response,
    registry: RegistryDep,
    principal: RegistrarOrAdmin,
    if_match: Annotated[str | None, Header(alias="If-Match")] = None,
) -> dict[str, Any]:
    expected = _version_from(if_match)
    migrant = await load_migrant(registry, migrant_id)
    if migrant.version != expected:
        raise Conflict(
            f"migrant {migrant_id} is at version {migrant.version}, not {expected}: "
            "someone changed it since you read it; GET it again and resend with the new ETag",
            details={"expected_version": expected, "actual": migrant.version},
        )
    sent = body.model_dump(exclude_unset=True, mode="json")
    changes = await _corrections(registry, migrant_id, sent)
    events = decide_correct(
        migrant, changes, by=principal.subject, at=utc_now(), sites=registry.settings.sites
    )
    if not events:
        response.headers["ETag"] = f'"{migrant.version}"'
        return {"migrant_id": migrant_id, "version": migrant.version, "corrected_fields": []}
    corrected = migrant
    for event in events:
        corrected = evolve(corrected, event)
    keys = await keys_of(registry, corrected)

    async def reindex(session: Any, _stored: list[StoredEvent]) -> None:
        await registry.people.put(keys, session=session)

    answer = await append_decided(
        registry.runtime,
        request,
        principal,
        stream_id=migrant_id,
        expected_version=migrant.version,
        events=events,
        answer=lambda version: {
            "migrant_id": migrant_id,
            "version": version,
            "corrected_fields": list(events[0].corrected_fields),
        },
        inline=reindex,
    )
    response.headers["ETag"] = f'"{answer["version"]}"'
    return answer


async def _corrections(
    registry: RegistryDep, migrant_id: str, sent: dict[str, Any]
) -> dict[str, Any]:
    settings = registry.settings
    if sent.get("phone"):
        sent["phone"] = validation.e164(sent["phone"], settings.default_phone_region)
    if "preferred_languages" in sent and sent["preferred_languages"] is not None:
        sent["preferred_languages"] = validation.languages(sent["preferred_languages"])
    if "vulnerabilities" in sent and sent["vulnerabilities"] is not None:
        sent["vulnerabilities"] = validation.vulnerabilities(
            sent["vulnerabilities"], settings.vulnerabilities
        )
    nullable_clear = {"sex", "nationality", "site", "preferred_languages", "vulnerabilities"}
    refused = [name for name in nullable_clear if name in sent and sent[name] is None]
    if refused:
        raise Invalid(f"{', '.join(sorted(refused))} cannot be emptied, only corrected")
    personal_names = [
        name
        for name in (
            "full_name",
            "other_names",
            "date_of_birth",
            "approximate_birth_year",
            "phone",
            "address",
            "employer",
            "identity_document",
        )
        if name in sent
    ]
    changes = {name: value for name, value in sent.items() if name not in personal_names}
    changes.update(
        await seal_fields(
            registry.runtime.cipher, migrant_id, {name: sent[name] for name in personal_names}
        )
    )
    if "date_of_birth" in sent or "approximate_birth_year" in sent:
        born = sent.get("date_of_birth")
        year = sent.get("approximate_birth_year")
        birth = date.fromisoformat(born) if born else (date(int(year), 7, 1) if year else None)
        changes["age_band"] = age_band(birth, utc_now().date())
    if "other_names" in changes and changes["other_names"] is None:
        changes["other_names"] = ()
    return changes


@router.delete("/{migrant_id}", summary="Erase a person: their key is destroyed; counts remain")
async def erase_migrant(
    migrant_id: str,
    request: Request,
    registry: RegistryDep,
    principal: Admin,
    reason: Annotated[ErasureCode, Query(description="Why, as a code")],
) -> dict[str, Any]:
    migrant = await load_migrant(registry, migrant_id)
    events = decide_erase(migrant, reason=reason, by=principal.subject, at=utc_now())
    # The key goes first: once it is gone nothing can read the person, even if the append
    # below fails; a retried DELETE then records the erasure (decide_erase is idempotent).
    await registry.runtime.vault.destroy_key(migrant_id)
    if events:

        async def unindex(session: Any, _stored: list[StoredEvent]) -> None:
            await registry.people.remove(migrant_id, session=session)

        await append_decided(
            registry.runtime,
            request,
            principal,
            stream_id=migrant_id,
            expected_version=migrant.version,
            events=events,
            answer=lambda _version: {},
            inline=unindex,
        )
    return {"migrant_id": migrant_id, "erased": True}


def _version_from(if_match: str | None) -> int:
    if if_match is None:
        raise Invalid(
            "send If-Match with the version you corrected (the ETag of GET /migrants/{id}), "
            'e.g. If-Match: "3"'
        )
    try:
        return int(if_match.strip().strip('"').removeprefix("W/").strip('"'))
    except ValueError:
        raise Invalid(f'If-Match must be a version number like "3", not {if_match!r}') from None
