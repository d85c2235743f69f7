"""The test harness: real servers, started once per session; a unique namespace per test.

By default the embedded servers (Tansu and SecantusDB) start on free ports. With
``BENSYS_TEST_BACKEND=containers`` and a Docker engine that answers, the same tests run against
Apache Kafka and MongoDB through testcontainers instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from bensys.embedded import ManagedProcess, free_port, mongo_url, secantus, tansu


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    mongo_url: str
    backend: str


@pytest.fixture(scope="session")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    backend = os.environ.get("BENSYS_TEST_BACKEND", "embedded")
    if backend == "containers":
        yield from _container_servers()
        return
    if backend != "embedded":
        pytest.exit(f"BENSYS_TEST_BACKEND must be 'embedded' or 'containers', not {backend!r}", 2)
    base = tmp_path_factory.mktemp("servers")
    broker = tansu(free_port(), base / "logs")
    database = secantus(free_port(), base / "mongo", base / "logs")
    broker.start()
    database.start()
    try:
        yield Servers(f"127.0.0.1:{broker.port}", mongo_url(database.port), "embedded")
    finally:
        broker.stop()
        database.stop()


def _container_servers() -> Iterator[Servers]:
    try:
        import docker  # type: ignore[import-untyped]  # noqa: PLC0415

        docker.from_env().ping()
    except Exception as exc:
        pytest.exit(f"BENSYS_TEST_BACKEND=containers but Docker does not answer: {exc}", 2)
    from testcontainers.kafka import KafkaContainer  # noqa: PLC0415
    from testcontainers.mongodb import MongoDbContainer  # noqa: PLC0415

    kafka_image = KafkaContainer("apache/kafka:3.9.1").with_kraft()
    mongo_image = MongoDbContainer("mongo:8.0").with_command("--replSet rs0")
    with kafka_image as kafka, mongo_image as mongo:
        mongo.exec('mongosh --quiet --eval "rs.initiate()"')
        host, port = mongo.get_container_host_ip(), mongo.get_exposed_port(27017)
        yield Servers(
            kafka.get_bootstrap_server(),
            f"mongodb://{host}:{port}/?directConnection=true",
            "containers",
        )


@pytest.fixture
def kafka_bootstrap(servers: Servers) -> str:
    return servers.kafka_bootstrap


@pytest.fixture
def mongo_url_(servers: Servers) -> str:
    return servers.mongo_url


@pytest.fixture
async def mongo_client(servers: Servers) -> AsyncIterator[AsyncMongoClient[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(servers.mongo_url)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def db_name() -> str:
    """A database of the test's own: tests never see each other's data."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def namespace() -> str:
    """A topic namespace of the test's own: ``<namespace>.registry.v1`` and so on."""
    return f"t{uuid.uuid4().hex[:12]}"


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    path = tmp_path / "logs"
    path.mkdir()
    return path


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[ManagedProcess]:
    """A Tansu broker of the test's own, for tests that kill and restart it."""
    broker = tansu(free_port(), tmp_path / "private-broker")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
