from fastapi import FastAPI

from services.cards import api, doses_api, print_api, reactions, verify_api
from services.cards.context import Cards
from services.cards.settings import CardsSettings
from shared.contracts.catalog import CATALOG
from shared.http.app import create_service_app
from shared.runtime import ServiceRuntime


def create_app(settings: CardsSettings | None = None) -> FastAPI:
    made: list[Cards] = []

    def wire(runtime: ServiceRuntime) -> None:
        cards = Cards.on(runtime)
        made.append(cards)
        # Not in batches: the reactions read the event store, outside the consumer's session.
        runtime.add_consumer("cards", reactions.projectors(cards), CATALOG, "registry")

    async def on_start(app: FastAPI, _: ServiceRuntime) -> None:
        # The key ring loads before the consumer starts: a registration that asks for a
        # card may be the first message it receives.
        await made[-1].start()
        app.state.cards = made[-1]

    return create_service_app(
        settings or CardsSettings(),
        title="BenSys cards",
        description="Issues BenCards and verifies them for health providers.",
        # /cards/sheets before /cards/{number}, which would take "sheets" for a card number.
        routers=[print_api.router, api.router, doses_api.router, verify_api.router],
        wire=wire,
        on_start=on_start,
    )
