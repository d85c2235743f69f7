"""Events the helpline service publishes on ``bensys.helpline.v1``: the published contract.

The subject of a call is the caller when BenSys knows them (their migrant id); an anonymous
caller, or one known only by a phone number, is the subject ``call:<id>`` with a key of their
own, so a later ``CallLinked`` joins the call to the person without rewriting it. A caller's
phone number and the notes are personal data and travel sealed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from pydantic import Field

from shared.contracts.base import Event, Sealed
from shared.contracts.catalog import CATALOG

CallCategory = Literal[
    "vaccination",
    "information",
    "relief_request",
    "health",
    "legal",
    "repatriation",
    "family_links",
    "complaint_or_feedback",
    "other",
]
ReferralOutcome = Literal["accepted", "completed", "declined", "no_response"]
CallReadPurpose = Literal["call_retried", "call_linked", "call_list", "person_calls"]


@CATALOG.register
class CallLogged(Event):
    """A call on the helpline (1458), incoming or outgoing, answered or missed."""

    producer: ClassVar[str] = "helpline"
    event_type: ClassVar[str] = "CallLogged"
    event_version: ClassVar[int] = 1

    call_id: str = Field(description="The call's id.")
    client_id: str = Field(description="The id the operator's console gave it; retries reuse it.")
    direction: Literal["incoming", "outgoing"] = Field(description="Who called whom.")
    started_at: datetime = Field(description="When the call started (UTC).")
    duration_seconds: int = Field(ge=0, description="How long it lasted; 0 when missed.")
    answered: bool = Field(description="False for a missed call.")
    language: str = Field(description="ISO 639-1 code of the language spoken, e.g. 'bn'.")
    caller: Literal["migrant", "phone_only", "anonymous"] = Field(
        description="What is known of the caller."
    )
    migrant_id: str | None = Field(
        default=None, description="The caller's record, when known; then the subject."
    )
    card_number: str | None = Field(default=None, description="The BenCard number given, if any.")
    phone: Sealed | None = Field(
        default=None, description="The caller's phone number (E.164), when given. Personal data."
    )
    categories: tuple[CallCategory, ...] = Field(description="What the call was about.")
    services_requested: tuple[str, ...] = Field(
        default=(), description="Codes from the service catalogue the caller asked for."
    )
    services_provided: tuple[str, ...] = Field(
        default=(), description="Codes from the service catalogue given or arranged."
    )
    information_given: str | None = Field(
        default=None,
        description="What the caller was told, as a topic (no personal data), e.g. "
        "'vaccination centre hours'.",
    )
    notes: Sealed | None = Field(
        default=None, description="The operator's notes about the call. Personal data."
    )
    follow_up_needed: bool = Field(description="Whether someone must call back or act.")
    site: str | None = Field(default=None, description="The site the call concerns, if any.")
    logged_by: str = Field(description="The operator.")


@CATALOG.register
class CallLinked(Event):
    """A call from someone not yet registered was joined to their record later."""

    producer: ClassVar[str] = "helpline"
    event_type: ClassVar[str] = "CallLinked"
    event_version: ClassVar[int] = 1

    call_id: str = Field(description="The call.")
    migrant_id: str = Field(description="The person it is now known to be from; the subject.")
    linked_by: str = Field(description="Who linked it.")
    linked_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class ReferralMade(Event):
    """A caller was referred to an organisation in the partner directory."""

    producer: ClassVar[str] = "helpline"
    event_type: ClassVar[str] = "ReferralMade"
    event_version: ClassVar[int] = 1

    referral_id: str = Field(description="The referral.")
    call_id: str | None = Field(default=None, description="The call it came from, if any.")
    migrant_id: str | None = Field(
        default=None, description="The person referred, when registered; then the subject."
    )
    partner: str = Field(description="Code of the organisation in the partner directory.")
    service: str | None = Field(default=None, description="Catalogue code of what is sought.")
    consent_override_reason: str | None = Field(
        default=None,
        description="Set when an admin referred a registered person without their consent to "
        "partner_referral, and why (as a reason, never naming anyone: it is stored in clear).",
    )
    referred_by: str = Field(description="Who referred.")
    referred_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class ReferralClosed(Event):
    """The partner's answer to a referral: accepted, completed, declined or no response."""

    producer: ClassVar[str] = "helpline"
    event_type: ClassVar[str] = "ReferralClosed"
    event_version: ClassVar[int] = 1

    referral_id: str = Field(description="The referral.")
    migrant_id: str | None = Field(default=None, description="The person, if registered.")
    outcome: ReferralOutcome = Field(description="What came of it.")
    recorded_by: str = Field(description="Who recorded the outcome.")
    recorded_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class FollowUpScheduled(Event):
    """Someone must call back or act by a due date."""

    producer: ClassVar[str] = "helpline"
    event_type: ClassVar[str] = "FollowUpScheduled"
    event_version: ClassVar[int] = 1

    follow_up_id: str = Field(description="The follow-up.")
    call_id: str | None = Field(default=None, description="The call it came from, if any.")
    migrant_id: str | None = Field(default=None, description="The person, if registered.")
    due_on: date = Field(description="The day it must be done by.")
    assignee: str = Field(description="Who must do it (a staff subject).")
    scheduled_by: str = Field(description="Who scheduled it.")
    scheduled_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class FollowUpCompleted(Event):
    """A follow-up was done, with its outcome."""

    producer: ClassVar[str] = "helpline"
    event_type: ClassVar[str] = "FollowUpCompleted"
    event_version: ClassVar[int] = 1

    follow_up_id: str = Field(description="The follow-up.")
    migrant_id: str | None = Field(default=None, description="The person, if registered.")
    outcome: Literal["reached", "not_reached", "resolved", "referred", "other"] = Field(
        description="What came of it."
    )
    completed_by: str = Field(description="Who did it.")
    completed_at: datetime = Field(description="When (UTC).")


@CATALOG.register
class CallDetailsRead(Event):
    """Someone was shown callers' phone numbers or call notes (ARCHITECTURE §5: every read of
    personal data is itself an event).

    One event per answer, on a stream of its own (``reads:<id>``) so that reading never races
    a write. Its subject is the caller when the answer was about one caller; an answer listing
    several callers names them all in ``subjects``.
    """

    producer: ClassVar[str] = "helpline"
    event_type: ClassVar[str] = "CallDetailsRead"
    event_version: ClassVar[int] = 1

    call_ids: tuple[str, ...] = Field(description="The calls whose phone or notes were shown.")
    subjects: tuple[str, ...] = Field(
        description="Their callers: migrant ids, or call:<id> for callers with no record."
    )
    erased: tuple[str, ...] = Field(
        default=(), description="Calls among them whose details were unreadable (erased)."
    )
    reader: str = Field(description="Who read them.")
    role: str = Field(description="The reader's role.")
    purpose: CallReadPurpose = Field(description="Which answer showed them.")
    read_at: datetime = Field(description="When (UTC).")
