"""Reading KoBoToolbox exports and spreadsheets for ``bensys import migrants``: columns are
recognised however they are spelled, cells become registrations or row errors that name the
spreadsheet's own row and column, and a never-collected column refuses the whole file."""

from __future__ import annotations

import argparse
import io
import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import httpx
import openpyxl  # type: ignore[import-untyped]
import pytest

from bensys.import_command import Progress, add_parser, run
from bensys.importing import (
    ImportPlan,
    RowError,
    UnusableImport,
    map_columns,
    parse_date,
    parse_overrides,
    plan_import,
)
from services.registry.schemas import MigrantCreate
from shared.policy import NeverCollected, NeverCollectedPolicy
from shared.settings import DEFAULT_NEVER_COLLECTED

POLICY = NeverCollectedPolicy(DEFAULT_NEVER_COLLECTED)
HEADER = "Full name,Sex,Date of birth,Nationality,Languages,Site,Consent purposes,Notice language"
AYESHA = "Ayesha Begum,F,14/03/1991,Bangladesh,bn en,Greater Malé,registration,bn"


def csv_file(tmp_path: Path, *lines: str, name: str = "list.csv", bom: bool = False) -> Path:
    path = tmp_path / name
    path.write_bytes(("\ufeff" if bom else "").encode() + "\n".join(lines).encode() + b"\n")
    return path


def plan_of(path: Path, **kw: Any) -> ImportPlan:
    return plan_import(path, POLICY, **kw)


def fields_of(*headers: str) -> dict[str, str]:
    return map_columns(headers, POLICY).columns


# ---------------------------------------------------------------------------------- mapping


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("Full name", "full_name"),
        ("name", "full_name"),
        ("FULL_NAME", "full_name"),
        ("full-name ", "full_name"),
        ("Other names", "other_names"),
        ("alias", "other_names"),
        ("Gender", "sex"),
        ("DOB", "date_of_birth"),
        ("Year of birth", "approximate_birth_year"),
        ("birth_year", "approximate_birth_year"),
        ("Country", "nationality"),
        ("preferred_language", "preferred_languages"),
        ("Phone", "phone"),
        ("Atoll", "site"),
        ("Island", "address"),
        ("Employer", "employer"),
        ("Document type", "document_type"),
        ("Document number", "document_number"),
        ("Document country", "document_country"),
        ("Vulnerabilities", "vulnerabilities"),
        ("Consent purposes", "consent_purposes"),
        ("Consent method", "consent_method"),
        ("Notice language", "notice_language"),
        ("Issue card", "issue_card"),
        ("Form ID", "row_key"),
        ("_uuid", "row_key"),
    ],
)
def test_common_headers_are_recognised_however_spelled(header: str, field: str) -> None:
    # given a file whose name column is there, and one more column spelled as people do
    columns = fields_of("name" if field != "full_name" else "Nom", header)
    # then that column feeds the field
    assert columns[field] == header


def test_kobo_group_paths_are_read_by_their_last_part() -> None:
    # given a KoBoToolbox export with grouped questions and its meta columns
    headers = (
        "start",
        "group_personal/full_name",
        "group_personal/sex",
        "group_contact/phone",
        "_id",
        "_uuid",
        "_submission_time",
    )
    # when the columns are mapped
    mapping = map_columns(headers, POLICY)
    # then grouped questions are recognised, _uuid (unique across servers) beats _id as the key
    assert mapping.columns == {
        "row_key": "_uuid",
        "full_name": "group_personal/full_name",
        "sex": "group_personal/sex",
        "phone": "group_contact/phone",
    }
    # and everything else is listed once as ignored
    assert mapping.ignored == ("start", "_id", "_submission_time")


def test_map_options_override_the_default_and_can_skip_a_column() -> None:
    # given a form in another language, and a "Country" that means where they live now
    overrides = parse_overrides(["Nom complet=full_name", "Pays=nationality", "country=ignore"])
    # when mapped with those options
    mapping = map_columns(("Nom complet", "Pays", "Country", "Sex"), POLICY, overrides)
    # then the options win over the guesses
    assert mapping.columns == {"full_name": "Nom complet", "sex": "Sex", "nationality": "Pays"}
    assert mapping.ignored == ("Country",)


@pytest.mark.parametrize(
    ("option", "says"),
    [
        ("Name=fullname", "'fullname' is not a field"),
        ("just_a_header", "write it as --map 'Header=field'"),
    ],
)
def test_a_bad_map_option_says_how_to_write_it(option: str, says: str) -> None:
    with pytest.raises(UnusableImport, match=says):
        parse_overrides([option])


