"""The system-test harness: ``bensys up`` in a child process, on ports of the test's own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bensys.embedded import free_port, free_ports
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

BENSYS = str(Path(sys.executable).with_name("bensys"))


class RunningBenSys:
    """``bensys up`` in a child process, on ports and a data folder of the test's own."""

    def __init__(self, data_dir: Path, kafka_port: int, mongo_port: int, first_port: int) -> None:
        self.argv = [
            BENSYS,
            "up",
            "--data-dir",
            str(data_dir),
            "--kafka-port",
            str(kafka_port),
            "--mongo-port",
            str(mongo_port),
            "--first-service-port",
            str(first_port),
        ]
        self.data_dir = data_dir
        self.kafka_port = kafka_port
        self.mongo_port = mongo_port
        self.registry = f"http://127.0.0.1:{first_port}"
        self.cards = f"http://127.0.0.1:{first_port + 1}"
        self.distribution = f"http://127.0.0.1:{first_port + 2}"
        self.helpline = f"http://127.0.0.1:{first_port + 3}"
        self.reporting = f"http://127.0.0.1:{first_port + 4}"
        self.process: subprocess.Popen[str] | None = None
        self.output: list[str] = []

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 180
        for line in self.process.stdout:
            self.output.append(line)
            if "Press Ctrl-C to stop." in line:
                return
            if time.monotonic() > deadline:
                break
        raise AssertionError("bensys up did not come up:\n" + "".join(self.output) + self.logs())

    def logs(self, lines: int = 40) -> str:
        """The last lines of each service's log: why a process that exited did so."""
        parts = []
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"\n--- {log.name} (last {len(tail)} lines) ---\n" + "\n".join(tail))
        return "".join(parts)

    def interrupt(self) -> int:
        """Ctrl-C, as a person at the terminal would press it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=120)
        self.output.append(out)
        return self.process.returncode

    def stop(self) -> None:
        """Teardown: Ctrl-C so the stack stops its servers; SIGKILL only if that hangs."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def bensys_up(tmp_path: Path) -> Iterator[RunningBenSys]:
    system = RunningBenSys(tmp_path / "data", free_port(), free_port(), free_ports(5))
    try:
        yield system
    finally:
        system.stop()


README = Path(__file__).resolve().parents[2] / "README.md"


def readme_example(name: str) -> dict[str, Any]:
    """The JSON block right after ``<!-- example: name -->`` in the README: docs that run."""
    text = README.read_text()
    start = text.index(f"<!-- example: {name} -->")
    block = text[text.index("```json", start) + len("```json") : text.index("```\n", start + 30)]
    parsed: dict[str, Any] = json.loads(block)
    return parsed


def auth(role: str, site: str | None = None) -> dict[str, str]:
    secret = os.environ.get("BENSYS_JWT_SECRET", DEV_JWT_SECRET)
    return {"Authorization": f"Bearer {mint_token(secret=secret, role=role, site=site)}"}


def person(name: str, sex: str, site: str) -> dict[str, Any]:
    return {
        "full_name": name,
        "sex": sex,
        "date_of_birth": "1991-03-14",
        "nationality": "BD",
        "preferred_languages": ["bn", "en"],
        "site": site,
        "consent": {"purposes": ["registration", "health_vaccination"], "notice_language": "bn"},
    }


def report_when(system: RunningBenSys, until: Any, *, within: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        body: dict[str, Any] = httpx.get(
            f"{system.reporting}/reports/registrations", headers=auth("manager")
        ).json()
        if until(body):
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"report never matched; last: {body}")
        time.sleep(0.1)


def wait_for(
    fetch: Callable[[], httpx.Response],
    until: Callable[[httpx.Response], bool],
    *,
    within: float = 60,
    what: str = "the answer",
) -> httpx.Response:
    """Poll ``fetch`` until ``until`` holds or the deadline passes: facts travel by events."""
    deadline = time.monotonic() + within
    while True:
        response = fetch()
        if until(response):
            return response
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} never came; last: {response.status_code} {response.text}")
        time.sleep(0.1)


def duplicates_seen(system: RunningBenSys) -> float:
    metrics = httpx.get(f"{system.reporting}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("bensys_consumer_duplicates_total{")
    )
