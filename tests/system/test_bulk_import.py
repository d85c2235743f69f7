"""Bulk import as a programme officer does it: ``bensys import migrants`` on a spreadsheet
against the whole running system; a dry run first, then the import, then the same file again."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.system.harness import (
    BENSYS,
    RunningBenSys,
    auth,
)

pytestmark = pytest.mark.system

HEADER = (
    "_uuid,Full name,Sex,Date of birth,Nationality,Languages,Phone,Site,Consent purposes,"
    "Notice language"
)
ROWS = [
    "k-1,Ayesha Begum,F,14/03/1991,Bangladesh,bn en,,Greater Malé,registration,bn",
    "k-2,Rina Akter,female,1994-07-02,BD,bn,,Greater Malé,registration,bn",
    "k-3,Sumon Das,M,31/02/1990,Bangladesh,bn,,Seenu Atoll,registration,bn",  # no 31 February
    "k-4,Priya Tamang,female,1989-11-20,Nepal,ne en,+960 777 1000,Kdh Atoll,registration,ne",
    "k-5,Kamal Perera,male,1985-01-09,Sri Lanka,si,12,Kaafu Atoll,registration,si",  # bad phone
    "k-6,Nasrin Sultana,female,2001-05-30,BD,bn,,Seenu Atoll,registration health_vaccination,bn",
]
GOOD = ["Ayesha Begum", "Rina Akter", "Priya Tamang", "Nasrin Sultana"]


def bensys_import(
    system: RunningBenSys, path: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BENSYS, "import", "migrants", str(path), "--registry-url", system.registry, *extra],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def found(system: RunningBenSys, name: str) -> list[str]:
    response = httpx.get(
        f"{system.registry}/migrants", params={"q": name}, headers=auth("registrar"), timeout=30
    )
    response.raise_for_status()
    return [r["full_name"] for r in response.json()["results"] if r["full_name"] == name]


def reported_rows(stdout: str) -> list[str]:
    return [line.strip() for line in stdout.splitlines() if line.startswith("  row ")]


def test_dry_run_import_and_rerun_register_each_good_row_once_and_refuse_visa_status(
    bensys_up: RunningBenSys,
    tmp_path: Path,
) -> None:
    bensys_up.start()
    # Given a KoBo-style list of six people, two of them with mistakes
    path = tmp_path / "arrivals.csv"
    path.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")

    # When it is imported as a dry run, in batches of two
    dry = bensys_import(bensys_up, path, "--dry-run", "--batch", "2")
    # Then exactly the two bad rows are reported, by spreadsheet row and column
    assert dry.returncode == 1, dry.stdout + dry.stderr
    rows = reported_rows(dry.stdout)
    assert len(rows) == 2, dry.stdout
    assert rows[0].startswith("row 4, Date of birth: '31/02/1990' is not a real date")
    assert rows[1].startswith("row 6, Phone: phone '12' is not a valid number")
    assert "Dry run of arrivals.csv: 4 would be registered, 0 already imported, 2 invalid" in (
        dry.stdout
    )
    # And nobody was registered
    assert all(found(bensys_up, name) == [] for name in GOOD)

    # When it is imported for real
    real = bensys_import(bensys_up, path, "--batch", "2")
    # Then the four good rows are registered, and the same two rows are still reported
    assert real.returncode == 1, real.stdout + real.stderr
    assert "Imported arrivals.csv: 4 registered, 0 already imported, 2 invalid" in real.stdout
    assert [row.split(":")[0] for row in reported_rows(real.stdout)] == [
        "row 4, Date of birth",
        "row 6, Phone",
    ]
    assert all(found(bensys_up, name) == [name] for name in GOOD)

    # When the same file is imported again
    again = bensys_import(bensys_up, path)
    # Then every good row is recognised as already imported, and nobody is registered twice
    assert "Imported arrivals.csv: 0 registered, 4 already imported, 2 invalid" in again.stdout
    assert all(found(bensys_up, name) == [name] for name in GOOD)

    # When the two rows are fixed and the file imported once more
    fixed = [
        *ROWS[:2],
        ROWS[2].replace("31/02/1990", "28/02/1990"),
        ROWS[3],
        ROWS[4].replace(",12,", ",+960 777 2000,"),
        ROWS[5],
    ]
    path.write_text("\n".join([HEADER, *fixed]) + "\n", encoding="utf-8")
    last = bensys_import(bensys_up, path)
    # Then only they are registered, and the import exits cleanly
    assert last.returncode == 0, last.stdout + last.stderr
    assert "Imported arrivals.csv: 2 registered, 4 already imported, 0 invalid" in last.stdout
    assert found(bensys_up, "Sumon Das") == ["Sumon Das"]

    # When a list that asks for visa status is imported (one start of the system is enough)
    visa = tmp_path / "with-visa.csv"
    farida = "k-7,Farida Yasmin,F,1990-01-01,BD,bn,,Greater Malé,registration,bn"
    visa.write_text(f"{HEADER},Visa Status\n{farida},expired\n", encoding="utf-8")
    refused = bensys_import(bensys_up, visa)
    # Then the whole import is refused with the reason, and nobody is registered
    assert refused.returncode == 2
    assert "never collects legal or immigration status" in refused.stderr
    assert "Visa Status" in refused.stderr
    assert found(bensys_up, "Farida Yasmin") == []
