"""What the helpline knows from other services' events: who exists, their consent, their cards.

The helpline never calls the registry or the cards service (ARCHITECTURE §1). A referral of a
registered person needs their consent to ``partner_referral``, which arrives here from the
registry's events; a caller who gives a card number is found through the cards' events.
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.cards import CardIssued, CardReplaced
from shared.contracts.registry import (
    ConsentRecorded,
    ConsentWithdrawn,
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

    def projectors(self) -> dict[str, Any]:
        return {
            MigrantRegistered.ce_type(): self.on_registered,
            ConsentRecorded.ce_type(): self.on_consent_recorded,
            ConsentWithdrawn.ce_type(): self.on_consent_withdrawn,
            MigrantsMerged.ce_type(): self.on_merged,
            MigrantsUnmerged.ce_type(): self.on_unmerged,
            MigrantErased.ce_type(): self.on_erased,
            CardIssued.ce_type(): self.on_card,
            CardReplaced.ce_type(): self.on_card,
        }

    async def on_registered(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantRegistered)
        await self._people.replace_one(
            {"_id": event.migrant_id},
            {
                "site": event.site,
                "consents": list(event.consent.purposes),
                "status": "active",
                "merged_into": None,
            },
            upsert=True,
            session=session,
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
            {"_id": event.migrant_id}, {"$set": {"status": "erased"}}, session=session
        )

    async def on_card(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, CardIssued | CardReplaced)
        await self._cards.replace_one(
            {"_id": event.card_number},
            {"migrant_id": event.migrant_id},
            upsert=True,
            session=session,
        )

    async def person(self, migrant_id: str) -> Document:
        """A person the helpline may record something for: not unknown (yet), erased, merged."""
        doc = await self._people.find_one({"_id": migrant_id})
        if doc is None:
            raise NotYetKnown(
                f"the helpline does not know migrant {migrant_id} yet: if they were just "
                "registered, retry in a few seconds; otherwise check the id"
            )
        if doc["status"] == "erased":
            raise Gone(f"migrant {migrant_id} was erased; nothing more can be recorded for them")
        if doc["status"] == "merged":
            raise Conflict(
                f"migrant {migrant_id} was merged into {doc['merged_into']}: use that record",
                details={"merged_into": doc["merged_into"]},
            )
        return doc

    async def consents_to(self, migrant_id: str, purpose: str) -> bool:
        doc = await self.person(migrant_id)
        return purpose in doc.get("consents", [])

    async def holder_of(self, card_number: str) -> str:
        """The migrant id behind a card number (any card they were ever given)."""
        doc = await self._cards.find_one({"_id": card_number})
        if doc is None:
            raise NotYetKnown(
                f"the helpline does not know BenCard {card_number}: check the number, or give "
                "the migrant id"
            )
        migrant_id: str = doc["migrant_id"]
        return migrant_id
