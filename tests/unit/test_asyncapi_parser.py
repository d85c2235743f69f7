"""The published AsyncAPI documents pass the official AsyncAPI parser.

``test_published_contracts`` proves docs/asyncapi/ is what the code renders; this proves what it
renders is AsyncAPI that partners' tools accept. The judge is ``@asyncapi/parser`` itself (the
parser behind AsyncAPI Studio and the AsyncAPI CLI), pinned in ``tools/asyncapi/package.json``
and run by ``tools/asyncapi/validate.mjs``, rather than a Python imitation of its rules.

Needs Node.js and npm. Without them the tests skip, unless ``BENSYS_REQUIRE_NODE=1`` (as in CI),
where a check that cannot run must fail rather than pass silently.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
TOOL = ROOT / "tools" / "asyncapi"
SCRIPT = TOOL / "validate.mjs"
DOCUMENTS = sorted((ROOT / "docs" / "asyncapi").glob("*.json"))
INSTALL_SECONDS = 600
"""A first ``npm ci`` on a cold cache downloads the parser and its ~170 packages."""
CHECK_SECONDS = 120

# Setup (the install) counts against a test's timeout, so the first test may need it all.
pytestmark = pytest.mark.timeout(INSTALL_SECONDS + CHECK_SECONDS)

Validate = Callable[..., subprocess.CompletedProcess[str]]


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("BENSYS_REQUIRE_NODE") == "1":
        pytest.fail(f"BENSYS_REQUIRE_NODE=1 but {reason}")
    pytest.skip(f"{reason}; set BENSYS_REQUIRE_NODE=1 to make this a failure")


def _pinned_version() -> str:
    package = json.loads((TOOL / "package.json").read_text(encoding="utf-8"))
    version: str = package["dependencies"]["@asyncapi/parser"]
    return version


def _installed_version() -> str | None:
    installed = TOOL / "node_modules" / "@asyncapi" / "parser" / "package.json"
    if not installed.is_file():
        return None
    version: str = json.loads(installed.read_text(encoding="utf-8"))["version"]
    return version


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable, with the pinned parser installed under tools/asyncapi/."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("node and npm are not both on PATH (Debian: apt-get install nodejs npm)")
    if _installed_version() != _pinned_version():
        # npm ci installs exactly package-lock.json; no install scripts (one only phones home).
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"]
        try:
            installed = subprocess.run(
                command,
                cwd=TOOL,
                capture_output=True,
                text=True,
                timeout=INSTALL_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            _unavailable(f"`npm ci` in {TOOL} did not finish in {INSTALL_SECONDS} s")
        if installed.returncode != 0:
            _unavailable(f"`npm ci` in {TOOL} failed:\n{installed.stdout}{installed.stderr}")
        assert _installed_version() == _pinned_version(), "npm ci installed another parser"
    return node


@pytest.fixture
def validate(node: str) -> Validate:
    def run(*arguments: str | Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [node, str(SCRIPT), *map(str, arguments)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=CHECK_SECONDS,
            check=False,
        )

    return run


def _report(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def test_every_published_asyncapi_document_passes_the_official_parser(
    validate: Validate,
) -> None:
    # given every AsyncAPI document BenSys publishes
    assert DOCUMENTS, "docs/asyncapi/ holds no document: run `bensys docs`"

    # when the official parser reads them, warnings counting as failures
    result = validate("--strict", *DOCUMENTS)

    # then it finds nothing wrong: fix bensys/docs.py, never the generated files
    assert result.returncode == 0, _report(result)
    assert f"{len(DOCUMENTS)} valid, 0 invalid" in result.stdout, _report(result)


def _dangling_channel(document: dict[str, Any]) -> str:
    operation_id, operation = next(iter(document["operations"].items()))
    operation["channel"] = {"$ref": "#/channels/nowhere"}
    return f"#/operations/{operation_id}/channel/$ref: '#/channels/nowhere' does not exist"


def _field_asyncapi_does_not_have(document: dict[str, Any]) -> str:
    document["info"]["audience"] = "partners"
    return 'at #/info/audience: Property "audience" is not expected to be here'


def test_a_broken_document_is_refused_and_the_problem_named(
    validate: Validate, tmp_path: Path
) -> None:
    # given copies of a published document, each with one deliberate mistake
    expected: dict[Path, str] = {}
    for break_it in (_dangling_channel, _field_asyncapi_does_not_have):
        document = json.loads(DOCUMENTS[0].read_text(encoding="utf-8"))
        broken = tmp_path / f"{break_it.__name__.strip('_')}.json"
        expected[broken] = break_it(document)
        broken.write_text(json.dumps(document, indent=2), encoding="utf-8")

    # when the official parser reads them (in one run: starting it takes seconds)
    result = validate(*expected)

    # then the check fails, and names each file, where the mistake is and what it is
    assert result.returncode == 1, _report(result)
    assert "0 valid, 2 invalid" in result.stdout, _report(result)
    for broken, problem in expected.items():
        assert f"{broken}: error " in result.stdout, _report(result)
        assert f"{broken}: INVALID" in result.stdout, _report(result)
        assert problem in result.stdout, _report(result)
