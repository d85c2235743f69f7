"""``POST /imports``: register many people from a list, row by row, with a dry run.

Every row goes through :func:`services.registry.registration.register`, the one function that
registers, so an imported person meets the same validation, policies and duplicate checks as
one registered at the counter. Each row carries a key (a KoBoToolbox ``_uuid``, a spreadsheet
id, or a hash of the row) that becomes the command id ``import:<key>``: re-running a file
recognises rows already imported instead of registering those people twice.

Rows are taken one after another, not in parallel: a person listed twice in one file is then
shown as a likely duplicate of the row registered just before.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field, ValidationError

from services.registry.context import RegistrarOrAdmin, RegistryDep
from services.registry.registration import register
from services.registry.schemas import DuplicateOut, MigrantCreate, Strict
from shared.auth import Principal
from shared.commands import fingerprint, previous_answer
from shared.errors import BenSysError, Invalid, Unavailable

router = APIRouter(prefix="/imports", tags=["imports"])

MAX_ROWS = 1000
RowStatus = Literal["registered", "would_register", "already_imported", "invalid"]


class ImportRowIn(Strict):
    row: int = Field(ge=1, description="Row number in the user's file (header is row 1).")
    key: str = Field(
        min_length=1,
        max_length=190,
        description="Stable id of the row (KoBo _uuid, a row_key column, or a hash of the row).",
    )
    data: dict[str, Any] = Field(description="One registration, as POST /migrants takes it.")


class ImportIn(Strict):
    source: str = Field(min_length=1, max_length=300, description="e.g. the file name.")
    dry_run: bool = Field(
        description="Check every row and store nothing. Required: writing "
        "a whole list must be a choice, never a default."
    )
    rows: list[ImportRowIn] = Field(max_length=MAX_ROWS, description="At most 1,000 a request.")


class RowProblem(BaseModel):
    field: str | None = Field(description="Field path in `data`, e.g. consent.purposes.")
    problem: str


class ImportedRow(BaseModel):
    row: int
    key: str
    status: RowStatus
    migrant_id: str | None = None
    errors: list[RowProblem] = []
    likely_duplicates: list[DuplicateOut] = []


class ImportSummary(BaseModel):
    registered: int = 0
    would_register: int = 0
    already_imported: int = 0
    invalid: int = 0
    with_likely_duplicates: int = 0


class ImportOut(BaseModel):
    dry_run: bool
    summary: ImportSummary
    rows: list[ImportedRow]


@router.post(
    "",
    response_model=ImportOut,
    summary="Register people from a list; a dry run reports per-row errors and writes nothing",
)
async def import_migrants(
    body: ImportIn, request: Request, registry: RegistryDep, principal: RegistrarOrAdmin
) -> ImportOut:
    results: list[ImportedRow] = []
    first_row_of: dict[str, int] = {}
    for item in body.rows:
        earlier = first_row_of.setdefault(item.key, item.row)
        if earlier != item.row:
            problem = f"key {item.key!r} is also on row {earlier}: give every row its own key"
            results.append(_invalid(item, [RowProblem(field=None, problem=problem)]))
            continue
        results.append(await _import_row(registry, request, principal, item, body.dry_run))
    return ImportOut(dry_run=body.dry_run, summary=_summary(results), rows=results)


async def _import_row(
    registry: RegistryDep,
    request: Request,
    principal: Principal,
    item: ImportRowIn,
    dry_run: bool,
) -> ImportedRow:
    """One row's fate; a bad row becomes an ``invalid`` result and never stops the others."""
    try:
        person = MigrantCreate.model_validate(item.data)
    except ValidationError as invalid:
        # Only where and what: pydantic's "input" may be a person's data.
        problems = [
            RowProblem(field=".".join(str(p) for p in e["loc"]) or None, problem=e["msg"])
            for e in invalid.errors()
        ]
        return _invalid(item, problems)
    command = f"import:{item.key}"
    request_fingerprint = fingerprint(person.model_dump(mode="json"))
    try:
        answer = await previous_answer(registry.runtime, command, request_fingerprint)
    except Invalid:
        problem = (
            f"this row changed since it was imported under key {item.key!r}: correct the "
            "person's record in BenSys instead, or give the row a new key if it is someone else"
        )
        return _invalid(item, [RowProblem(field=None, problem=problem)])
    if answer is not None:
        return ImportedRow(
            row=item.row, key=item.key, status="already_imported", migrant_id=answer["migrant_id"]
        )
    try:
        outcome = await register(
            registry,
            request,
            principal,
            person,
            command=command,
            request_fingerprint=request_fingerprint,
            dry_run=dry_run,
        )
    except Unavailable:
        raise  # an outage is not the row's fault: fail the batch; a re-run resumes safely
    except BenSysError as refused:
        field = refused.details.get("field")
        where = None if field is None else str(field)
        return _invalid(item, [RowProblem(field=where, problem=refused.message)])
    return ImportedRow(
        row=item.row,
        key=item.key,
        status="would_register" if dry_run else "registered",
        migrant_id=outcome["migrant_id"],
        likely_duplicates=[DuplicateOut(**d) for d in outcome["likely_duplicates"]],
    )


def _invalid(item: ImportRowIn, problems: list[RowProblem]) -> ImportedRow:
    return ImportedRow(row=item.row, key=item.key, status="invalid", errors=problems)


def _summary(results: list[ImportedRow]) -> ImportSummary:
    counts = Counter(result.status for result in results)
    return ImportSummary(
        registered=counts["registered"],
        would_register=counts["would_register"],
        already_imported=counts["already_imported"],
        invalid=counts["invalid"],
        with_likely_duplicates=sum(1 for result in results if result.likely_duplicates),
    )
