"""Fresh embedded servers for one benchmark run: Tansu and SecantusDB on free ports.

Fresh, because a broker or database already holding other data would measure that data too;
started through ``bensys.embedded``, because the figures should describe what ``bensys up``
and the test suite run. Everything lives in a temporary directory removed at the end.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bensys.embedded import ManagedProcess, free_port, mongo_url, secantus, tansu


@dataclass(frozen=True)
class BenchServers:
    kafka_bootstrap: str
    mongo_url: str
    broker_pid: int
    database_pid: int


@contextmanager
def running_servers() -> Iterator[BenchServers]:
    """Start both servers, yield where they listen, and stop them however the run ends."""
    with tempfile.TemporaryDirectory(prefix="bensys-bench-") as tmp:
        base = Path(tmp)
        broker = tansu(free_port(), base / "logs")
        database = secantus(free_port(), base / "mongo", base / "logs")
        broker.start()
        try:
            database.start()
            try:
                yield BenchServers(
                    kafka_bootstrap=f"127.0.0.1:{broker.port}",
                    mongo_url=mongo_url(database.port),
                    broker_pid=_pid(broker),
                    database_pid=_pid(database),
                )
            finally:
                database.stop()
        finally:
            broker.stop()


def _pid(process: ManagedProcess) -> int:
    if process.process is None:
        raise RuntimeError(f"{process.name} is not running")
    return process.process.pid


@dataclass(frozen=True)
class Snapshot:
    """Wall clock and CPU seconds so far of the database, the broker and this process."""

    wall: float
    database_cpu: float
    broker_cpu: float
    client_cpu: float


@dataclass(frozen=True)
class Timing:
    """One measured phase: how long it took and which process was busy meanwhile.

    The CPU shares say what dominates: a server near 100% of a core is the limit, whatever
    the client does.
    """

    seconds: float
    database_cpu: float
    broker_cpu: float
    client_cpu: float

    def share(self, cpu_seconds: float) -> float:
        return cpu_seconds / self.seconds if self.seconds > 0 else 0.0


def snapshot(servers: BenchServers) -> Snapshot:
    return Snapshot(
        wall=time.perf_counter(),
        database_cpu=process_cpu_seconds(servers.database_pid),
        broker_cpu=process_cpu_seconds(servers.broker_pid),
        client_cpu=time.process_time(),
    )


def since(before: Snapshot, servers: BenchServers) -> Timing:
    after = snapshot(servers)
    return Timing(
        seconds=after.wall - before.wall,
        database_cpu=after.database_cpu - before.database_cpu,
        broker_cpu=after.broker_cpu - before.broker_cpu,
        client_cpu=after.client_cpu - before.client_cpu,
    )


def process_cpu_seconds(pid: int) -> float:
    """User + system time of every thread of ``pid``, from ``/proc`` (Linux only, 0 elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
