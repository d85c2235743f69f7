"""Publishing outbox records to Kafka so that one person's events can never overtake each other.

Records are grouped by partition (the Java client's murmur2 partitioner, so every Kafka client
agrees where a key lives) and each partition's records go out as explicit record batches, one
after another. The broker appends a record batch whole or not at all, so when a batch fails no
later event for the same partition has been written ahead of it; the relay then sends the
failed batch again, in order. This is why the relay uses aiokafka's batch API directly rather
than FastStream's per-message publish.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.partitioner import murmur2

from shared.messaging.envelope import KafkaRecord


class OutboxPublisher(Protocol):
    async def publish(self, topic: str, records: Sequence[KafkaRecord]) -> dict[int, int]:
        """Put every record on ``topic`` keeping their order per key, or raise.

        Returns, per written partition, the base offset of its last batch + 1: a mark that
        the partition's reported end offset reaches as long as the broker keeps its log. (Tansu
        reports the last batch's base offset + 1 as the end offset, Kafka the true end; this
        mark is a lower bound for both.)
        """
        ...

    async def end_offsets(self, topic: str) -> dict[int, int]:
        """The end offset of each partition of ``topic`` on the broker now."""
        ...


def partition_for(key: bytes, partitions: int) -> int:
    hashed: int = murmur2(key)
    return (hashed & 0x7FFFFFFF) % partitions


class AiokafkaOutboxPublisher:
    def __init__(
        self,
        bootstrap: str,
        *,
        acks: str | int = "all",
        enable_idempotence: bool = False,
        client_id: str = "bensys-relay",
        request_timeout_ms: int = 15_000,
    ) -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks=acks,
            enable_idempotence=enable_idempotence,
            client_id=client_id,
            request_timeout_ms=request_timeout_ms,
            linger_ms=0,
        )
        self._offsets = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            client_id=f"{client_id}-offsets",
            enable_auto_commit=False,
            request_timeout_ms=request_timeout_ms,
        )

    async def start(self) -> None:
        await self._producer.start()
        await self._offsets.start()

    async def stop(self) -> None:
        await self._producer.stop()
        await self._offsets.stop()

    async def publish(self, topic: str, records: Sequence[KafkaRecord]) -> dict[int, int]:
        partitions = sorted(await self._producer.partitions_for(topic))
        by_partition: dict[int, list[KafkaRecord]] = defaultdict(list)
        for record in records:
            by_partition[partitions[partition_for(record.key, len(partitions))]].append(record)
        results = await asyncio.gather(
            *(self._publish_partition(topic, p, recs) for p, recs in by_partition.items()),
            return_exceptions=True,
        )
        ends: dict[int, int] = {}
        for partition, result in zip(by_partition, results, strict=True):
            if isinstance(result, BaseException):
                raise result
            ends[partition] = result
        return ends

    async def _publish_partition(
        self, topic: str, partition: int, records: Sequence[KafkaRecord]
    ) -> int:
        pending = list(records)
        end = 0
        while pending:
            batch = self._producer.create_batch()
            taken = 0
            for record in pending:
                headers = record.headers
                if (
                    batch.append(
                        key=record.key, value=record.value, timestamp=None, headers=headers
                    )
                    is None
                ):
                    break
                taken += 1
            if taken == 0:
                raise ValueError(
                    f"an event of {len(pending[0].value)} bytes exceeds the batch size"
                )
            future = await self._producer.send_batch(batch, topic, partition=partition)
            metadata = await future  # the next batch of this partition waits: order over speed
            end = metadata.offset + 1
            pending = pending[taken:]
        return end

    async def end_offsets(self, topic: str) -> dict[int, int]:
        partitions = await self._producer.partitions_for(topic)
        ends = await self._offsets.end_offsets([TopicPartition(topic, p) for p in partitions])
        return {tp.partition: offset for tp, offset in ends.items()}
