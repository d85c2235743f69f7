"""The partner feed's pieces: subscriptions, pseudonyms, and what of each event leaves."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_binary
from cloudevents.core.formats.json import JSONFormat

from services.reporting.partner_feed import VIEWS, PartnerFeed, partner_record
from services.reporting.partners import (
    PartnerSettingsError,
    PartnerSubscription,
    load_partners,
    partner_event_names,
)
from shared.contracts.base import Event, Sealed
from shared.contracts.cards import CardIssued, DoseRecorded
from shared.contracts.distribution import DeliveryVoided, ServiceDelivered
from shared.contracts.helpline import CallLogged
from shared.contracts.registry import (
    ConsentGiven,
    MigrantErased,
    MigrantRegistered,
    MigrantsMerged,
)
from shared.messaging.envelope import Envelope, KafkaRecord, from_kafka_record

ZONE = ZoneInfo("Indian/Maldives")
LATE_EVENING = datetime(2026, 11, 12, 20, 30, tzinfo=UTC)  # already the 13th in Malé
MIGRANT = str(uuid.uuid4())
OTHER = str(uuid.uuid4())
CARD = "2345-6789-ABC".replace("-", "")
CANARY = Sealed(kid="canary-key", iv="Y2FuYXJ5aXY", ct="Q0FOQVJZLU5BTUUtQ0lQSEVSVEVYVA")
SECRET_A = "a" * 40
SECRET_B = "b" * 40


def subscription(partner_id: str, secret: str, *events: str) -> PartnerSubscription:
    names = partner_event_names()
    return PartnerSubscription(
        partner_id, partner_id.upper(), secret.encode(), frozenset(names[e] for e in events)
    )


EVERYTHING = tuple(partner_event_names())


def domain_events() -> list[Event]:
    """One of each event the feed takes, about a canary person, with every id distinct."""
    return [
        MigrantRegistered(
            migrant_id=MIGRANT, full_name=CANARY, date_of_birth=CANARY, sex="female",
            age_band="25-34", nationality="BD", preferred_languages=("bn",), site="Kdh Atoll",
            consent=ConsentGiven(purposes=("registration",), method="verbal", notice_language="bn"),
            issue_card=True, registered_by="registrar-7", registered_at=LATE_EVENING,
            phone=CANARY, address=CANARY, employer=CANARY),
        MigrantsMerged(absorbed_id=OTHER, survivor_id=MIGRANT, score=0.93, reason="same person",
                       merged_by="registrar-7", merged_at=LATE_EVENING),
        MigrantErased(migrant_id=OTHER, reason="duplicate_record", erased_by="admin-1",
                      erased_at=LATE_EVENING),
        CardIssued(migrant_id=MIGRANT, card_number=CARD, printed_name=CANARY, sex="female",
                   issued_at=LATE_EVENING, expires_at=LATE_EVENING.replace(year=2028),
                   key_id="k1", site="Kdh Atoll", trigger="registration", issued_by="system"),
        DoseRecorded(dose_id=str(uuid.uuid4()), migrant_id=MIGRANT, card_number=CARD,
                     vaccine="measles_rubella", dose_number=1, course_doses=2,
                     administered_on=date(2026, 11, 13), centre="Kulhudhuffushi Hospital",
                     site="Kdh Atoll", recorded_by="nurse-3", recorded_at=LATE_EVENING),
        ServiceDelivered(delivery_id=str(uuid.uuid4()), client_id="tablet-1:9", migrant_id=MIGRANT,
                         card_number=CARD, service="food_parcel", quantity=1, unit="parcel",
                         site="Kdh Atoll", delivered_at=LATE_EVENING, delivered_by="volunteer-2"),
        DeliveryVoided(delivery_id=str(uuid.uuid4()), migrant_id=MIGRANT, reason="entered twice",
                       voided_by="volunteer-2", voided_at=LATE_EVENING),
        CallLogged(call_id=str(uuid.uuid4()), client_id="console-1:3", direction="incoming",
                   started_at=LATE_EVENING, duration_seconds=120, answered=True, language="bn",
                   caller="migrant", migrant_id=MIGRANT, card_number=CARD, phone=CANARY,
                   categories=("vaccination",), services_requested=("food_parcel",),
                   services_provided=(), information_given="the clinic opens at eight",
                   notes=CANARY, follow_up_needed=False, site="Kdh Atoll",
                   logged_by="operator-1"),
    ]  # fmt: skip


def envelope_of(event: Event) -> Envelope:
    return from_kafka_record(
        {
            "ce_specversion": "1.0",
            "ce_id": str(uuid.uuid4()),
            "ce_source": f"/bensys/{event.producer}",
            "ce_type": event.ce_type(),
            "ce_subject": MIGRANT,
            "ce_time": "2026-11-12T20:30:00.000Z",
            "ce_sequence": "1",
        },
        json.dumps(event.to_data()).encode(),
    )


def identifiers(event: Event) -> set[str]:
    """Every id, number and sealed value of ``event``: none may reach a partner."""
    data = event.to_data()
    found = {
        v
        for k, v in data.items()
        if isinstance(v, str) and (k.endswith("_id") or k == "card_number")
    }
    found |= {CANARY.ct, CANARY.kid, "registrar-7", "volunteer-2", "operator-1", "nurse-3"}
    found |= {"the clinic opens at eight", "Kulhudhuffushi Hospital"}
    return found


def test_every_mapped_event_leaves_without_ids_personal_data_or_moments() -> None:
    a = subscription("iom", SECRET_A, *EVERYTHING)
    for event in domain_events():
        record = partner_record(envelope_of(event), event, a, ZONE)
        wire = record.value.decode() + json.dumps([(k, v.decode()) for k, v in record.headers])
        for secret in identifiers(event):
            assert secret not in wire, f"{secret} left in {type(event).__name__}"
        assert "20:30" not in wire
        assert "ce_time" not in wire
        assert "2026-11-13" in wire  # the programme's calendar day, not the UTC one


def test_pseudonyms_are_128_bit_stable_per_partner_and_differ_between_partners() -> None:
    a, b = subscription("iom", SECRET_A, *EVERYTHING), subscription("who", SECRET_B, *EVERYTHING)
    assert a.pseudonym(MIGRANT) == a.pseudonym(MIGRANT)
    assert len(a.pseudonym(MIGRANT)) == 32
    assert int(a.pseudonym(MIGRANT), 16) >= 0
    assert a.pseudonym(MIGRANT) != b.pseudonym(MIGRANT)
    assert a.pseudonym(MIGRANT) != a.pseudonym(OTHER)
    merged = json.loads(
        partner_record(envelope_of(domain_events()[1]), domain_events()[1], a, ZONE).value
    )
    registered = json.loads(
        partner_record(envelope_of(domain_events()[0]), domain_events()[0], a, ZONE).value
    )
    assert merged["survivor"] == registered["person"]  # one partner can follow one person
    assert SECRET_A not in repr(a)


def test_a_redelivered_event_keeps_its_id_and_each_partner_gets_its_own() -> None:
    a, b = subscription("iom", SECRET_A, *EVERYTHING), subscription("who", SECRET_B, *EVERYTHING)
    event = domain_events()[0]
    envelope = envelope_of(event)

    def header(record: KafkaRecord, name: str) -> str:
        return dict(record.headers)[name].decode()

    first, again = (
        partner_record(envelope, event, a, ZONE),
        partner_record(envelope, event, a, ZONE),
    )
    other = partner_record(envelope, event, b, ZONE)
    assert header(first, "ce_id") == header(again, "ce_id") != header(other, "ce_id")
    assert header(first, "ce_partner") == "iom"
    assert first.key == header(first, "ce_subject").encode() == a.pseudonym(MIGRANT).encode()


def test_every_partner_message_parses_with_the_cloudevents_sdk() -> None:
    a = subscription("iom", SECRET_A, *EVERYTHING)
    for event in domain_events():
        record = partner_record(envelope_of(event), event, a, ZONE)
        parsed = from_binary(
            KafkaMessage(
                headers=dict(record.headers),
                key=record.key,
                value=record.value,
            ),
            JSONFormat(),
        )
        assert parsed.get_type() == VIEWS[type(event)].target.ce_type()
        assert parsed.get_source() == "/bensys/partner/iom"
        assert parsed.get_data() == json.loads(record.value)


class Sent:
    def __init__(self) -> None:
        self.records: list[tuple[str, KafkaRecord]] = []

    async def publish(self, topic: str, records: Any) -> dict[int, int]:
        self.records += [(topic, record) for record in records]
        return {}

    async def end_offsets(self, topic: str) -> dict[int, int]:
        return {}


async def test_each_partner_gets_only_the_events_its_subscription_names() -> None:
    sent = Sent()
    feed = PartnerFeed(
        [
            subscription("iom", SECRET_A, "ServiceDelivered"),
            subscription("who", SECRET_B, "DoseGiven"),
        ],
        sent,
        "bensys.partner.v1",
        ZONE,
    )
    assert set(feed.projectors()) == {ServiceDelivered.ce_type(), DoseRecorded.ce_type()}
    for event in domain_events():
        if event.ce_type() in feed.projectors():
            await feed.publish(envelope_of(event), event, None)  # type: ignore[arg-type]
    by_partner = {dict(r.headers)["ce_partner"].decode(): r for _, r in sent.records}
    assert {topic for topic, _ in sent.records} == {"bensys.partner.v1"}
    assert dict(by_partner["iom"].headers)["ce_type"] == b"bensys.partner.ServiceDelivered.v1"
    assert dict(by_partner["who"].headers)["ce_type"] == b"bensys.partner.DoseGiven.v1"
    assert len(sent.records) == 2


def write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


GOOD = 'name = "IOM Maldives"\nsecret_env = "IOM_SECRET"\nevents = ["PersonRegistered"]\n'


def test_a_partner_file_is_read_with_its_secret_from_the_environment(tmp_path: Path) -> None:
    write(tmp_path, "iom.toml", GOOD)
    [iom] = load_partners(tmp_path, {"IOM_SECRET": SECRET_A})
    assert iom.partner_id == "iom"
    assert iom.name == "IOM Maldives"
    assert iom.event_types == {"bensys.partner.PersonRegistered.v1"}
    assert iom.secret == SECRET_A.encode()


WITH_SECRET = {"IOM_SECRET": SECRET_A}
NO_EVENTS = GOOD.replace('events = ["PersonRegistered"]', "events = []")


@pytest.mark.parametrize(
    ("name", "text", "environ", "says"),
    [
        ("iom.toml", GOOD, {}, "IOM_SECRET must hold the partner's secret"),
        ("iom.toml", GOOD, {"IOM_SECRET": "short"}, "at least 32 characters"),
        ("iom.toml", GOOD.replace("Person", "Migrant"), WITH_SECRET, "no partner event is called"),
        ("iom.toml", GOOD + 'secret = "inline"\n', WITH_SECRET, "unknown setting(s) secret"),
        ("iom.toml", "name = ", WITH_SECRET, "not valid TOML"),
        ("IOM Maldives.toml", GOOD, WITH_SECRET, "the file name is the partner's id"),
        ("iom.toml", NO_EVENTS, WITH_SECRET, "must name at least one of"),
    ],
)  # fmt: skip
def test_a_bad_partner_file_is_refused_with_what_to_fix(
    tmp_path: Path, name: str, text: str, environ: dict[str, str], says: str
) -> None:
    write(tmp_path, name, text)
    with pytest.raises(PartnerSettingsError) as refused:
        load_partners(tmp_path, environ)
    assert says in str(refused.value)
    assert name in str(refused.value)


def test_the_readme_example_partner_file_loads(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("# partners/iom.toml")
    example = readme[start : readme.index("```", start)]
    write(tmp_path, "iom.toml", example)
    [iom] = load_partners(tmp_path, {"BENSYS_PARTNER_SECRET_IOM": SECRET_A})
    assert iom.name == "IOM Maldives"
    assert len(iom.event_types) == 3
