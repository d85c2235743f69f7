"""Showing calls to a reader, and recording that they read the callers' personal data.

ARCHITECTURE §5 makes every read of personal data an event. A call's phone number and notes
are opened only for the roles that may read them (:data:`READS_PERSONAL_DATA`), so only those
answers are recorded: one :class:`CallDetailsRead` per answer, whatever its length, so that a
page of fifty calls costs one append and not fifty.
"""

from __future__ import annotations

from typing import Any

import uuid_utils
from fastapi import Request

from services.helpline.call_log import Document
from services.helpline.call_schemas import READS_PERSONAL_DATA, view
from services.helpline.context import Helpline
from shared.auth import Principal
from shared.commands import append_decided
from shared.contracts.helpline import CallDetailsRead, CallReadPurpose
from shared.eventstore.model import utc_now

SEALED_FIELDS = ("phone", "notes")


async def show_calls(
    helpline: Helpline,
    request: Request,
    principal: Principal,
    docs: list[Document],
    *,
    purpose: CallReadPurpose,
) -> list[dict[str, Any]]:
    """The calls as ``principal`` may read them; the read is recorded before it is answered,
    so an answer that could not be recorded is never shown."""
    shown = [await view(doc, principal.role, helpline.runtime.cipher) for doc in docs]
    if principal.role not in READS_PERSONAL_DATA:
        return shown
    read = [
        (doc, answer)
        for doc, answer in zip(docs, shown, strict=True)
        if any(doc.get(name) is not None for name in SEALED_FIELDS)
    ]
    if read:
        await _record(helpline, request, principal, read, purpose)
    return shown


async def _record(
    helpline: Helpline,
    request: Request,
    principal: Principal,
    read: list[tuple[Document, dict[str, Any]]],
    purpose: CallReadPurpose,
) -> None:
    subjects = tuple(dict.fromkeys(doc.get("migrant_id") or doc["stream_id"] for doc, _ in read))
    event = CallDetailsRead(
        call_ids=tuple(doc["_id"] for doc, _ in read),
        subjects=subjects,
        erased=tuple(
            doc["_id"]
            for doc, answer in read
            if all(answer.get(name) is None for name in SEALED_FIELDS)
        ),
        reader=principal.subject,
        role=principal.role.value,
        purpose=purpose,
        read_at=utc_now(),
    )
    await append_decided(
        helpline.runtime,
        request,
        principal,
        stream_id=f"reads:{uuid_utils.uuid7()}",
        expected_version=0,
        events=[event],
        answer=lambda _: {},
        subject=subjects[0] if len(subjects) == 1 else None,
    )