def test_a_map_option_for_a_column_the_file_lacks_lists_the_columns() -> None:
    with pytest.raises(UnusableImport, match="its columns are: Name, Sex"):
        map_columns(("Name", "Sex"), POLICY, {"Nom": "full_name"})


def test_a_file_without_a_name_column_cannot_be_imported(tmp_path: Path) -> None:
    path = csv_file(tmp_path, "Sex,Phone", "F,+960 7771234")
    with pytest.raises(UnusableImport, match="no column holds the person's name"):
        plan_of(path)


def test_of_two_name_like_columns_the_better_named_one_is_used() -> None:
    mapping = map_columns(("name", "Full name"), POLICY)
    assert mapping.columns == {"full_name": "Full name"}
    assert mapping.notes == ("'name' also looks like full_name; 'Full name' is used",)


# ---------------------------------------------------------------------------------- never collected


@pytest.mark.parametrize(
    "forbidden",
    ["Visa Status", "work_permit_no", "Residence Permit", "irregular", "group_legal/visaType"],
)
def test_a_never_collected_column_refuses_the_whole_import(tmp_path: Path, forbidden: str) -> None:
    # given an otherwise good list with a column asking for legal or immigration status
    path = csv_file(tmp_path, f"{HEADER},{forbidden}", f"{AYESHA},whatever")
    # when it is read, then nothing is read: the whole file is refused, naming the column
    with pytest.raises(NeverCollected) as refused:
        plan_of(path)
    assert refused.value.message.endswith(f"Remove this field and send again: {forbidden}")
    assert "never collects legal or immigration status" in refused.value.message


def test_a_never_collected_column_is_refused_even_when_mapped_to_ignore(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"{HEADER},Visa Status", f"{AYESHA},expired")
    with pytest.raises(NeverCollected):
        plan_of(path, overrides={"Visa Status": "ignore"})


def test_values_are_free_speech_only_names_are_judged(tmp_path: Path) -> None:
    # given a person whose employer's name happens to contain "visa"
    path = csv_file(tmp_path, f"{HEADER},Employer", f"{AYESHA},Visa Consultancy Pvt Ltd")
    [row] = plan_of(path).rows
    assert row.data is not None
    assert row.data["employer"] == "Visa Consultancy Pvt Ltd"


# ---------------------------------------------------------------------------------- cells


def test_a_good_row_becomes_a_registration_the_registry_accepts(tmp_path: Path) -> None:
    # given a row using the friendly spellings people type
    path = csv_file(
        tmp_path,
        f"{HEADER},Other names,Phone,Island,Document type,Document number,Document country,"
        "Vulnerabilities,Consent method,Issue card",
        f"{AYESHA},Ayesha; Ayesha B.|Apa,+960 777 1234,Hulhumalé,Passport,BX 123 456,bangladesh,"
        "female_worker economic_hardship,Written,yes",
    )
    # when it is read
    [row] = plan_of(path).rows
    # then it is exactly what POST /migrants would take
    assert row.errors == ()
    assert row.data == {
        "full_name": "Ayesha Begum",
        "other_names": ["Ayesha", "Ayesha B.", "Apa"],
        "sex": "female",
        "date_of_birth": "1991-03-14",
        "nationality": "BD",
        "preferred_languages": ["bn", "en"],
        "phone": "+960 777 1234",
        "site": "Greater Malé",
        "address": "Hulhumalé",
        "vulnerabilities": ["female_worker", "economic_hardship"],
        "issue_card": True,
        "consent": {"purposes": ["registration"], "method": "written", "notice_language": "bn"},
        "identity_document": {"type": "passport", "number": "BX 123 456", "issuing_country": "BD"},
    }
    MigrantCreate.model_validate(row.data)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("1991-03-14", "1991-03-14"),
        ("14/03/1991", "1991-03-14"),
        ("4/3/1991", "1991-03-04"),
        ("14.03.1991", "1991-03-14"),
        ("1991-03-14 00:00:00", "1991-03-14"),
        (datetime(1991, 3, 14), "1991-03-14"),
        (date(1991, 3, 14), "1991-03-14"),
        (33311, "1991-03-14"),  # an Excel serial number in an unformatted cell
        (33311.0, "1991-03-14"),
    ],
)
def test_dates_are_read_in_the_formats_lists_use(cell: Any, expected: str) -> None:
    assert parse_date(cell) == expected


