"""What the cards service does on its own when the registry's facts change.

A registration that asked for a card gets one; an erased person's card is revoked; a merged
record's card is revoked in favour of the survivor's (who is issued one if they had none). Each
runs after the people projection has taken in the event, inside the same delivery, so a failure
retries both and the command record keeps the card from being issued twice.
"""

from __future__ import annotations

import logging
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession

from services.cards.context import Cards
from services.cards.domain import decide_issue, decide_revoke
from services.cards.issuing import card_time, load_holder, new_card
from services.cards.people import Person
from services.cards.writing import SYSTEM_ACTOR, append_reaction
from shared.contracts.base import Event
from shared.contracts.registry import MigrantErased, MigrantRegistered, MigrantsMerged
from shared.errors import BenSysError
from shared.messaging.consumer import Projector
from shared.messaging.envelope import Envelope

log = logging.getLogger(__name__)


def projectors(cards: Cards) -> dict[str, Projector]:
    """The people projection, with the three reactions chained after it."""
    chained: dict[str, Projector] = dict(cards.people.projectors())
    for event_class, react in (
        (MigrantRegistered, issue_if_asked),
        (MigrantErased, revoke_for_erasure),
        (MigrantsMerged, revoke_for_merge),
    ):
        chained[event_class.ce_type()] = _then(chained[event_class.ce_type()], react, cards)
    return chained


def _then(project: Projector, react: Any, cards: Cards) -> Projector:
    async def both(envelope: Envelope, event: Event, session: AsyncClientSession) -> None:
        await project(envelope, event, session)
        await react(cards, envelope, event)

    return both


async def issue_if_asked(cards: Cards, cause: Envelope, event: Event) -> None:
    assert isinstance(event, MigrantRegistered)
    if not event.issue_card:
        return
    person = Person(
        migrant_id=event.migrant_id,
        full_name=event.full_name,
        date_of_birth=event.date_of_birth,
        approximate_birth_year=event.approximate_birth_year,
        sex=event.sex,
        site=event.site,
        preferred_languages=event.preferred_languages,
        consents=frozenset(event.consent.purposes),
    )
    await _issue(cards, person, cause, trigger="registration")


async def revoke_for_erasure(cards: Cards, cause: Envelope, event: Event) -> None:
    assert isinstance(event, MigrantErased)
    holder = await load_holder(cards, event.migrant_id)
    active = holder.active_card
    if active is None:
        return
    events = decide_revoke(holder, active.number, "erased", actor=SYSTEM_ACTOR, now=card_time())
    await append_reaction(cards, holder, events, cause, "revoke")


async def revoke_for_merge(cards: Cards, cause: Envelope, event: Event) -> None:
    assert isinstance(event, MigrantsMerged)
    absorbed = await load_holder(cards, event.absorbed_id)
    old = absorbed.active_card
    if old is None:
        return
    survivor = await load_holder(cards, event.survivor_id)
    replacement = survivor.active_card
    if replacement is None:
        person = await cards.people.find(event.survivor_id)
        if person is not None:
            await _issue(cards, person, cause, trigger="merge")
            replacement = (await load_holder(cards, event.survivor_id)).active_card
    superseded_by = None if replacement is None else replacement.number
    events = decide_revoke(
        absorbed,
        old.number,
        "merged",
        superseded_by=superseded_by,
        actor=SYSTEM_ACTOR,
        now=card_time(),
    )
    await append_reaction(cards, absorbed, events, cause, "revoke")


async def _issue(cards: Cards, person: Person, cause: Envelope, *, trigger: Any) -> None:
    holder = await load_holder(cards, person.migrant_id)
    try:
        card = await new_card(cards, person, SYSTEM_ACTOR)
        events = decide_issue(holder, card, trigger)
    except BenSysError as refused:  # e.g. a registrar issued one first: nothing left to do
        log.info("no automatic card for %s: %s", person.migrant_id, refused.message)
        return
    await append_reaction(cards, holder, events, cause, "issue")
