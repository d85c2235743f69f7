"""The composition root of a service: builds every client and port once, starts and stops them.

Nothing here connects at import time (STYLE habit 12). A service's ``app`` module registers its
consumers on the runtime before ``start``; handlers reach the runtime through the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

from aiokafka.errors import KafkaError
from faststream.kafka import KafkaBroker
from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from shared.contracts.catalog import EventCatalog
from shared.crypto import MongoKeyVault, PersonalDataCipher
from shared.eventstore.mongo import MongoEventStore
from shared.messaging.consumer import IdempotentConsumer, Outcome, Projector
from shared.messaging.faststream_wiring import FastStreamDeadLetters, subscribe
from shared.messaging.lease import MongoLease
from shared.messaging.publisher import AiokafkaOutboxPublisher
from shared.messaging.relay import OutboxRelay
from shared.messaging.topics import all_topics, ensure_topics, list_topics
from shared.observability.lag import ConsumerLagWatcher, Subscription
from shared.observability.metrics import ServiceMetrics
from shared.settings import ServiceSettings

log = logging.getLogger(__name__)


class ServiceRuntime:
    def __init__(self, settings: ServiceSettings, metrics: ServiceMetrics) -> None:
        self.settings = settings
        self.metrics = metrics
        wait_ms = int(settings.mongo_server_wait_seconds * 1000)
        self.mongo: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
            settings.mongo_url,
            w=1 if settings.mongo_write_concern == "1" else "majority",
            journal=settings.mongo_journal,
            serverSelectionTimeoutMS=wait_ms,
            connectTimeoutMS=wait_ms,
            socketTimeoutMS=int(settings.mongo_socket_timeout_seconds * 1000),
        )
        self.store = MongoEventStore(self.mongo, settings.database)
        self.vault = MongoKeyVault(self.mongo, settings.vault_database, settings.master_key_bytes)
        self.cipher = PersonalDataCipher(self.vault)
        self.topic = settings.topic(settings.service_name)
        self.publisher = AiokafkaOutboxPublisher(
            settings.kafka_bootstrap,
            acks=settings.kafka_acks,
            enable_idempotence=settings.kafka_enable_idempotence,
            client_id=f"bensys-{settings.service_name}-relay",
        )
        self.relay = OutboxRelay(
            self.store,
            self.publisher,
            service=settings.service_name,
            topic=self.topic,
            batch_size=settings.relay_batch_size,
            idle_seconds=settings.relay_idle_seconds,
            refill_grace_seconds=settings.relay_refill_grace_seconds,
            observe=self._observe_relay,
            lease=MongoLease(
                self.mongo,
                settings.database,
                name=self.topic,
                holder=f"{settings.service_name}-{uuid.uuid4()}",
            ),
        )
        self.broker = KafkaBroker(
            settings.kafka_bootstrap,
            client_id=f"bensys-{settings.service_name}",
            # "Received"/"Processed" for every message cost ~7% of consumer throughput (bench/).
            log_level=logging.DEBUG,
        )
        self.consumers: list[IdempotentConsumer] = []
        self._subscriptions: list[Subscription] = []
        self.lag = ConsumerLagWatcher(
            settings.kafka_bootstrap,
            self.publisher.end_offsets,
            metrics.consumer_lag,
            self._subscriptions,
            interval_seconds=settings.consumer_lag_interval_seconds,
        )
        self._relay_task: asyncio.Task[None] | None = None
        self._lag_task: asyncio.Task[None] | None = None

    def _observe_relay(self, published: int, backlog: int) -> None:
        """``backlog`` is what the last look at the outbox saw, capped at one batch."""
        self.metrics.relay_published.inc(published)
        self.metrics.relay_backlog.set(backlog)

    def add_consumer(
        self,
        group: str,
        projectors: Mapping[str, Projector],
        catalog: EventCatalog,
        *producers: str,
        batches: bool = False,
    ) -> IdempotentConsumer:
        """Project other services' topics into this service's database, exactly once;
        ``batches`` when every projector works only through its session (see the consumer)."""
        consumer = IdempotentConsumer(
            client=self.mongo,
            database=self.settings.database,
            group=group,
            projectors=projectors,
            catalog=catalog,
            dead_letters=FastStreamDeadLetters(self.broker),
            max_attempts=self.settings.consumer_max_attempts,
            retry_backoff_seconds=self.settings.consumer_retry_backoff_seconds,
            on_outcome=lambda event_type, outcome: self._count(group, event_type, outcome),
            batches=batches,
        )
        topics = tuple(self.settings.topic(p) for p in producers)
        subscribe(self.broker, consumer, *topics)
        self.consumers.append(consumer)
        self._subscriptions.append(Subscription(group, topics))
        return consumer

    def _count(self, group: str, event_type: str, outcome: Outcome) -> None:
        if outcome is Outcome.APPLIED:
            self.metrics.consumer_processed.labels(group=group, type=event_type).inc()
        elif outcome is Outcome.DUPLICATE:
            self.metrics.consumer_duplicates.labels(group=group).inc()
        elif outcome is Outcome.DEAD_LETTERED:
            self.metrics.consumer_dead_lettered.labels(group=group).inc()

    async def wait_for_servers(self) -> None:
        """Wait, within ``startup_wait_seconds``, until the database and the broker answer.

        Services start beside their servers (``bensys up``, compose, Kubernetes): a server
        that opened its port but is still warming up is a reason to wait, not to exit.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.startup_wait_seconds
        probes = (
            ("database", self.database_answers),
            ("broker", lambda: list_topics(self.settings.kafka_bootstrap)),
        )
        for name, probe in probes:
            while True:
                try:
                    await asyncio.wait_for(probe(), timeout=10)
                    break
                except (PyMongoError, KafkaError, OSError, TimeoutError) as error:
                    if loop.time() > deadline:
                        raise
                    log.warning("waiting for the %s to answer: %r", name, error)
                    await asyncio.sleep(1)

    async def start(self) -> None:
        await self.store.ensure_indexes()
        await self.vault.ensure_indexes()
        await ensure_topics(
            self.settings.kafka_bootstrap,
            all_topics(self.settings.topic_namespace),
            partitions=self.settings.kafka_partitions,
            replication=self.settings.kafka_replication_factor,
        )
        await self.publisher.start()
        await self.broker.start()
        self._relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")
        if self._subscriptions:
            self._lag_task = asyncio.create_task(self.lag.run(), name="consumer-lag")
        log.info("%s started", self.settings.service_name)

    async def stop(self, *, step_timeout: float = 5.0) -> None:
        """Each step has a deadline: a broker or database that is already gone must not keep
        a stopping service alive (nothing is lost: unpublished events stay in the outbox,
        unprocessed messages are redelivered)."""
        for task in (self._relay_task, self._lag_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self._relay_task is not None:
            with contextlib.suppress(PyMongoError, TimeoutError):
                await asyncio.wait_for(self.relay.release(), timeout=step_timeout)
        for name, step in (
            ("consumers", self.broker.stop),
            ("relay producer", self.publisher.stop),
            ("database client", self.mongo.close),
        ):
            try:
                await asyncio.wait_for(step(), timeout=step_timeout)
            except TimeoutError:
                log.warning("stopping the %s took over %.0fs; leaving it", name, step_timeout)

    async def database_answers(self) -> None:
        await self.mongo.admin.command("ping")

    async def broker_answers(self) -> None:
        await self.publisher.end_offsets(self.topic)
