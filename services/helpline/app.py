from fastapi import FastAPI

from services.helpline import calls_api, follow_ups_api, partners_api, referrals_api
from services.helpline.call_log import CallLog
from services.helpline.case_book import FollowUps, Referrals
from services.helpline.context import Helpline
from services.helpline.partners import load_partners
from services.helpline.settings import HelplineSettings
from shared.contracts.catalog import CATALOG
from shared.http.app import create_service_app
from shared.runtime import ServiceRuntime


def create_app(settings: HelplineSettings | None = None) -> FastAPI:
    made: list[Helpline] = []

    def wire(runtime: ServiceRuntime) -> None:
        helpline = Helpline.on(runtime)
        made.append(helpline)
        runtime.add_consumer(
            "helpline", helpline.facts.projectors(), CATALOG, "registry", "cards", batches=True
        )

    async def on_start(app: FastAPI, runtime: ServiceRuntime) -> None:
        helpline = made[-1]
        # A broken directory file stops the service here, before it serves a request.
        app.state.partners = load_partners(
            helpline.settings.partner_directory_file, services=helpline.catalogue.codes
        )
        database = helpline.settings.database
        await CallLog(runtime.mongo, database).ensure_indexes()
        await Referrals(runtime.mongo, database).ensure_indexes()
        await FollowUps(runtime.mongo, database).ensure_indexes()
        app.state.helpline = helpline

    return create_service_app(
        settings or HelplineSettings(),
        title="BenSys helpline",
        description="The toll-free line's calls (1458), referrals to partners, and follow-ups.",
        routers=[
            calls_api.router,
            partners_api.router,
            referrals_api.router,
            follow_ups_api.router,
        ],
        wire=wire,
        on_start=on_start,
    )