@pytest.mark.parametrize(
    ("cell", "problem"),
    [
        ("31/02/1990", "'31/02/1990' is not a real date: check the day and the month"),
        ("03/14/1991", "'03/14/1991' is not a real date"),  # month-first is never guessed
        ("March 1991", "'March 1991' is not a date: write it as YYYY-MM-DD or DD/MM/YYYY"),
        (1990, "'1990' is not a date"),  # a year typed in a date column, not 1905
    ],
)
def test_a_bad_date_says_how_to_write_it(tmp_path: Path, cell: Any, problem: str) -> None:
    path = csv_file(tmp_path, HEADER, AYESHA.replace("14/03/1991", str(cell)))
    [row] = plan_of(path).rows
    assert row.data is None
    [error] = row.errors
    assert (error.row, error.column) == (2, "Date of birth")
    assert error.problem.startswith(problem)


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("Bangladesh", "BD"),
        ("india", "IN"),
        ("NEPAL", "NP"),
        ("Sri Lanka", "LK"),
        ("sri-lankan", "LK"),
        ("Maldives", "MV"),
        ("np", "NP"),
        ("BGD", "BD"),
    ],
)
def test_countries_are_read_by_common_name_or_code(tmp_path: Path, cell: str, code: str) -> None:
    path = csv_file(tmp_path, HEADER, AYESHA.replace("Bangladesh", cell))
    [row] = plan_of(path).rows
    assert row.data is not None
    assert row.data["nationality"] == code


def test_lists_are_split_as_people_and_kobo_write_them(tmp_path: Path) -> None:
    # given languages, names and codes written with every separator people use
    path = csv_file(
        tmp_path,
        "Full name;Sex;Country;Languages;Other names;Vulnerabilities;Consent purposes;"
        "Notice language",
        'Rina;f;BD;"Bengali, en;hi ta";Rina Akter | Rinu;"Female worker; pregnant";'
        "registration health_vaccination;Bangla",
    )
    # when read, with the site given for the whole file
    [row] = plan_of(path, default_site="Greater Malé").rows
    data = row.data or {}
    # then each list is split its own way, and names of languages become codes
    assert data["preferred_languages"] == ["bn", "en", "hi", "ta"]
    assert data["other_names"] == ["Rina Akter", "Rinu"]
    assert data["vulnerabilities"] == ["female_worker", "pregnant"]
    assert data["consent"] == {
        "purposes": ["registration", "health_vaccination"],
        "notice_language": "bn",
    }
    assert data["site"] == "Greater Malé"


def test_a_missing_required_column_is_warned_once_and_named_on_each_row(tmp_path: Path) -> None:
    # given a list without sex, nationality or consent columns
    path = csv_file(tmp_path, "Full name,Languages,Site", "Rina,bn,Kdh Atoll")
    # when read
    plan = plan_of(path)
    # then one warning names the columns to add...
    assert plan.warnings == (
        "no column for Sex, Nationality, Consent purposes, Notice language: "
        "every row will be refused until one is added",
    )
    # ...and each row says how to add them, consent never being assumed
    [row] = plan.rows
    assert row.errors[0] == RowError(
        2, "Sex", "the file has no 'Sex' column: add one, or map a column with --map 'Header=sex'"
    )
    assert [e.column for e in row.errors] == [
        "Sex",
        "Nationality",
        "Consent purposes",
        "Notice language",
    ]


def test_a_bad_row_reports_every_problem_by_row_and_column(tmp_path: Path) -> None:
    # given a list whose third data row has several mistakes, after a blank line
    path = csv_file(
        tmp_path,
        f"{HEADER},Issue card,Document number",
        AYESHA + ",no,",
        "",
        "Rina Akter,x,1990-01-01,Narnia,Bengalese,Greater Malé,,bn,maybe,AB123",
    )
    # when it is read
    plan = plan_of(path)
    good, bad = plan.rows
    # then the good row is ready and the bad one names its spreadsheet row (the blank line
    # keeps its number) and each column as the spreadsheet shows it
    assert good.data is not None
    assert bad.data is None
    assert [(e.row, e.column) for e in bad.errors] == [
        (4, "Sex"),
        (4, "Nationality"),
        (4, "Languages"),
        (4, "Issue card"),
        (4, "Consent purposes"),
        (4, "Document type"),
    ]
    problems = {e.column: e.problem for e in bad.errors}
    assert problems["Consent purposes"].startswith("no consent recorded")
    assert problems["Languages"] == (
        "'Bengalese' is not a language code: use codes such as bn, hi, ta, ne, si, dv, en"
    )
    assert problems["Document type"].startswith("a document needs its type too")


