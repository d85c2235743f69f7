"""Turning decided events into stored ones: ids, times and the chain, alike in every adapter."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import uuid_utils

from shared.eventstore.model import EventMetadata, PendingEvent, StoredEvent


def new_event_id() -> str:
    """UUIDv7: unique everywhere, and sorts by creation time (ARCHITECTURE §2, ``ce_id``)."""
    return str(uuid_utils.uuid7())


def build_stored_events(
    *,
    stream_id: str,
    first_version: int,
    first_position: int,
    previous_chainhash: str,
    events: Sequence[PendingEvent],
    metadata: EventMetadata,
    occurred_at: datetime,
) -> list[StoredEvent]:
    stored: list[StoredEvent] = []
    previous = previous_chainhash
    for offset, pending in enumerate(events):
        event_id = new_event_id()
        unhashed = StoredEvent(
            event_id=event_id,
            stream_id=stream_id,
            version=first_version + offset,
            position=first_position + offset,
            type=pending.type,
            subject=pending.subject or stream_id,
            data=pending.data,
            occurred_at=occurred_at,
            actor=metadata.actor,
            site=metadata.site,
            correlation_id=metadata.correlation_id or event_id,
            causation_id=metadata.causation_id,
            traceparent=metadata.traceparent,
            chainhash="",
        )
        previous = unhashed.expected_chainhash(previous)
        stored.append(replace(unhashed, chainhash=previous))
    return stored
