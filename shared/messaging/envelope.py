"""CloudEvents 1.0 over Kafka, binary mode (ARCHITECTURE §2).

The body is the event's data as JSON; everything about the event travels in ``ce_*`` headers, so
a partner can route and audit without parsing bodies, and the CloudEvents SDK's Kafka binding
reads our messages as they are. The key is the subject's id: everything about one person lands
in one partition, in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.eventstore.model import StoredEvent, format_time

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/json"


class MalformedEnvelope(ValueError):
    """A message that is not a BenSys CloudEvent: it goes to the dead-letter topic."""


@dataclass(frozen=True)
class KafkaRecord:
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass(frozen=True)
class Envelope:
    """A received event: its CloudEvents attributes and its data, not yet decoded to a model."""

    id: str
    source: str
    type: str
    subject: str
    time: datetime
    sequence: int
    actor: str
    site: str | None
    correlation_id: str
    causation_id: str | None
    chainhash: str
    traceparent: str | None
    data: dict[str, Any]


def to_kafka_record(event: StoredEvent, *, service: str) -> KafkaRecord:
    headers: dict[str, str | None] = {
        "ce_specversion": SPEC_VERSION,
        "ce_id": event.event_id,
        "ce_source": f"/bensys/{service}",
        "ce_type": event.type,
        "ce_subject": event.subject,
        "ce_time": format_time(event.occurred_at),
        "content-type": CONTENT_TYPE,
        "ce_sequence": str(event.version),
        "ce_actor": event.actor,
        "ce_site": event.site,
        "ce_correlationid": event.correlation_id,
        "ce_causationid": event.causation_id,
        "ce_chainhash": event.chainhash,
        "traceparent": event.traceparent,
    }
    return KafkaRecord(
        key=event.subject.encode(),
        value=json.dumps(event.data, ensure_ascii=False, separators=(",", ":")).encode(),
        headers=[(name, value.encode()) for name, value in headers.items() if value is not None],
    )


def from_kafka_record(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, str | bytes], value: bytes
) -> Envelope:
    h = _header_map(headers)
    if h.get("ce_specversion") != SPEC_VERSION:
        raise MalformedEnvelope(f"ce_specversion is {h.get('ce_specversion')!r}, expected 1.0")
    missing = [
        name
        for name in ("ce_id", "ce_source", "ce_type", "ce_subject", "ce_time", "ce_sequence")
        if not h.get(name)
    ]
    if missing:
        raise MalformedEnvelope(f"missing CloudEvents headers: {', '.join(missing)}")
    try:
        data = json.loads(value)
        time = datetime.fromisoformat(h["ce_time"])
        sequence = int(h["ce_sequence"])
    except (ValueError, TypeError) as exc:
        raise MalformedEnvelope(f"unreadable event {h['ce_id']}: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedEnvelope(f"event {h['ce_id']} body is not a JSON object")
    return Envelope(
        id=h["ce_id"],
        source=h["ce_source"],
        type=h["ce_type"],
        subject=h["ce_subject"],
        time=time,
        sequence=sequence,
        actor=h.get("ce_actor", ""),
        site=h.get("ce_site"),
        correlation_id=h.get("ce_correlationid", h["ce_id"]),
        causation_id=h.get("ce_causationid"),
        chainhash=h.get("ce_chainhash", ""),
        traceparent=h.get("traceparent"),
        data=data,
    )


def _header_map(
    headers: Iterable[tuple[str, bytes]] | Mapping[str, str | bytes],
) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    decoded: dict[str, str] = {}
    for name, raw in items:
        try:
            decoded[name] = raw.decode() if isinstance(raw, bytes) else str(raw)
        except UnicodeDecodeError as exc:
            raise MalformedEnvelope(f"header {name} is not UTF-8") from exc
    return decoded
