"""Which person holds which BenCard, from the cards service's events: search by card number.

The registry never calls the cards service (ARCHITECTURE §1); it keeps this projection of
``bensys.cards.v1`` so that a registrar or the helpline can find a person from the number on
the card in their hand, including a card since replaced (the answer says so).
"""

from __future__ import annotations

from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.cards import CardIssued, CardReplaced, CardRevoked
from shared.messaging.envelope import Envelope

CARD_NUMBERS = "card_numbers"
Document = dict[str, Any]


class CardNumbers:
    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._cards = client[database][CARD_NUMBERS]

    def projectors(self) -> dict[str, Any]:
        return {
            CardIssued.ce_type(): self.on_issued,
            CardReplaced.ce_type(): self.on_replaced,
            CardRevoked.ce_type(): self.on_revoked,
        }

    async def on_issued(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, CardIssued)
        await self._put(event.card_number, event.migrant_id, "active", session)

    async def on_replaced(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, CardReplaced)
        await self._put(event.old_card_number, event.migrant_id, "replaced", session)
        await self._put(event.card_number, event.migrant_id, "active", session)

    async def on_revoked(self, _: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, CardRevoked)
        await self._put(event.card_number, event.migrant_id, "revoked", session)

    async def _put(
        self, number: str, migrant_id: str, status: str, session: AsyncClientSession
    ) -> None:
        await self._cards.replace_one(
            {"_id": number},
            {"migrant_id": migrant_id, "status": status},
            upsert=True,
            session=session,
        )

    async def holder(self, number: str) -> Document | None:
        """``{"_id": number, "migrant_id": …, "status": …}``, or None for an unknown card."""
        return await self._cards.find_one({"_id": number})
