"""Consumer lag per group and partition: how far each consumer group is behind its topics.

Lag is the broker's end offset of a partition less the offset the group last committed there
(everything, for a group that never committed). It is the one number that says whether reports
and projections are current, and what an autoscaler scales on; it is measured here, from the
broker, rather than from inside the consumer, so a consumer that is stuck still shows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from prometheus_client import Gauge

log = logging.getLogger(__name__)

EndOffsets = Callable[[str], Awaitable[dict[int, int]]]


@dataclass(frozen=True)
class Subscription:
    group: str
    topics: tuple[str, ...]


class ConsumerLagWatcher:
    """Sets ``gauge{group, topic, partition}`` from the broker every ``interval`` seconds."""

    def __init__(
        self,
        bootstrap: str,
        end_offsets: EndOffsets,
        gauge: Gauge,
        subscriptions: Sequence[Subscription],
        *,
        interval_seconds: float,
    ) -> None:
        self._bootstrap = bootstrap
        self._end_offsets = end_offsets
        self._gauge = gauge
        self._subscriptions = subscriptions
        self._interval = interval_seconds

    async def measure(self) -> dict[tuple[str, str, int], int]:
        """The lag of every subscribed partition now, also written to the gauge."""
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        lags: dict[tuple[str, str, int], int] = {}
        try:
            for subscription in self._subscriptions:
                ends = {
                    TopicPartition(topic, partition): end
                    for topic in subscription.topics
                    for partition, end in (await self._end_offsets(topic)).items()
                }
                # Partitions named: asking for "all of the group's" is not answered by every
                # broker (Tansu's reply to it does not decode).
                committed = await admin.list_consumer_group_offsets(
                    subscription.group, partitions=list(ends)
                )
                for tp, end in ends.items():
                    meta = committed.get(tp)
                    done = meta.offset if meta is not None and meta.offset > 0 else 0
                    lags[(subscription.group, tp.topic, tp.partition)] = max(end - done, 0)
        finally:
            await admin.close()
        for (group, topic, partition), lag in lags.items():
            self._gauge.labels(group=group, topic=topic, partition=str(partition)).set(lag)
        return lags

    async def run(self) -> None:
        """Until cancelled; a broker that does not answer leaves the last figures standing."""
        while True:
            try:
                await self.measure()
            except (KafkaError, OSError, TimeoutError) as error:
                log.warning("could not measure consumer lag: %r", error)
            await asyncio.sleep(self._interval)
