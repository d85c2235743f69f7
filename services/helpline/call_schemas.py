"""HTTP shapes of helpline calls, kept apart from the events, and the view each role may read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.helpline.call_log import Document, utc
from services.helpline.calls import CallerKind, LogCall
from shared.auth import Role
from shared.contracts.base import Sealed
from shared.contracts.helpline import CallCategory

READS_PERSONAL_DATA = frozenset({Role.helpline, Role.admin})
"""Who sees a caller's phone number and the notes; any other role gets neither."""


@dataclass(frozen=True)
class ResolvedCaller:
    """The caller as the helpline knows them: a card read to its holder, a phone in E.164."""

    kind: CallerKind
    migrant_id: str | None = None
    card_number: str | None = None
    phone: str | None = None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Caller(_Strict):
    """Exactly one of the four: who called, as far as the operator knows."""

    migrant_id: str | None = Field(default=None, min_length=1, max_length=100)
    card_number: str | None = Field(
        default=None, min_length=1, max_length=40, description="As read out, e.g. 'K7QM-2XR4-9HT'."
    )
    phone: str | None = Field(
        default=None, min_length=3, max_length=40, description="Only for a caller with no record."
    )
    anonymous: bool = Field(default=False, description="True for a caller who gave no name.")

    @model_validator(mode="after")
    def exactly_one(self) -> Caller:
        given = [
            name
            for name in ("migrant_id", "card_number", "phone")
            if getattr(self, name) is not None
        ] + (["anonymous"] if self.anonymous else [])
        if len(given) != 1:
            raise ValueError(
                "give exactly one of migrant_id, card_number, phone or anonymous: true, "
                f"not {' and '.join(given) or 'none'}"
            )
        return self


class CallCreate(_Strict):
    client_id: str = Field(
        min_length=1,
        max_length=100,
        description="The id the console gave this call: sending it again changes nothing.",
    )
    direction: Literal["incoming", "outgoing"]
    started_at: datetime = Field(description="With a time zone, e.g. 2026-11-23T09:30:00+05:00.")
    duration_seconds: int = Field(ge=0, le=86_400, description="0 for a missed call.")
    answered: bool
    language: str = Field(pattern="^[a-z]{2}$", description="ISO 639-1, e.g. 'bn'.")
    caller: Caller
    categories: list[CallCategory] = Field(max_length=9)
    services_requested: list[str] = Field(default=[], max_length=30)
    services_provided: list[str] = Field(default=[], max_length=30)
    information_given: str | None = Field(
        default=None, max_length=300, description="A topic, no personal data."
    )
    notes: str | None = Field(default=None, max_length=4000, description="Personal data.")
    follow_up_needed: bool = False
    site: str | None = Field(default=None, max_length=100)

    @model_validator(mode="after")
    def zoned(self) -> CallCreate:
        if self.started_at.tzinfo is None:
            raise ValueError("started_at needs a time zone, e.g. 2026-11-23T09:30:00+05:00")
        return self

    def command(self, call_id: str, caller: ResolvedCaller, actor: str) -> LogCall:
        """The command, once the caller's card is read and their phone normalised."""
        return LogCall(
            call_id=call_id,
            client_id=self.client_id,
            direction=self.direction,
            started_at=self.started_at,
            duration_seconds=self.duration_seconds,
            answered=self.answered,
            language=self.language,
            caller=caller.kind,
            migrant_id=caller.migrant_id,
            card_number=caller.card_number,
            phone=caller.phone,
            categories=tuple(self.categories),
            services_requested=tuple(self.services_requested),
            services_provided=tuple(self.services_provided),
            information_given=self.information_given,
            notes=self.notes,
            follow_up_needed=self.follow_up_needed,
            site=self.site,
            actor=actor,
        )


class CallLink(_Strict):
    migrant_id: str = Field(min_length=1, max_length=100, description="The caller's record.")


class CallPublic(BaseModel):
    call_id: str
    client_id: str
    direction: str
    started_at: datetime
    duration_seconds: int
    answered: bool
    language: str
    caller: Literal["migrant", "phone_only", "anonymous"]
    migrant_id: str | None = Field(description="The caller's record, once known or linked.")
    card_number: str | None
    phone: str | None = Field(
        default=None, description="Helpline and admin only; null once the caller is erased."
    )
    categories: list[CallCategory]
    services_requested: list[str]
    services_provided: list[str]
    information_given: str | None
    notes: str | None = Field(
        default=None, description="Helpline and admin only; null once the caller is erased."
    )
    follow_up_needed: bool
    site: str | None
    logged_by: str
    linked_by: str | None
    linked_at: datetime | None


class CallPage(BaseModel):
    items: list[CallPublic]
    next_cursor: str | None = Field(
        description="Pass as cursor for the next page; null at the end."
    )


class Opener(Protocol):
    """What the view needs of :class:`shared.crypto.PersonalDataCipher`."""

    async def open_many(self, sealed: Mapping[str, Sealed | None]) -> dict[str, str | None]: ...


async def view(doc: Document, role: Role, cipher: Opener) -> dict[str, Any]:
    """A stored call as ``role`` may read it: phone and notes are opened only for those
    who need them, and left out (never opened) for anyone else."""
    shown: dict[str, Any] = {
        name: doc[name] for name in CallPublic.model_fields if name in doc and name != "call_id"
    }
    shown["started_at"] = utc(doc["started_at"])
    if doc.get("linked_at") is not None:
        shown["linked_at"] = utc(doc["linked_at"])
    sealed = {name: shown.pop(name, None) for name in ("phone", "notes")}
    if role in READS_PERSONAL_DATA:
        shown |= await cipher.open_many(
            {
                name: None if value is None else Sealed.model_validate(value)
                for name, value in sealed.items()
            }
        )
    return {"call_id": doc["_id"], **shown}
