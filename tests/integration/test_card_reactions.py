"""The cards service's reactions to the registry, on a real MongoDB: each happens once however
often its event is delivered, and the issuer key ring survives restarts and rotation."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from services.cards import reactions
from services.cards.context import Cards
from services.cards.issuing import load_holder
from services.cards.settings import CardsSettings
from services.cards.signing import SigningKeys
from shared.contracts.base import Event
from shared.contracts.registry import (
    ConsentGiven,
    MigrantErased,
    MigrantRegistered,
    MigrantsMerged,
)
from shared.messaging.envelope import Envelope
from shared.observability.metrics import ServiceMetrics
from shared.runtime import ServiceRuntime

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
async def cards(
    mongo_url_: str, kafka_bootstrap: str, namespace: str, db_name: str
) -> AsyncIterator[Cards]:
    settings = CardsSettings(
        mongo_url=mongo_url_,
        kafka_bootstrap=kafka_bootstrap,
        topic_namespace=namespace,
        mongo_database=db_name,
        vault_database=f"{db_name}_vault",
    )
    runtime = ServiceRuntime(settings, ServiceMetrics())  # the broker is never started here
    context = Cards.on(runtime)
    await context.start()
    try:
        yield context
    finally:
        await runtime.stop()


async def registered(cards: Cards, name: str, *, issue_card: bool = True) -> MigrantRegistered:
    migrant_id = str(uuid.uuid4())
    return MigrantRegistered(
        migrant_id=migrant_id,
        full_name=await cards.runtime.cipher.seal(migrant_id, name),
        approximate_birth_year=await cards.runtime.cipher.seal(migrant_id, "1990"),
        sex="male",
        age_band="35-44",
        nationality="BD",
        preferred_languages=("bn",),
        site="Seenu Atoll",
        consent=ConsentGiven(purposes=("registration",), method="verbal", notice_language="bn"),
        issue_card=issue_card,
        registered_by="registrar-1",
        registered_at=NOW,
    )


async def deliver(cards: Cards, event: Event, subject: str, *, times: int = 1) -> None:
    """Deliver ``event`` as the consumer would, in a transaction, ``times`` times over."""
    envelope = Envelope(
        id=str(uuid.uuid4()),
        source="/bensys/registry",
        type=event.ce_type(),
        subject=subject,
        time=NOW,
        sequence=1,
        actor="registrar-1",
        site="Seenu Atoll",
        correlation_id=str(uuid.uuid4()),
        causation_id=None,
        chainhash="",
        traceparent=None,
        data=event.to_data(),
    )
    project = reactions.projectors(cards)[event.ce_type()]
    for _ in range(times):
        async with cards.runtime.mongo.start_session() as session:

            async def apply(session: Any) -> None:
                await project(envelope, event, session)

            await session.with_transaction(apply)


async def test_a_registration_delivered_three_times_issues_one_card(cards: Cards) -> None:
    # Given a registration that asked for a card
    event = await registered(cards, "Abdul Karim")
    # When it is delivered three times (redeliveries after a crash)
    await deliver(cards, event, event.migrant_id, times=3)
    # Then the person has exactly one card, active
    holder = await load_holder(cards, event.migrant_id)
    assert holder.version == 1
    assert len(await cards.index.cards_of(event.migrant_id)) == 1
    assert holder.active_card is not None


async def test_a_registration_without_the_option_issues_none(cards: Cards) -> None:
    event = await registered(cards, "Abdul Karim", issue_card=False)
    await deliver(cards, event, event.migrant_id)
    assert await cards.index.cards_of(event.migrant_id) == []
    assert (await cards.people.person(event.migrant_id)).site == "Seenu Atoll"


async def test_a_merge_revokes_the_absorbed_card_in_favour_of_a_new_survivor_card(
    cards: Cards,
) -> None:
    # Given two records of one man: the absorbed one with a card, the survivor without
    absorbed = await registered(cards, "Md. Rahim")
    survivor = await registered(cards, "Mohammed Rahim", issue_card=False)
    await deliver(cards, absorbed, absorbed.migrant_id)
    await deliver(cards, survivor, survivor.migrant_id)
    [old_card] = await cards.index.cards_of(absorbed.migrant_id)
    # When the registry merges them, and the event is delivered twice
    merged = MigrantsMerged(
        absorbed_id=absorbed.migrant_id,
        survivor_id=survivor.migrant_id,
        score=0.9,
        reason="same person",
        merged_by="registrar-1",
        merged_at=NOW,
    )
    await deliver(cards, merged, absorbed.migrant_id, times=2)
    # Then the survivor has one new card, and the absorbed card points to it
    [new_card] = await cards.index.cards_of(survivor.migrant_id)
    revoked = await cards.index.card(old_card["_id"])
    assert revoked is not None
    assert (revoked["status"], revoked["reason"], revoked["superseded_by"]) == (
        "revoked",
        "merged",
        new_card["_id"],
    )
    assert (await load_holder(cards, absorbed.migrant_id)).version == 2


async def test_erasure_revokes_the_card_once(cards: Cards) -> None:
    event = await registered(cards, "Kamal Hossain")
    await deliver(cards, event, event.migrant_id)
    erased = MigrantErased(
        migrant_id=event.migrant_id, reason="person_request", erased_by="admin-1", erased_at=NOW
    )
    await deliver(cards, erased, event.migrant_id, times=2)
    [card] = await cards.index.cards_of(event.migrant_id)
    assert (card["status"], card["reason"]) == ("revoked", "erased")
    assert (await load_holder(cards, event.migrant_id)).version == 2


async def test_the_key_ring_is_created_once_rotates_and_keeps_old_keys(cards: Cards) -> None:
    settings = cards.settings
    # Given two replicas starting at once on the ring the fixture created
    rings = [
        SigningKeys(cards.runtime.mongo, settings.database, settings.master_key_bytes)
        for _ in range(2)
    ]
    await asyncio.gather(*(ring.start() for ring in rings))
    assert rings[0].active.kid == rings[1].active.kid == cards.keys.active.kid
    # When one rotates
    first = cards.keys.active.kid
    new = await rings[0].rotate()
    # Then the new key signs, the old one still verifies, and a restart sees both
    restarted = SigningKeys(cards.runtime.mongo, settings.database, settings.master_key_bytes)
    await restarted.start()
    assert restarted.active.kid == new.kid
    assert set(restarted.public_keys()) == {first, new.kid}
    # And the ring does not open with another master key
    stranger = SigningKeys(cards.runtime.mongo, settings.database, b"\x01" * 32)
    with pytest.raises(InvalidTag):
        await stranger.start()
