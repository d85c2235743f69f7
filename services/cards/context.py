"""What cards handlers reach beyond the shared runtime: settings, projections and the key ring."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.cards.card_index import CardIndex
from services.cards.people import PeopleProjection
from services.cards.settings import CardsSettings
from services.cards.signing import SigningKeys
from shared.auth import Principal, Role, require_roles
from shared.runtime import ServiceRuntime


@dataclass(frozen=True)
class Cards:
    runtime: ServiceRuntime
    settings: CardsSettings
    people: PeopleProjection
    index: CardIndex
    keys: SigningKeys

    @classmethod
    def on(cls, runtime: ServiceRuntime) -> Cards:
        settings = runtime.settings
        assert isinstance(settings, CardsSettings)
        return cls(
            runtime=runtime,
            settings=settings,
            people=PeopleProjection(runtime.mongo, settings.database),
            index=CardIndex(runtime.mongo, settings.database),
            keys=SigningKeys(runtime.mongo, settings.database, settings.master_key_bytes),
        )

    async def start(self) -> None:
        await self.index.ensure_indexes()
        await self.keys.start()


def get_cards(request: Request) -> Cards:
    cards: Cards = request.app.state.cards
    return cards


CardsDep = Annotated[Cards, Depends(get_cards)]
RegistrarOrAdmin = Annotated[Principal, Depends(require_roles(Role.registrar, Role.admin))]
"""Who may issue, replace, revoke and print cards."""
HealthProvider = Annotated[Principal, Depends(require_roles(Role.health_provider))]
"""Who verifies cards and records doses: health needs only, nothing else about the person."""
