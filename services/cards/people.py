"""What the cards service knows of people, from the registry's events alone (ARCHITECTURE §1).

Cards never calls the registry: it keeps this projection of ``bensys.registry.v1`` to know who
exists, who was merged or erased, what they consented to, and the sealed name and birth date a
card prints. Written through the consumer's session, so a redelivered event changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event, Sealed
from shared.contracts.registry import (
    ConsentRecorded,
    ConsentWithdrawn,
    MigrantDetailsCorrected,
    MigrantErased,
    MigrantRegistered,
    MigrantsMerged,
    MigrantsUnmerged,
)
from shared.errors import Conflict, Gone, NotYetKnown
from shared.messaging.envelope import Envelope

PEOPLE = "people"
Document = dict[str, Any]
_CORRECTABLE = ("full_name", "date_of_birth", "approximate_birth_year", "sex", "site")


@dataclass(frozen=True)
class Person:
    """A registered person as the cards service needs them: sealed values stay sealed."""

    migrant_id: str
    full_name: Sealed | None
    date_of_birth: Sealed | None
    approximate_birth_year: Sealed | None
    sex: Any
    site: str
    preferred_languages: tuple[str, ...]
    consents: frozenset[str]

    @property
    def shares_health_data(self) -> bool:
        """Only with this consent may a health provider see more than a card's validity."""
        return "health_vaccination" in self.consents


class PeopleProjection:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._people = client[database][PEOPLE]

    def projectors(self) -> dict[str, Any]:
        return {
            MigrantRegistered.ce_type(): self.on_registered,
            MigrantDetailsCorrected.ce_type(): self.on_corrected,
            ConsentRecorded.ce_type(): self.on_consent_recorded,
            ConsentWithdrawn.ce_type(): self.on_consent_withdrawn,
            MigrantsMerged.ce_type(): self.on_merged,
            MigrantsUnmerged.ce_type(): self.on_unmerged,
            MigrantErased.ce_type(): self.on_erased,
        }

    async def on_registered(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantRegistered)
        await self._people.replace_one(
            {"_id": event.migrant_id},
            {
                "full_name": event.full_name.model_dump(),
                "date_of_birth": _dump(event.date_of_birth),
                "approximate_birth_year": _dump(event.approximate_birth_year),
                "sex": event.sex,
                "site": event.site,
                "preferred_languages": list(event.preferred_languages),
                "consents": list(event.consent.purposes),
                "status": "active",
                "merged_into": None,
            },
            upsert=True,
            session=session,
        )

    async def on_corrected(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantDetailsCorrected)
        changes: Document = {}
        for name in event.corrected_fields:
            if name in _CORRECTABLE:
                value = getattr(event, name)
                changes[name] = value.model_dump() if isinstance(value, Sealed) else value
            elif name == "preferred_languages" and event.preferred_languages is not None:
                changes[name] = list(event.preferred_languages)
        if changes:
            await self._people.update_one(
                {"_id": event.migrant_id}, {"$set": changes}, session=session
            )

    async def on_consent_recorded(
        self, _: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, ConsentRecorded)
        await self._people.update_one(
            {"_id": event.migrant_id}, {"$addToSet": {"consents": event.purpose}}, session=session
        )

    async def on_consent_withdrawn(
        self, _: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, ConsentWithdrawn)
        await self._people.update_one(
            {"_id": event.migrant_id}, {"$pull": {"consents": event.purpose}}, session=session
        )

    async def on_merged(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantsMerged)
        await self._people.update_one(
            {"_id": event.absorbed_id},
            {"$set": {"status": "merged", "merged_into": event.survivor_id}},
            session=session,
        )

    async def on_unmerged(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantsUnmerged)
        await self._people.update_one(
            {"_id": event.absorbed_id},
            {"$set": {"status": "active", "merged_into": None}},
            session=session,
        )

    async def on_erased(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantErased)
        await self._people.update_one(
            {"_id": event.migrant_id},
            {
                "$set": {
                    "status": "erased",
                    "full_name": None,
                    "date_of_birth": None,
                    "approximate_birth_year": None,
                }
            },
            session=session,
        )

    async def person(self, migrant_id: str) -> Person:
        """The person a card is for; refuses the merged, the erased and the not yet known."""
        doc = await self._people.find_one({"_id": migrant_id})
        if doc is None:
            raise NotYetKnown(
                f"the cards service does not know migrant {migrant_id} yet: if they were just "
                "registered, retry in a few seconds; otherwise check the id"
            )
        if doc["status"] == "erased":
            raise Gone(f"migrant {migrant_id} was erased; no card can be issued for them")
        if doc["status"] == "merged":
            raise Conflict(
                f"migrant {migrant_id} was merged into {doc['merged_into']}: "
                "issue or replace that record's card instead",
                details={"merged_into": doc["merged_into"]},
            )
        return person_from(doc)

    async def find(self, migrant_id: str) -> Person | None:
        """The person whatever their status, or None: what a verification may show."""
        doc = await self._people.find_one({"_id": migrant_id})
        return None if doc is None else person_from(doc)


def person_from(doc: Document) -> Person:
    return Person(
        migrant_id=doc["_id"],
        full_name=_load(doc.get("full_name")),
        date_of_birth=_load(doc.get("date_of_birth")),
        approximate_birth_year=_load(doc.get("approximate_birth_year")),
        sex=doc["sex"],
        site=doc["site"],
        preferred_languages=tuple(doc.get("preferred_languages") or ()),
        consents=frozenset(doc.get("consents") or ()) if doc["status"] == "active" else frozenset(),
    )


def _dump(value: Sealed | None) -> Document | None:
    return None if value is None else value.model_dump()


def _load(value: Document | None) -> Sealed | None:
    return None if value is None else Sealed.model_validate(value)
