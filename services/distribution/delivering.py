"""Recording one delivery: for ``POST /deliveries`` and for each item of a batch alike.

The client id is the idempotency key: the first answer is stored with the event, so a device
that sends the same delivery again (or the same batch) gets that answer back and nothing is
recorded twice. A delivery to a person is appended to that person's stream at the version the
ledger holds, so two deliveries racing past one entitlement rule cannot both win.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import uuid_utils
from fastapi import Request

from services.distribution.context import Distribution, require_site
from services.distribution.domain import Deliver, decide_delivery
from services.distribution.schemas import DeliveryCreate
from shared.auth import Principal, Role
from shared.bencard.numbers import InvalidCardNumber, normalise_card_number
from shared.commands import append_decided, fingerprint, previous_answer
from shared.errors import Invalid
from shared.eventstore.model import ConcurrencyConflict, utc_now

ATTEMPTS = 3
"""A delivery that lost a race for the person's stream is decided again, this many times."""


def delivery_command(client_id: str) -> str:
    return f"delivery:{client_id}"


async def already_answered(
    distribution: Distribution, body: DeliveryCreate
) -> dict[str, Any] | None:
    return await previous_answer(
        distribution.runtime,
        delivery_command(body.client_id),
        fingerprint(body.model_dump(mode="json")),
    )


async def record_delivery(
    distribution: Distribution, request: Request, principal: Principal, body: DeliveryCreate
) -> dict[str, Any]:
    """Record ``body``, or return the answer its client id already got."""
    require_site(principal, body.site)
    previous = await already_answered(distribution, body)
    if previous is not None:
        return {**previous, "replayed": True}
    entry = distribution.catalogue.get(body.service)
    now = utc_now()
    at = body.delivered_at or now
    migrant_id, card_number = await _recipient(distribution, body, at)
    if entry.requires_card and migrant_id is not None and card_number is None:
        card_number = await distribution.facts.active_card_of(migrant_id, at)
        if card_number is None:
            raise Invalid(
                f"{entry.code} needs a valid BenCard and this person has none: issue one first"
            )
    stream = migrant_id if migrant_id is not None else f"delivery:{body.client_id}"
    command = Deliver(
        delivery_id=str(uuid_utils.uuid7()),
        client_id=body.client_id,
        service=entry.code,
        quantity=body.quantity,
        site=body.site,
        delivered_at=at,
        actor=principal.subject,
        migrant_id=migrant_id,
        card_number=card_number,
        organisation=body.organisation,
        override_reason=body.override_reason,
        may_override=principal.role in {Role.manager, Role.admin},
    )
    for attempt in range(1, ATTEMPTS + 1):
        past = (
            await distribution.ledger.around(migrant_id, entry.code, at, entry.entitlement.per_days)
            if migrant_id is not None and entry.entitlement is not None
            else []
        )
        event = decide_delivery(entry, command, past, now)
        answer: dict[str, Any] = event.model_dump(mode="json")
        try:
            return await append_decided(
                distribution.runtime,
                request,
                principal,
                stream_id=stream,
                expected_version=await distribution.ledger.version(stream),
                events=[event],
                answer=_always(answer),
                command=delivery_command(body.client_id),
                request_fingerprint=fingerprint(body.model_dump(mode="json")),
                subject=stream if migrant_id is not None else event.delivery_id,
                inline=distribution.ledger.project,
            )
        except ConcurrencyConflict:
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _always(answer: dict[str, Any]) -> Callable[[int], dict[str, Any]]:
    """The answer does not depend on the version the delivery lands at."""
    return lambda _: answer


async def _recipient(
    distribution: Distribution, body: DeliveryCreate, at: Any
) -> tuple[str | None, str | None]:
    if body.organisation is not None:
        return None, None
    card_number = None
    migrant_id = body.migrant_id
    if body.card_number is not None:
        try:
            card_number = normalise_card_number(body.card_number)
        except InvalidCardNumber as error:
            raise Invalid(str(error)) from None
        card = await distribution.facts.card(card_number, at)
        if migrant_id is not None and migrant_id != card["migrant_id"]:
            raise Invalid(f"BenCard {card_number} does not belong to migrant {migrant_id}")
        migrant_id = card["migrant_id"]
    assert migrant_id is not None
    await distribution.facts.person(migrant_id)
    return migrant_id, card_number
