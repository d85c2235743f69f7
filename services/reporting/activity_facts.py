"""One small fact per event that a daily or monthly report counts, dated by the programme's
own calendar.

Facts carry no personal data (a person is their id) and are dated in
``BENSYS_REPORT_TIMEZONE`` (Malé time by default): a food parcel handed over at 02:00 in Malé
belongs to that Malé day, not to the UTC day before. Counting happens when a report is read,
over the facts of its period, so a new report needs no new projection of old events, and a
report "as of" a past moment counts only the facts of events recorded by then (``at``, the
event's time). Relief
delivered is kept apart, by :class:`services.reporting.deliveries.DeliveryCounts`.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession

from shared.contracts.base import Event
from shared.contracts.cards import CardIssued, CardReplaced, CardRevoked, DoseRecorded
from shared.contracts.helpline import (
    CallLogged,
    FollowUpCompleted,
    FollowUpScheduled,
    ReferralClosed,
    ReferralMade,
)
from shared.contracts.registry import MigrantRegistered, MigrantsMerged, MigrantsUnmerged
from shared.messaging.consumer import Projector
from shared.messaging.envelope import Envelope

FACTS = "activity_facts"
NO_SITE = "(no site)"
"""The site of a call or referral about no site in particular: in all-sites reports only."""


def local_day(moment: datetime, zone: ZoneInfo) -> str:
    """The programme's calendar day of a UTC moment, as YYYY-MM-DD."""
    return moment.astimezone(zone).date().isoformat()