def test_schema_errors_are_named_by_the_column_too(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"{HEADER},Consent method", f"{AYESHA},by carrier pigeon")
    [row] = plan_of(path).rows
    assert row.errors == (
        RowError(2, "Consent method", "Input should be 'verbal', 'written' or 'digital'"),
    )


def test_a_year_that_agrees_with_the_date_is_dropped_one_that_disagrees_is_refused(
    tmp_path: Path,
) -> None:
    path = csv_file(
        tmp_path,
        f"{HEADER},Year of birth",
        f"{AYESHA},1991",
        f"{AYESHA.replace('Ayesha', 'Amina')},1985",
        f"{AYESHA.replace('Ayesha', 'Asma').replace('14/03/1991', '')},1985",
    )
    agrees, disagrees, year_only = plan_of(path).rows
    assert agrees.data is not None
    assert "approximate_birth_year" not in agrees.data
    assert [e.column for e in disagrees.errors] == ["Year of birth"]
    assert year_only.data is not None
    assert year_only.data["approximate_birth_year"] == 1985


# ---------------------------------------------------------------------------------- keys


def test_row_keys_are_stable_across_runs_and_renamed_headers(tmp_path: Path) -> None:
    # given the same list read twice, once with another name for the name column
    first = plan_of(csv_file(tmp_path, HEADER, AYESHA, name="a.csv"))
    again = plan_of(csv_file(tmp_path, HEADER, AYESHA, name="b.csv"))
    renamed = plan_of(csv_file(tmp_path, HEADER.replace("Full name", "name"), AYESHA, name="c.csv"))
    # then each row keeps its key
    assert first.rows[0].key == again.rows[0].key == renamed.rows[0].key
    assert len(first.rows[0].key) == 64
    # and a changed row gets a new key
    changed = plan_of(csv_file(tmp_path, HEADER, AYESHA.replace("bn en", "bn"), name="d.csv"))
    assert changed.rows[0].key != first.rows[0].key


def test_a_key_column_gives_the_key_and_a_repeated_key_is_an_error(tmp_path: Path) -> None:
    path = csv_file(
        tmp_path,
        f"{HEADER},_uuid",
        f"{AYESHA},3f1c-aa",
        f"{AYESHA.replace('Ayesha', 'Amina')},3f1c-aa",
        f"{AYESHA.replace('Ayesha', 'Asma')},",
    )
    first, repeated, without = plan_of(path).rows
    assert first.key == "3f1c-aa"
    assert repeated.data is None
    assert repeated.errors == (
        RowError(3, "_uuid", "row key '3f1c-aa' is also on row 2: give every row its own key"),
    )
    assert len(without.key) == 64  # an empty key cell falls back to the row's hash


def test_a_row_repeated_exactly_is_reported_once(tmp_path: Path) -> None:
    plan = plan_of(csv_file(tmp_path, HEADER, AYESHA, AYESHA))
    assert plan.rows[1].errors == (
        RowError(3, "(row)", "repeats row 2 exactly: delete one of them"),
    )


# ---------------------------------------------------------------------------------- files


def test_csv_with_a_bom_and_semicolons_reads_like_any_other(tmp_path: Path) -> None:
    # given Excel's "CSV UTF-8" in a locale that separates with semicolons
    path = csv_file(tmp_path, HEADER.replace(",", ";"), AYESHA.replace(",", ";"), bom=True)
    plain = csv_file(tmp_path, HEADER, AYESHA, name="plain.csv")
    # then the first header is not polluted by the BOM and the rows match a plain CSV's
    [row] = plan_of(path).rows
    assert plan_of(path).mapping.columns["full_name"] == "Full name"
    assert row == plan_of(plain).rows[0]


def test_tab_separated_files_are_read(tmp_path: Path) -> None:
    path = csv_file(tmp_path, HEADER.replace(",", "\t"), AYESHA.replace(",", "\t"), name="l.tsv")
    [row] = plan_of(path).rows
    assert row.data is not None


