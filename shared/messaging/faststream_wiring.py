"""Wires idempotent consumers and the dead-letter topic onto a FastStream ``KafkaBroker``.

``NACK_ON_ERROR``: the offset is committed after the handler returns; if it raises (the database
is away), FastStream seeks back and the message is delivered again. Never ``ACK_FIRST`` for a
consumer that changes state (STYLE, faststream anchor).
"""

from __future__ import annotations

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage

from shared.messaging.consumer import MAX_BATCH, IdempotentConsumer, ReceivedMessage
from shared.messaging.topics import dead_letter_topic


class FastStreamDeadLetters:
    """Sends a message that cannot be processed to ``<topic>.dlq`` with why, and who gave up."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def dead_letter(self, message: ReceivedMessage, *, group: str, reason: str) -> None:
        headers = {name: value.decode(errors="replace") for name, value in message.headers}
        headers.update(
            {
                "bensys_dlq_reason": reason[:2000],
                "bensys_dlq_group": group,
                "bensys_dlq_topic": message.topic,
                "bensys_dlq_partition": str(message.partition),
                "bensys_dlq_offset": str(message.offset),
            }
        )
        key = _subject_key(message)
        await self._broker.publish(
            message.value, dead_letter_topic(message.topic), key=key, headers=headers
        )


def _subject_key(message: ReceivedMessage) -> bytes | None:
    for name, value in message.headers:
        if name == "ce_subject":
            return value
    return None


QUIET_POLL_MS = 50
"""How long a fetch waits for a first record; FastStream then sleeps as long before the next
fetch, so this bounds the delay a quiet topic adds to an event (its default is 200 ms)."""


def subscribe(broker: KafkaBroker, consumer: IdempotentConsumer, *topics: str) -> None:
    """Hand what each fetch brings (up to MAX_BATCH records) to ``consumer`` as one batch.

    A fetch returns at once whatever has arrived, so a quiet topic still sees each event as
    soon as it comes; a busy one gets one transaction and one offset commit per batch.
    """

    @broker.subscriber(
        *topics,
        group_id=consumer.group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        batch=True,
        max_records=MAX_BATCH,
        batch_timeout_ms=QUIET_POLL_MS,
    )
    async def on_messages(msg: KafkaMessage) -> None:
        raw = msg.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        await consumer.handle_batch(
            [
                ReceivedMessage(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    headers=list(record.headers),
                    value=record.value,
                )
                for record in records
            ]
        )
