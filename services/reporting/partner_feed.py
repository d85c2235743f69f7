"""The partner feed: each domain event a partner subscribed to, pseudonymised, on its topic.

Reporting consumes every domain topic anyway; a consumer group of its own ("partner-feed")
turns each event into what each subscribed partner may see (:mod:`shared.contracts.partner`)
and publishes it on ``bensys.partner.v1`` before its tracking record commits. A crash between
the two republishes the message with the same ``ce_id`` (derived from the partner's secret and
the source event's id): at least once, and recognisably so.

What may leave is decided here field by field, from a list of what each partner event *has*,
never by removing what a domain event has: a field added to a domain event later stays inside
until someone decides, in this module, that a partner may see it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from pymongo.asynchronous.client_session import AsyncClientSession

from services.reporting.partners import PartnerSubscription
from shared.contracts import partner
from shared.contracts.base import Event
from shared.contracts.cards import CardIssued, DoseRecorded
from shared.contracts.distribution import DeliveryVoided, ServiceDelivered
from shared.contracts.helpline import CallLogged
from shared.contracts.registry import MigrantErased, MigrantRegistered, MigrantsMerged
from shared.messaging.consumer import Projector
from shared.messaging.envelope import CONTENT_TYPE, SPEC_VERSION, Envelope, KafkaRecord
from shared.messaging.publisher import OutboxPublisher

GROUP = "partner-feed"

Pseudonym = Callable[[str], str]


def _day(moment: datetime, zone: ZoneInfo) -> date:
    return moment.astimezone(zone).date()


def _registered(e: MigrantRegistered, p: Pseudonym, zone: ZoneInfo) -> partner.PartnerEvent:
    return partner.PersonRegistered(
        person=p(e.migrant_id),
        sex=e.sex,
        age_band=e.age_band,
        nationality=e.nationality,
        preferred_languages=e.preferred_languages,
        site=e.site,
        day=_day(e.registered_at, zone),
    )


def _merged(e: MigrantsMerged, p: Pseudonym, zone: ZoneInfo) -> partner.PartnerEvent:
    return partner.PersonsMerged(
        person=p(e.absorbed_id), survivor=p(e.survivor_id), day=_day(e.merged_at, zone)
    )


def _erased(e: MigrantErased, p: Pseudonym, zone: ZoneInfo) -> partner.PartnerEvent:
    return partner.PersonErased(person=p(e.migrant_id), day=_day(e.erased_at, zone))


def _card(e: CardIssued, p: Pseudonym, zone: ZoneInfo) -> partner.PartnerEvent:
    return partner.CardIssued(person=p(e.migrant_id), site=e.site, day=_day(e.issued_at, zone))


def _dose(e: DoseRecorded, p: Pseudonym, _: ZoneInfo) -> partner.PartnerEvent:
    return partner.DoseGiven(
        person=p(e.migrant_id),
        vaccine=e.vaccine,
        dose_number=e.dose_number,
        course_doses=e.course_doses,
        site=e.site,
        day=e.administered_on,
    )


def _delivered(e: ServiceDelivered, p: Pseudonym, zone: ZoneInfo) -> partner.PartnerEvent:
    return partner.ServiceDelivered(
        delivery=p(e.delivery_id),
        person=None if e.migrant_id is None else p(e.migrant_id),
        service=e.service,
        quantity=e.quantity,
        unit=e.unit,
        site=e.site,
        day=_day(e.delivered_at, zone),
    )


def _voided(e: DeliveryVoided, p: Pseudonym, zone: ZoneInfo) -> partner.PartnerEvent:
    return partner.DeliveryVoided(delivery=p(e.delivery_id), day=_day(e.voided_at, zone))


def _call(e: CallLogged, p: Pseudonym, zone: ZoneInfo) -> partner.PartnerEvent:
    return partner.CallLogged(
        call=p(e.call_id),
        person=None if e.migrant_id is None else p(e.migrant_id),
        direction=e.direction,
        answered=e.answered,
        duration_seconds=e.duration_seconds,
        language=e.language,
        categories=e.categories,
        services_requested=e.services_requested,
        services_provided=e.services_provided,
        site=e.site,
        day=_day(e.started_at, zone),
    )


@dataclass(frozen=True)
class _View:
    target: type[partner.PartnerEvent]
    build: Callable[[Any, Pseudonym, ZoneInfo], partner.PartnerEvent]


VIEWS: dict[type[Event], _View] = {
    MigrantRegistered: _View(partner.PersonRegistered, _registered),
    MigrantsMerged: _View(partner.PersonsMerged, _merged),
    MigrantErased: _View(partner.PersonErased, _erased),
    CardIssued: _View(partner.CardIssued, _card),
    DoseRecorded: _View(partner.DoseGiven, _dose),
    ServiceDelivered: _View(partner.ServiceDelivered, _delivered),
    DeliveryVoided: _View(partner.DeliveryVoided, _voided),
    CallLogged: _View(partner.CallLogged, _call),
}
"""Which domain event becomes which partner event: nothing else ever reaches the feed."""


def partner_view(event: Event, pseudonym: Pseudonym, zone: ZoneInfo) -> partner.PartnerEvent:
    """What a partner may see of ``event``, with every id replaced by ``pseudonym`` of it."""
    view = VIEWS.get(type(event))
    if view is None:
        raise TypeError(f"{type(event).__name__} has no partner view")
    return view.build(event, pseudonym, zone)


def partner_record(
    source: Envelope, event: Event, subscription: PartnerSubscription, zone: ZoneInfo
) -> KafkaRecord:
    """The message for one partner: CloudEvents binary mode, keyed by its subject."""
    view = partner_view(event, subscription.pseudonym, zone)
    subject = _subject(view)
    headers = {
        "ce_specversion": SPEC_VERSION,
        "ce_id": subscription.pseudonym(f"event:{source.id}"),
        "ce_source": f"/bensys/partner/{subscription.partner_id}",
        "ce_type": view.ce_type(),
        "ce_subject": subject,
        "ce_partner": subscription.partner_id,
        "content-type": CONTENT_TYPE,
    }
    return KafkaRecord(
        key=subject.encode(),
        value=json.dumps(view.to_data(), ensure_ascii=False, separators=(",", ":")).encode(),
        headers=[(name, value.encode()) for name, value in headers.items()],
    )


def _subject(view: partner.PartnerEvent) -> str:
    """The person when there is one, else the delivery or the call: the message's key."""
    for name in ("person", "delivery", "call"):
        value = getattr(view, name, None)
        if isinstance(value, str):
            return value
    raise TypeError(f"{type(view).__name__} names no subject")


class PartnerFeed:
    """Publishes each subscribed partner's view of each event it consumes."""

    def __init__(
        self,
        subscriptions: Sequence[PartnerSubscription],
        publisher: OutboxPublisher,
        topic: str,
        zone: ZoneInfo,
    ) -> None:
        self._subscriptions = tuple(subscriptions)
        self._publisher = publisher
        self._topic = topic
        self._zone = zone

    def projectors(self) -> dict[str, Projector]:
        wanted = {ce_type for s in self._subscriptions for ce_type in s.event_types}
        return {
            source.ce_type(): self.publish
            for source, view in VIEWS.items()
            if view.target.ce_type() in wanted
        }

    async def publish(self, envelope: Envelope, event: Event, _: AsyncClientSession) -> None:
        target = VIEWS[type(event)].target.ce_type()
        records = [
            partner_record(envelope, event, subscription, self._zone)
            for subscription in self._subscriptions
            if target in subscription.event_types
        ]
        if records:
            await self._publisher.publish(self._topic, records)
