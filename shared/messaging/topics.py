"""Topic names and their creation: one topic per producing service, each with a dead-letter twin."""

from __future__ import annotations

import logging

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

PRODUCERS = ("registry", "cards", "distribution", "helpline", "partner")

log = logging.getLogger(__name__)


def topic_name(namespace: str, producer: str) -> str:
    return f"{namespace}.{producer}.v1"


def dead_letter_topic(topic: str) -> str:
    return f"{topic}.dlq"


def all_topics(namespace: str) -> list[str]:
    names = [topic_name(namespace, producer) for producer in PRODUCERS]
    return names + [dead_letter_topic(name) for name in names]


async def list_topics(bootstrap: str) -> set[str]:
    """The broker's topics: also how a starting service learns that the broker answers."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def ensure_topics(
    bootstrap: str, topics: list[str], *, partitions: int, replication: int = 1
) -> None:
    """Create what is missing; every service calls this at start-up, so order does not matter."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [name for name in topics if name not in existing]
        if not missing:
            return
        try:
            await admin.create_topics(
                [
                    NewTopic(name, num_partitions=partitions, replication_factor=replication)
                    for name in missing
                ]
            )
        except TopicAlreadyExistsError:
            log.debug("another service created the topics first")
    finally:
        await admin.close()
