"""The daily outputs sheet: what the programme did on one day, at one site or all of them.

One small fact per event (no personal data: a person is their id), dated by the programme's
own calendar (``BENSYS_REPORT_TIMEZONE``, Malé time by default), because a food parcel handed
over at 02:00 in Malé belongs to that Malé day, not to the UTC day before. Relief delivered
comes from :class:`services.reporting.deliveries.DeliveryCounts`, dated the same way.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.cards import CardIssued, DoseRecorded
from shared.contracts.helpline import CallLogged
from shared.contracts.registry import MigrantRegistered
from shared.messaging.envelope import Envelope

FACTS = "activity_facts"
NO_SITE = "(no site)"
"""The site of a call about no site in particular: counted in the all-sites sheet only."""


def local_day(moment: datetime, zone: ZoneInfo) -> str:
    """The programme's calendar day of a UTC moment, as YYYY-MM-DD."""
    return moment.astimezone(zone).date().isoformat()


class DailyActivities:
    """Registrations, cards issued, doses and calls, one fact each, by local day and site."""

    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str, zone: ZoneInfo):
        self._facts = client[database][FACTS]
        self._zone = zone

    async def ensure_indexes(self) -> None:
        await self._facts.create_index([("day", ASCENDING), ("site", ASCENDING)])

    def projectors(self) -> dict[str, Any]:
        return {
            MigrantRegistered.ce_type(): self.on_registered,
            CardIssued.ce_type(): self.on_card_issued,
            DoseRecorded.ce_type(): self.on_dose,
            CallLogged.ce_type(): self.on_call,
        }

    async def on_registered(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantRegistered)
        await self._add(
            env, "registration", event.registered_at, event.site, session, sex=event.sex
        )

    async def on_card_issued(
        self, env: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, CardIssued)
        await self._add(env, "card_issued", event.issued_at, event.site, session)

    async def on_dose(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, DoseRecorded)
        await self._facts.insert_one(
            {
                "_id": env.id,
                "kind": "dose",
                "day": event.administered_on.isoformat(),  # a date given at the centre
                "site": event.site,
                "migrant_id": event.migrant_id,
                "vaccine": event.vaccine,
            },
            session=session,
        )

    async def on_call(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, CallLogged)
        await self._add(
            env,
            "call",
            event.started_at,
            event.site or NO_SITE,
            session,
            direction=event.direction,
            answered=event.answered,
        )

    async def _add(
        self,
        env: Envelope,
        kind: str,
        moment: datetime,
        site: str,
        session: AsyncClientSession,
        **attributes: Any,
    ) -> None:
        await self._facts.insert_one(
            {"_id": env.id, "kind": kind, "day": local_day(moment, self._zone), "site": site}
            | attributes,
            session=session,
        )

    async def day(self, day: date, site: str | None) -> dict[str, Any]:
        """The day's counts; doses count both doses given and people who had one."""
        query: dict[str, Any] = {"day": day.isoformat()}
        if site is not None:
            query["site"] = site
        kinds: Counter[str] = Counter()
        registered_by_sex: Counter[str] = Counter()
        calls: Counter[str] = Counter()
        vaccinated: set[str] = set()
        async for fact in self._facts.find(query):
            kinds[fact["kind"]] += 1
            if fact["kind"] == "registration":
                registered_by_sex[fact["sex"]] += 1
            elif fact["kind"] == "dose":
                vaccinated.add(fact["migrant_id"])
            elif fact["kind"] == "call":
                calls[fact["direction"]] += 1
                calls["answered" if fact["answered"] else "missed"] += 1
        return {
            "registrations": {
                "total": kinds["registration"],
                "by_sex": {sex: registered_by_sex[sex] for sex in SEXES},
            },
            "cards_issued": kinds["card_issued"],
            "doses": {"given": kinds["dose"], "people": len(vaccinated)},
            "calls": {
                "total": kinds["call"],
                **{key: calls[key] for key in ("incoming", "outgoing", "answered", "missed")},
            },
        }


SEXES = ("female", "male", "other", "undisclosed")
