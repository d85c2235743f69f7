"""The walking slice, as a person would use it: ``bensys up``, register over HTTP, read the
report, Ctrl-C, start again (the broker comes back empty), and find nothing lost or doubled."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bensys.embedded import free_port, port_answers
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

pytestmark = pytest.mark.system

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
        self.registry = f"http://127.0.0.1:{first_port}"
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
        raise AssertionError("bensys up did not come up:\n" + "".join(self.output))

    def interrupt(self) -> int:
        """Ctrl-C, as a person at the terminal would press it."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        out, _ = self.process.communicate(timeout=120)
        self.output.append(out)
        return self.process.returncode

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def consecutive_free_ports(count: int) -> int:
    for _ in range(200):
        first = random.randint(20_000, 60_000)
        if not any(port_answers(first + i) for i in range(count)):
            return first
    raise RuntimeError("no free port range")


@pytest.fixture
def bensys_up(tmp_path: Path) -> Iterator[RunningBenSys]:
    system = RunningBenSys(tmp_path / "data", free_port(), free_port(), consecutive_free_ports(5))
    try:
        yield system
    finally:
        system.kill()


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


def duplicates_seen(system: RunningBenSys) -> float:
    metrics = httpx.get(f"{system.reporting}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("bensys_consumer_duplicates_total{")
    )


def test_register_then_report_survives_a_restart_with_an_empty_broker(
    bensys_up: RunningBenSys,
) -> None:
    # Given the whole system started with `bensys up`
    bensys_up.start()
    registrar = auth("registrar", "Greater Malé")

    # When a registrar registers three people, retrying one request with the same key
    for name, sex, site in [
        ("Ayesha Begum", "female", "Greater Malé"),
        ("Rina Akter", "female", "Greater Malé"),
        ("Md. Karim", "male", "Seenu Atoll"),
    ]:
        created = httpx.post(
            f"{bensys_up.registry}/migrants", json=person(name, sex, site), headers=registrar
        )
        assert created.status_code == 201, created.text
    retried = [
        httpx.post(
            f"{bensys_up.registry}/migrants",
            json=person("Sumon Das", "male", "Seenu Atoll"),
            headers={**registrar, "Idempotency-Key": "form-0042"},
        )
        for _ in range(2)
    ]
    assert retried[0].json() == retried[1].json()

    # Then reporting counts four people by site and sex
    report = report_when(bensys_up, lambda r: r["total"] == 4)
    assert {(r["site"], r["sex"]): r["count"] for r in report["by_site_and_sex"]} == {
        ("Greater Malé", "female"): 2,
        ("Seenu Atoll", "male"): 2,
    }

    # When BenSys is stopped with Ctrl-C and started again (Tansu keeps nothing in between)
    assert bensys_up.interrupt() == 0
    assert "BenSys stopped" in bensys_up.output[-1]
    bensys_up.start()

    # Then the refilled topic is replayed to reporting, which recognises every event...
    deadline = time.monotonic() + 60
    while duplicates_seen(bensys_up) < 4:
        assert time.monotonic() < deadline, "reporting never saw the replayed events"
        time.sleep(0.1)
    # ...and one more registration counts once: nothing lost, nothing doubled
    httpx.post(
        f"{bensys_up.registry}/migrants",
        json=person("Priya Tamang", "female", "Seenu Atoll"),
        headers=registrar,
    ).raise_for_status()
    report = report_when(bensys_up, lambda r: r["total"] >= 5)
    assert report["total"] == 5
    assert bensys_up.interrupt() == 0


def test_bad_input_gets_a_clear_4xx_and_stores_nothing(bensys_up: RunningBenSys) -> None:
    bensys_up.start()
    registrar = auth("registrar")
    url = f"{bensys_up.registry}/migrants"

    visa = httpx.post(
        url, json={**person("A", "male", "Kdh Atoll"), "visa_status": "expired"}, headers=registrar
    )
    no_consent = httpx.post(
        url,
        json={
            **person("B", "male", "Kdh Atoll"),
            "consent": {"purposes": ["health_vaccination"], "notice_language": "bn"},
        },
        headers=registrar,
    )
    bad_date = httpx.post(
        url,
        json={**person("C", "male", "Kdh Atoll"), "date_of_birth": "14/03/1991"},
        headers=registrar,
    )
    unknown_site = httpx.post(url, json=person("D", "male", "Atlantis"), headers=registrar)
    wrong_role = httpx.post(url, json=person("E", "male", "Kdh Atoll"), headers=auth("helpline"))
    no_token = httpx.post(url, json=person("F", "male", "Kdh Atoll"))

    assert visa.status_code == 422
    assert "never collects legal or immigration status" in visa.json()["error"]["message"]
    assert no_consent.status_code == 422
    assert "consent" in no_consent.json()["error"]["message"]
    assert bad_date.status_code == 422
    assert "date_of_birth" in bad_date.json()["error"]["message"]
    assert unknown_site.status_code == 422
    assert "Greater Malé" in unknown_site.json()["error"]["message"]
    assert wrong_role.status_code == 403
    assert "registrar" in wrong_role.json()["error"]["message"]
    assert no_token.status_code == 401

    # And the README's example, after all that, is the only registration counted
    example = httpx.post(url, json=readme_example("register"), headers=registrar)
    assert example.status_code == 201, example.text
    report = report_when(bensys_up, lambda r: r["total"] >= 1)
    assert report["by_site_and_sex"] == [{"site": "Kdh Atoll", "sex": "male", "count": 1}]
    assert bensys_up.interrupt() == 0
