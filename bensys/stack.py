"""The whole system on one machine: Tansu, SecantusDB and the five services, each a process.

Used by ``bensys up`` and by the system tests, so what the tests start is what people run.
The database keeps its files under the data folder; the broker keeps nothing, and the relays
refill it from the event stores when it starts empty, so a restart loses nothing.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from bensys.embedded import ManagedProcess, mongo_url, port_answers, secantus, tansu

SERVICES = ("registry", "cards", "distribution", "helpline", "reporting")
DEFAULT_SERVICE_PORTS = dict(zip(SERVICES, range(8001, 8006), strict=True))


class PortInUse(RuntimeError):
    pass


@dataclass
class StackConfig:
    data_dir: Path
    kafka_port: int = 9092
    mongo_port: int = 27017
    service_ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_SERVICE_PORTS))
    topic_namespace: str = "bensys"
    environment: str = "development"
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def kafka_bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def mongo_url(self) -> str:
        return mongo_url(self.mongo_port)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.service_ports[service]}"


class Stack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        logs = config.data_dir / "logs"
        self.broker = tansu(config.kafka_port, logs)
        # The programme's records: an acknowledged registration must survive a crash.
        self.database = secantus(
            config.mongo_port, config.data_dir / "mongo", logs, sync_on_commit=True
        )
        self.services = {name: self._service(name, logs) for name in SERVICES}

    def _service(self, name: str, logs: Path) -> ManagedProcess:
        port = self.config.service_ports[name]
        return ManagedProcess(
            name=name,
            argv=[sys.executable, "-m", f"services.{name}"],
            port=port,
            log_path=logs / f"{name}.log",
            env={
                "BENSYS_HTTP_PORT": str(port),
                "BENSYS_KAFKA_BOOTSTRAP": self.config.kafka_bootstrap,
                "BENSYS_MONGO_URL": self.config.mongo_url,
                "BENSYS_TOPIC_NAMESPACE": self.config.topic_namespace,
                "BENSYS_ENVIRONMENT": self.config.environment,
                **self.config.extra_env,
            },
        )

    def processes(self) -> list[ManagedProcess]:
        return [self.broker, self.database, *self.services.values()]

    def check_ports_free(self) -> None:
        busy = [f"{p.name} ({p.port})" for p in self.processes() if port_answers(p.port)]
        if busy:
            raise PortInUse(
                "ports already in use: " + ", ".join(busy) + ". Stop what uses them "
                "(another `bensys up`?) or choose other ports (see `bensys up --help`)."
            )

    def start(self) -> None:
        """The servers first, one after the other; then the five services side by side (each
        waits for its servers anyway), which takes a third of the time of one by one."""
        self.check_ports_free()
        try:
            for server in (self.broker, self.database):
                server.start(timeout=120)
            for service in self.services.values():
                service.spawn()
            for service in self.services.values():
                service.wait_until_listening(timeout=120)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        for process in reversed(self.processes()):
            process.stop()

    def crashed(self) -> list[ManagedProcess]:
        return [p for p in self.processes() if p.process is not None and not p.running]
