"""What distribution knows from other services' events: who exists, and which cards are valid.

Distribution never calls the registry or the cards service (ARCHITECTURE §1); it keeps this
projection of their topics. When a fact has not arrived yet the API says so with a 409 and
``Retry-After``, and never guesses.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.cards import CardIssued, CardReplaced, CardRevoked
from shared.contracts.registry import (
    MigrantDetailsCorrected,
    MigrantErased,
    MigrantRegistered,
    MigrantsMerged,
    MigrantsUnmerged,
)
from shared.errors import Conflict, Gone, NotYetKnown
from shared.messaging.envelope import Envelope

PEOPLE = "people"
CARDS = "cards"
Document = dict[str, Any]


class KnownFacts:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._people = client[database][PEOPLE]
        self._cards = client[database][CARDS]

    async def ensure_indexes(self) -> None:
        await self._cards.create_index([("migrant_id", ASCENDING), ("status", ASCENDING)])

    def projectors(self) -> dict[str, Any]:
        return {
            MigrantRegistered.ce_type(): self.on_registered,
            MigrantDetailsCorrected.ce_type(): self.on_corrected,
            MigrantsMerged.ce_type(): self.on_merged,
            MigrantsUnmerged.ce_type(): self.on_unmerged,
            MigrantErased.ce_type(): self.on_erased,
            CardIssued.ce_type(): self.on_card,
            CardReplaced.ce_type(): self.on_card,
            CardRevoked.ce_type(): self.on_card_revoked,
        }

    async def on_registered(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantRegistered)
        await self._people.replace_one(
            {"_id": event.migrant_id},
            {"site": event.site, "status": "active", "merged_into": None},
            upsert=True,
            session=session,
        )

    async def on_corrected(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantDetailsCorrected)
        if event.site is not None:
            await self._set_person(event.migrant_id, {"site": event.site}, session)

    async def on_merged(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantsMerged)
        changes = {"status": "merged", "merged_into": event.survivor_id}
        await self._set_person(event.absorbed_id, changes, session)

    async def on_unmerged(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantsUnmerged)
        await self._set_person(
            event.absorbed_id, {"status": "active", "merged_into": None}, session
        )

    async def on_erased(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantErased)
        await self._set_person(event.migrant_id, {"status": "erased"}, session)

    async def on_card(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, CardIssued | CardReplaced)
        if isinstance(event, CardReplaced):
            await self._set_card(event.old_card_number, "replaced", session)
        await self._cards.replace_one(
            {"_id": event.card_number},
            {
                "migrant_id": event.migrant_id,
                "status": "active",
                "issued_at": event.issued_at,
                "expires_at": event.expires_at,
            },
            upsert=True,
            session=session,
        )

    async def on_card_revoked(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, CardRevoked)
        await self._set_card(event.card_number, "revoked", session)

    async def _set_person(
        self, migrant_id: str, changes: Document, session: AsyncClientSession
    ) -> None:
        await self._people.update_one({"_id": migrant_id}, {"$set": changes}, session=session)

    async def _set_card(self, number: str, status: str, session: AsyncClientSession) -> None:
        await self._cards.update_one({"_id": number}, {"$set": {"status": status}}, session=session)

    async def person(self, migrant_id: str) -> Document:
        """A person relief can go to: refuses the unknown (yet), the erased and the merged."""
        doc = await self._people.find_one({"_id": migrant_id})
        if doc is None:
            raise NotYetKnown(
                f"distribution does not know migrant {migrant_id} yet: if they were just "
                "registered, retry in a few seconds; otherwise check the id"
            )
        if doc["status"] == "erased":
            raise Gone(f"migrant {migrant_id} was erased; nothing more can be recorded for them")
        if doc["status"] == "merged":
            raise Conflict(
                f"migrant {migrant_id} was merged into {doc['merged_into']}: "
                "record it for that person instead",
                details={"merged_into": doc["merged_into"]},
            )
        return doc

    async def card(self, number: str, at: datetime) -> Document:
        """A card that is valid at ``at``: its holder is who the delivery goes to."""
        doc = await self._cards.find_one({"_id": number})
        if doc is None:
            raise NotYetKnown(
                f"distribution does not know BenCard {number}: if it was just issued, retry in "
                "a few seconds; otherwise check the number"
            )
        if doc["status"] != "active":
            raise Conflict(
                f"BenCard {number} was {doc['status']} and is no longer valid: ask for the "
                "holder's current card",
                details={"card_status": doc["status"]},
            )
        if not _utc(doc["issued_at"]) <= at < _utc(doc["expires_at"]):
            raise Conflict(
                f"BenCard {number} was not valid on {at.date()}: it is valid from "
                f"{_utc(doc['issued_at']).date()} until {_utc(doc['expires_at']).date()}",
                details={
                    "card_status": "expired" if at >= _utc(doc["expires_at"]) else "not_yet_valid"
                },
            )
        return doc

    async def active_card_of(self, migrant_id: str, at: datetime) -> str | None:
        async for doc in self._cards.find({"migrant_id": migrant_id, "status": "active"}):
            if _utc(doc["issued_at"]) <= at < _utc(doc["expires_at"]):
                number: str = doc["_id"]
                return number
        return None


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