def test_xlsx_cells_of_every_type_are_read_and_keyed_like_the_csv(tmp_path: Path) -> None:
    # given a workbook whose second sheet holds the list, with real date, number and bool cells
    book = openpyxl.Workbook()
    book.active.title = "Notes"
    sheet = book.create_sheet("People")
    sheet.append([*HEADER.split(","), "Phone", "Issue card"])
    sheet.append(
        [
            "Ayesha Begum",
            "F",
            datetime(1991, 3, 14),
            "Bangladesh",
            "bn en",
            "Greater Malé",
            "registration",
            "bn",
            7771234,
            True,
        ]
    )
    sheet.append([None] * 10)  # a blank row in the middle
    sheet.append(["Rina Akter", "female", 33311, "IN", "hi", "Kdh Atoll", "registration", "hi"])
    path = tmp_path / "people.xlsx"
    book.save(path)
    # when read from that sheet
    plan = plan_of(path, sheet="People")
    # then each cell is read as its type means, and rows keep their spreadsheet numbers
    ayesha, rina = plan.rows
    assert (ayesha.row, rina.row) == (2, 4)
    assert ayesha.data is not None
    assert rina.data is not None
    assert ayesha.data["date_of_birth"] == rina.data["date_of_birth"] == "1991-03-14"
    assert ayesha.data["phone"] == "7771234"
    assert ayesha.data["issue_card"] is True
    # and the same row exported as CSV, in its own spellings, is the same row with the same key
    as_csv = csv_file(tmp_path, f"{HEADER},Phone,Issue card", f"{AYESHA},7771234,yes")
    assert plan_of(as_csv).rows[0] == ayesha


def test_the_first_sheet_is_read_unless_another_is_named(tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    book.active.append(["name"])
    book.active.append(["Ayesha"])
    path = tmp_path / "one.xlsx"
    book.save(path)
    assert plan_of(path).rows[0].row == 2
    with pytest.raises(UnusableImport, match="has no sheet 'People'; its sheets: \\['Sheet'\\]"):
        plan_of(path, sheet="People")


@pytest.mark.parametrize(
    ("name", "content", "says"),
    [
        ("missing.csv", None, "no such file"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "old Excel file: save it as .xlsx or CSV"),
        ("fake.xlsx", b"not a zip", "is not a readable .xlsx file"),
        ("latin1.csv", "name\nJosé".encode("latin-1"), "is not UTF-8 text"),
        ("list.pdf", b"%PDF", "give a .csv or .xlsx file"),
    ],
)
def test_unusable_files_say_why(
    tmp_path: Path, name: str, content: bytes | None, says: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UnusableImport, match=says):
        plan_of(path)


# ---------------------------------------------------------------------------------- the command


def command_args(path: Path, *extra: str) -> argparse.Namespace:
    """The arguments as ``bensys import migrants`` parses them, from the parser cli.py adds."""
    parser = argparse.ArgumentParser(prog="bensys")
    add_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["import", "migrants", str(path), *extra])


class FakeRegistry:
    """POST /imports as the registry answers it, recording what it was sent."""

    def __init__(self, answer: Callable[[dict[str, Any]], dict[str, Any]] | None = None) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answer = answer or self.every_row_would_register

    def every_row_would_register(self, body: dict[str, Any]) -> dict[str, Any]:
        status = "would_register" if body["dry_run"] else "registered"
        return {
            "dry_run": body["dry_run"],
            "summary": {},
            "rows": [
                {"row": r["row"], "key": r["key"], "status": status, "errors": []}
                for r in body["rows"]
            ],
        }

    def transport(self) -> httpx.MockTransport:
        def handle(request: httpx.Request) -> httpx.Response:
            body = json.loads(request.content)
            self.requests.append(body)
            return httpx.Response(200, json=self.answer(body))

        return httpx.MockTransport(handle)


