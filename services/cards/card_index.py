"""The cards service's own read model: card number → holder and status, and doses by holder.

Written inline, in the transaction that appends the events (ARCHITECTURE §3), so a card that was
just replaced or revoked stops verifying at the very next request: there is no lag to exploit.
Sealed values stay sealed here; only a verification or a print opens them.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.cards import CardIssued, CardReplaced, CardRevoked, DoseRecorded
from shared.contracts.catalog import CATALOG
from shared.eventstore.model import StoredEvent

CARDS = "cards"
DOSES = "doses"
Document = dict[str, Any]


class CardIndex:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._cards = client[database][CARDS]
        self._doses = client[database][DOSES]

    async def ensure_indexes(self) -> None:
        await self._cards.create_index([("migrant_id", ASCENDING)])
        await self._cards.create_index([("status", ASCENDING)])
        await self._cards.create_index([("site", ASCENDING), ("status", ASCENDING)])
        await self._doses.create_index([("migrant_id", ASCENDING)])

    async def project(self, session: AsyncClientSession | None, stored: list[StoredEvent]) -> None:
        """The inline projection: pass as ``inline=`` to the event store's append."""
        for record in stored:
            event = CATALOG.decode(record.type, record.data)
            if isinstance(event, CardIssued | CardReplaced):
                await self._cards.insert_one(_card_document(event), session=session)
            if isinstance(event, CardReplaced):
                await self._retire(
                    event.old_card_number, "replaced", event.reason, event.card_number, session
                )
            elif isinstance(event, CardRevoked):
                await self._retire(
                    event.card_number, "revoked", event.reason, event.superseded_by, session
                )
            elif isinstance(event, DoseRecorded):
                await self._doses.insert_one(
                    {
                        "_id": event.dose_id,
                        "migrant_id": event.migrant_id,
                        "card_number": event.card_number,
                        "vaccine": event.vaccine,
                        "dose_number": event.dose_number,
                        "administered_on": event.administered_on.isoformat(),
                        "centre": event.centre,
                    },
                    session=session,
                )

    async def _retire(
        self,
        number: str,
        status: str,
        reason: str,
        superseded_by: str | None,
        session: AsyncClientSession | None,
    ) -> None:
        await self._cards.update_one(
            {"_id": number},
            {"$set": {"status": status, "reason": reason, "superseded_by": superseded_by}},
            session=session,
        )

    async def card(self, number: str) -> Document | None:
        return await self._cards.find_one({"_id": number})

    async def cards_of(self, migrant_id: str) -> list[Document]:
        return await self._cards.find({"migrant_id": migrant_id}).sort("issued_at", 1).to_list()

    async def active_cards_at(self, site: str, limit: int) -> list[Document]:
        return await (
            self._cards.find({"site": site, "status": "active"}).sort("_id", 1).limit(limit)
        ).to_list()

    async def doses_of(self, migrant_id: str) -> list[Document]:
        return await (
            self._doses.find({"migrant_id": migrant_id}, {"_id": 0, "migrant_id": 0})
            .sort([("vaccine", 1), ("dose_number", 1)])
            .to_list()
        )

    async def retired_numbers(self) -> list[str]:
        """Every card that must no longer verify: what the offline revocation list covers."""
        cursor = self._cards.find({"status": {"$ne": "active"}}, {"_id": 1})
        return [doc["_id"] async for doc in cursor]


def _card_document(event: CardIssued | CardReplaced) -> Document:
    return {
        "_id": event.card_number,
        "migrant_id": event.migrant_id,
        "status": "active",
        "reason": None,
        "superseded_by": None,
        "printed_name": event.printed_name.model_dump(),
        "sex": event.sex,
        "birth_year": None if event.birth_year is None else event.birth_year.model_dump(),
        "issued_at": event.issued_at,
        "expires_at": event.expires_at,
        "key_id": event.key_id,
        "site": event.site,
    }
