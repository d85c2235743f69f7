"""The operators' commands refuse what they cannot do with a clear message and exit code,
and change nothing: a seed without people, services that do not answer."""

from __future__ import annotations

import pytest

from bensys.cli import main
from bensys.embedded import free_port


def test_a_seed_of_nothing_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "--months", "0"]) == 2
    assert "--months and --migrants must be at least 1" in capsys.readouterr().err


def test_an_audit_of_a_service_that_does_not_answer_exits_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert main(["audit", "verify", "--url", nowhere]) == 3
    assert f"{nowhere} could not be reached" in capsys.readouterr().err


def test_a_rebuild_with_no_reporting_service_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    assert main(["reporting", "rebuild", "--reporting-url", nowhere]) == 3
    assert "bensys reporting rebuild" in capsys.readouterr().err


def test_a_seed_with_no_services_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["seed", "--months", "1", "--migrants", "1", "--first-service-port", "1"]) == 3
    assert "bensys seed" in capsys.readouterr().err