class ActivityFacts:
    def __init__(self, client: AsyncMongoClient[dict[str, Any]], database: str, zone: ZoneInfo):
        self._facts = client[database][FACTS]
        self._zone = zone

    async def ensure_indexes(self) -> None:
        await self._facts.create_index([("day", ASCENDING), ("site", ASCENDING)])
        await self._facts.create_index([("kind", ASCENDING), ("migrant_id", ASCENDING)])

    def projectors(self) -> dict[str, Projector]:
        return {
            MigrantRegistered.ce_type(): self.on_registered,
            MigrantsMerged.ce_type(): self.on_merged,
            MigrantsUnmerged.ce_type(): self.on_unmerged,
            CardIssued.ce_type(): self.on_card_issued,
            CardReplaced.ce_type(): self.on_card_replaced,
            CardRevoked.ce_type(): self.on_card_revoked,
            DoseRecorded.ce_type(): self.on_dose,
            CallLogged.ce_type(): self.on_call,
            ReferralMade.ce_type(): self.on_referral,
            ReferralClosed.ce_type(): self.on_referral_closed,
            FollowUpScheduled.ce_type(): self.on_follow_up,
            FollowUpCompleted.ce_type(): self.on_follow_up_done,
        }

    async def on_registered(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantRegistered)
        await self._add(
            env,
            "registration",
            event.registered_at,
            event.site,
            session,
            migrant_id=event.migrant_id,
            sex=event.sex,
            age_band=event.age_band,
            nationality=event.nationality,
        )

    async def on_merged(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantsMerged)
        await self._person_change(env, "merge", event.absorbed_id, event.merged_at, session)

    async def on_unmerged(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, MigrantsUnmerged)
        await self._person_change(env, "unmerge", event.absorbed_id, event.unmerged_at, session)

    async def _person_change(
        self,
        env: Envelope,
        kind: str,
        migrant_id: str,
        moment: datetime,
        session: AsyncClientSession,
    ) -> None:
        """A merge takes the absorbed record out of the people counted, where it was counted."""
        registered = await self._facts.find_one(
            {"kind": "registration", "migrant_id": migrant_id}, session=session
        )
        if registered is None:
            raise KeyError(f"{kind} of {migrant_id} before their registration")
        await self._add(
            env,
            kind,
            moment,
            registered["site"],
            session,
            migrant_id=migrant_id,
            sex=registered["sex"],
            age_band=registered["age_band"],
        )

    async def on_card_issued(
        self, env: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, CardIssued)
        await self._add(
            env, "card_issued", event.issued_at, event.site, session, card=event.card_number
        )

    async def on_card_replaced(
        self, env: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, CardReplaced)
        await self._add(
            env, "card_issued", event.issued_at, event.site, session, card=event.card_number
        )
        await self._retire(env, event.old_card_number, event.issued_at, session, suffix=":old")

    async def on_card_revoked(
        self, env: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, CardRevoked)
        await self._retire(env, event.card_number, event.revoked_at, session)

    async def _retire(
        self,
        env: Envelope,
        card: str,
        moment: datetime,
        session: AsyncClientSession,
        suffix: str = "",
    ) -> None:
        issued = await self._facts.find_one({"kind": "card_issued", "card": card}, session=session)
        site = NO_SITE if issued is None else issued["site"]
        await self._add(env, "card_retired", moment, site, session, card=card, id_suffix=suffix)

    async def on_dose(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, DoseRecorded)
        await self._facts.insert_one(
            {
                "_id": env.id,
                "at": env.time,
                "kind": "dose",
                "day": event.administered_on.isoformat(),  # a date given at the centre
                "site": event.site,
                "migrant_id": event.migrant_id,
                "vaccine": event.vaccine,
                "completes_course": event.dose_number >= event.course_doses,
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
            language=event.language,
            categories=list(event.categories),
            services_requested=list(event.services_requested),
            services_provided=list(event.services_provided),
        )

    async def on_referral(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, ReferralMade)
        await self._add(
            env,
            "referral",
            event.referred_at,
            NO_SITE,
            session,
            referral=event.referral_id,
            partner=event.partner,
            overridden=event.consent_override_reason is not None,
        )

    async def on_referral_closed(
        self, env: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, ReferralClosed)
        await self._add(
            env,
            "referral_outcome",
            event.recorded_at,
            NO_SITE,
            session,
            referral=event.referral_id,
            outcome=event.outcome,
        )

    async def on_follow_up(self, env: Envelope, event: Event, session: AsyncClientSession) -> None:
        assert isinstance(event, FollowUpScheduled)
        await self._add(
            env,
            "follow_up",
            event.scheduled_at,
            NO_SITE,
            session,
            follow_up=event.follow_up_id,
            due_on=event.due_on.isoformat(),
        )

    async def on_follow_up_done(
        self, env: Envelope, event: Event, session: AsyncClientSession
    ) -> None:
        assert isinstance(event, FollowUpCompleted)
        await self._add(
            env,
            "follow_up_done",
            event.completed_at,
            NO_SITE,
            session,
            follow_up=event.follow_up_id,
        )

    async def _add(
        self,
        env: Envelope,
        kind: str,
        moment: datetime,
        site: str,
        session: AsyncClientSession,
        *,
        id_suffix: str = "",
        **attributes: Any,
    ) -> None:
        await self._facts.insert_one(
            {
                "_id": env.id + id_suffix,
                "at": env.time,
                "kind": kind,
                "day": local_day(moment, self._zone),
                "site": site,
            }
            | attributes,
            session=session,
        )

    async def between(
        self,
        first: date,
        last: date,
        site: str | None,
        kinds: tuple[str, ...] = (),
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Facts dated ``first`` to ``last`` inclusive (``first`` may be date.min), of the
        events recorded up to ``as_of`` when given: the report as it read then."""
        query: dict[str, Any] = {"day": {"$lte": last.isoformat()}}
        if as_of is not None:
            query["at"] = {"$lte": as_of}
        if first != date.min:
            query["day"]["$gte"] = first.isoformat()
        if site is not None:
            query["site"] = site
        if kinds:
            query["kind"] = {"$in": list(kinds)}
        return await self._facts.find(query).to_list()

    async def month_and_before(
        self,
        first: date,
        last: date,
        site: str | None,
        before_kinds: tuple[str, ...],
        as_of: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """In one query: every fact dated ``first`` to ``last``, and the facts of
        ``before_kinds`` dated before ``first`` (what "to date" figures add up)."""
        query: dict[str, Any] = {
            "day": {"$lte": last.isoformat()},
            "$or": [{"day": {"$gte": first.isoformat()}}, {"kind": {"$in": list(before_kinds)}}],
        }
        if as_of is not None:
            query["at"] = {"$lte": as_of}
        if site is not None:
            query["site"] = site
        return await self._facts.find(query).to_list()

    async def sexes_of(self, migrant_ids: set[str]) -> dict[str, str]:
        """Each person's sex as registered (reports disaggregate by it)."""
        cursor = self._facts.find(
            {"kind": "registration", "migrant_id": {"$in": sorted(migrant_ids)}},
            {"migrant_id": 1, "sex": 1},
        )
        return {doc["migrant_id"]: doc["sex"] async for doc in cursor}