def run_command(
    path: Path, *extra: str, registry: FakeRegistry | None = None
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    registry = registry or FakeRegistry()
    code = run(command_args(path, *extra), transport=registry.transport(), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_dry_run_sends_good_rows_in_batches_and_reports_bad_ones(tmp_path: Path) -> None:
    # given five rows, one of them bad
    rows = [AYESHA.replace("Ayesha", name) for name in ("Amina", "Asma", "Bina", "Chaya")]
    path = csv_file(tmp_path, HEADER, *rows[:2], AYESHA.replace(",F,", ",X,"), *rows[2:])
    registry = FakeRegistry()
    # when imported as a dry run in batches of two
    code, out, err = run_command(path, "--dry-run", "--batch", "2", registry=registry)
    # then only good rows travel, in batches, marked as a dry run
    assert [[r["row"] for r in b["rows"]] for b in registry.requests] == [[2, 3], [5], [6]]
    assert all(b["dry_run"] and b["source"] == "list.csv" for b in registry.requests)
    # and the bad row is reported by row and column, with the totals, exit code 1
    assert "row 4, Sex: 'X' is not one of female, male, other, undisclosed (or F, M)" in out
    assert "Dry run of list.csv: 4 would be registered, 0 already imported, 1 invalid" in out
    assert "Nothing was written." in out
    assert code == 1
    # and progress is one line per batch when stderr is not a terminal
    assert err.splitlines() == [
        "[############..................] 2/5 rows",
        "[########################......] 4/5 rows",
        "[##############################] 5/5 rows",
    ]


def test_registry_errors_are_reported_under_the_users_column(tmp_path: Path) -> None:
    def refuse_phone(body: dict[str, Any]) -> dict[str, Any]:
        [row] = body["rows"]
        problem = {"field": "phone", "problem": "phone '12' is not a phone number"}
        return {
            "dry_run": False,
            "summary": {},
            "rows": [
                {"row": row["row"], "key": row["key"], "status": "invalid", "errors": [problem]}
            ],
        }

    path = csv_file(tmp_path, f"{HEADER},Mobile", f"{AYESHA},12")
    code, out, _ = run_command(path, registry=FakeRegistry(refuse_phone))
    assert "row 2, Mobile: phone '12' is not a phone number" in out
    assert "Imported list.csv: 0 registered, 0 already imported, 1 invalid" in out
    assert code == 1


def test_a_person_listed_twice_is_shown_as_a_likely_duplicate_of_the_earlier_row(
    tmp_path: Path,
) -> None:
    def second_matches_first(body: dict[str, Any]) -> dict[str, Any]:
        first, second = body["rows"]
        match = {"migrant_id": "m-1", "score": 0.93, "matched": ["name", "birth_year"]}
        return {
            "dry_run": False,
            "summary": {},
            "rows": [
                {**first, "status": "registered", "migrant_id": "m-1", "errors": []},
                {
                    **second,
                    "status": "registered",
                    "migrant_id": "m-2",
                    "likely_duplicates": [match],
                },
            ],
        }

    path = csv_file(
        tmp_path, HEADER, AYESHA, AYESHA.replace(",F,", ",female,").replace("bn en", "bn")
    )
    code, out, _ = run_command(path, registry=FakeRegistry(second_matches_first))
    assert "  row 3: may be m-1 (row 2 of this file), score 0.93, matched name, birth_year" in out
    assert "2 registered, 0 already imported, 0 invalid, 1 with likely duplicates" in out
    assert code == 0


def test_a_clean_import_exits_zero(tmp_path: Path) -> None:
    code, out, _ = run_command(csv_file(tmp_path, HEADER, AYESHA))
    assert code == 0
    assert "Imported list.csv: 1 registered, 0 already imported, 0 invalid" in out


def test_a_never_collected_column_exits_2_before_anything_is_sent(tmp_path: Path) -> None:
    path = csv_file(tmp_path, f"{HEADER},Visa Status", f"{AYESHA},valid")
    registry = FakeRegistry()
    code, _, err = run_command(path, registry=registry)
    assert code == 2
    assert registry.requests == []
    assert "never collects legal or immigration status" in err
    assert "Visa Status" in err


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: tmp / "nowhere.csv", "no such file"),
        (lambda tmp: csv_file(tmp, "Sex,Phone", "F,1"), "no column holds the person's name"),
        (lambda tmp: csv_file(tmp, HEADER), "has a header but no data rows"),
    ],
)
def test_unusable_input_exits_2(tmp_path: Path, make: Callable[[Path], Path], says: str) -> None:
    code, _, err = run_command(make(tmp_path))
    assert code == 2
    assert says in err


def test_an_unreachable_registry_exits_3_and_says_rerunning_is_safe(tmp_path: Path) -> None:
    path = csv_file(tmp_path, HEADER, AYESHA)
    args = command_args(path, "--registry-url", "http://127.0.0.1:9")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    err = io.StringIO()
    code = run(args, transport=httpx.MockTransport(refuse), out=io.StringIO(), err=err)
    assert code == 3
    assert "cannot reach the registry at http://127.0.0.1:9" in err.getvalue()
    assert "running the same command again is safe" in err.getvalue()


def test_the_progress_bar_redraws_in_place_on_a_terminal() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    progress = Progress(500, screen, width=10)
    progress.advance(200)
    progress.advance(300)
    progress.finish()
    assert screen.getvalue() == "\r[####......] 200/500 rows\r[##########] 500/500 rows\n"
