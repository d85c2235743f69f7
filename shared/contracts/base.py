"""The base of every published event: an explicit wire name, an integer version, frozen data.

Wire names never come from a class path (STYLE habit 3): renaming a class must not change what
partners and auditors read. ``ce_type`` is ``bensys.<producer>.<EventName>.v<version>``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """A past-tense fact in the programme's words. Subclasses set the three class variables."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    producer: ClassVar[str]
    event_type: ClassVar[str]
    event_version: ClassVar[int]

    @classmethod
    def ce_type(cls) -> str:
        return f"bensys.{cls.producer}.{cls.event_type}.v{cls.event_version}"

    def to_data(self) -> dict[str, Any]:
        """The body that goes on the wire and into the event store."""
        return self.model_dump(mode="json")


class EventPart(BaseModel):
    """A value nested inside events (a consent, an address): frozen and strict like them."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Sealed(BaseModel):
    """A piece of personal data encrypted with its subject's own key (AES-256-GCM).

    Destroying the subject's key (erasure) leaves this unreadable everywhere it was copied:
    event stores, topics, dead-letter topics, backups and replays.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    alg: Literal["A256GCM"] = Field(default="A256GCM", description="Always AES-256-GCM.")
    kid: str = Field(description="Id of the subject's data key in the key vault.")
    iv: str = Field(description="The 96-bit nonce, base64url without padding.")
    ct: str = Field(description="Ciphertext followed by the 128-bit tag, base64url.")
