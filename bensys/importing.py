"""Reading lists of people from KoBoToolbox exports and spreadsheets, for ``bensys import``.

Pure: a file in, rows out, no HTTP. Each data row becomes either a dict that
``MigrantCreate.model_validate`` accepts, or a list of problems that name the spreadsheet row
and the column *as the user sees it*, because the person fixing a list of 500 people works in
their spreadsheet, not in BenSys's field names.

Nothing here assumes consent: a row without consent purposes is refused, never defaulted.
Column *names* that ask for legal or immigration status refuse the whole file before any row is
read (the never-collected policy), because importing "everything but that column" would still
mean the programme kept a list that asked for it.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from pydantic import ValidationError

from services.registry.schemas import MigrantCreate
from shared.policy import NeverCollected, NeverCollectedPolicy

Cell = str | int | float | bool | date | time | timedelta | None

IGNORE = "ignore"
MAX_KEY_LENGTH = 190  # the command id "import:<key>" must stay within 200 characters
CSV_SUFFIXES = frozenset({".csv", ".tsv", ".txt"})
XLSX_SUFFIXES = frozenset({".xlsx", ".xlsm"})
EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0, after its 1900 leap-year bug
# Serial numbers read as dates: 1910 to 9999. A bare 1990 in a date column is a year, not 1905.
EXCEL_SERIALS = (3653, 2958465)

# Each field's header aliases, normalised (see ``normalise_header``), best first: when two
# columns look like the same field, the better-named one is used and the other is ignored.
ALIASES: dict[str, tuple[str, ...]] = {
    "row_key": ("rowkey", "uuid", "instanceid", "id", "formid"),
    "full_name": ("fullname", "name", "beneficiaryname", "personname"),
    "other_names": ("othernames", "alias", "aliases", "knownas", "aka"),
    "sex": ("sex", "gender"),
    "date_of_birth": ("dateofbirth", "dob", "birthdate"),
    "approximate_birth_year": ("yearofbirth", "birthyear", "approximatebirthyear"),
    "nationality": ("nationality", "countryoforigin", "country"),
    "preferred_languages": (
        "languages",
        "preferredlanguages",
        "preferredlanguage",
        "language",
    ),
    "phone": ("phone", "phonenumber", "mobile", "mobilenumber", "telephone", "contactnumber"),
    "site": ("site", "programmesite", "atoll"),
    "address": ("island", "address"),
    "employer": ("employer", "employername", "company"),
    "document_type": ("documenttype", "doctype", "idtype"),
    "document_number": ("documentnumber", "documentno", "docnumber", "docno", "idnumber"),
    "document_country": ("documentcountry", "issuingcountry", "documentissuingcountry"),
    "vulnerabilities": ("vulnerabilities", "vulnerability"),
    "consent_purposes": ("consentpurposes", "consentpurpose", "consent"),
    "consent_method": ("consentmethod",),
    "notice_language": ("noticelanguage", "privacynoticelanguage"),
    "issue_card": ("issuecard", "bencard", "card"),
}
FIELDS = tuple(ALIASES)

# The header a user would add for a field the file lacks; also how errors name such fields.
SUGGESTED_HEADER = {
    "row_key": "row_key",
    "full_name": "Full name",
    "other_names": "Other names",
    "sex": "Sex",
    "date_of_birth": "Date of birth",
    "approximate_birth_year": "Year of birth",
    "nationality": "Nationality",
    "preferred_languages": "Languages",
    "phone": "Phone",
    "site": "Site",
    "address": "Address",
    "employer": "Employer",
    "document_type": "Document type",
    "document_number": "Document number",
    "document_country": "Document country",
    "vulnerabilities": "Vulnerabilities",
    "consent_purposes": "Consent purposes",
    "consent_method": "Consent method",
    "notice_language": "Notice language",
    "issue_card": "Issue card",
}

# Where MigrantCreate's nested fields come from, for naming the column of an error.
FIELD_OF_PATH = {
    "consent": "consent_purposes",
    "consent.purposes": "consent_purposes",
    "consent.method": "consent_method",
    "consent.notice_language": "notice_language",
    "identity_document": "document_number",
    "identity_document.type": "document_type",
    "identity_document.number": "document_number",
    "identity_document.issuing_country": "document_country",
}

COUNTRY_NAMES = {
    "bangladesh": "BD",
    "bangladeshi": "BD",
    "bgd": "BD",
    "india": "IN",
    "indian": "IN",
    "ind": "IN",
    "nepal": "NP",
    "nepali": "NP",
    "nepalese": "NP",
    "npl": "NP",
    "srilanka": "LK",
    "srilankan": "LK",
    "lka": "LK",
    "maldives": "MV",
    "maldivian": "MV",
    "mdv": "MV",
    "pakistan": "PK",
    "pakistani": "PK",
    "pak": "PK",
}

LANGUAGE_NAMES = {
    "bengali": "bn",
    "bangla": "bn",
    "hindi": "hi",
    "tamil": "ta",
    "nepali": "ne",
    "sinhala": "si",
    "sinhalese": "si",
    "dhivehi": "dv",
    "divehi": "dv",
    "english": "en",
    "urdu": "ur",
    "malayalam": "ml",
    "telugu": "te",
}

SEXES = {
    "female": "female",
    "f": "female",
    "male": "male",
    "m": "male",
    "other": "other",
    "undisclosed": "undisclosed",
}
TRUE_WORDS = frozenset({"yes", "y", "true", "1"})
FALSE_WORDS = frozenset({"no", "n", "false", "0"})
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}$")
COUNTRY_CODE = re.compile(r"^[A-Za-z]{2}$")
ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
DAY_FIRST_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


class UnusableImport(Exception):
    """The file cannot be imported at all (missing, unreadable, no name column, bad --map)."""


@dataclass(frozen=True)
class SourceRow:
    """One data row as the file holds it; ``number`` is the row number a spreadsheet shows."""

    number: int
    cells: dict[str, Cell]


@dataclass(frozen=True)
class Table:
    source: str
    headers: tuple[str, ...]
    rows: tuple[SourceRow, ...]


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    problem: str


@dataclass(frozen=True)
class ParsedRow:
    """A row ready to send (``data``), or its ``errors``; ``key`` makes re-runs idempotent."""

    row: int
    key: str
    data: dict[str, Any] | None
    errors: tuple[RowError, ...] = ()


@dataclass(frozen=True)
class ColumnMapping:
    columns: dict[str, str]  # field -> the header it is read from
    ignored: tuple[str, ...]  # headers not read, each listed once
    notes: tuple[str, ...] = ()  # why some recognisable headers were not used

    def column_for(self, path: str | None) -> str:
        """The header the user sees for a MigrantCreate field path such as ``consent.purposes``."""
        if not path:
            return "(row)"
        name = FIELD_OF_PATH.get(path) or FIELD_OF_PATH.get(path.split(".")[0])
        name = name or path.split(".")[0]
        return self.columns.get(name) or SUGGESTED_HEADER.get(name, path)

    def missing_required(self, *, default_site: str | None) -> list[str]:
        required = ["sex", "nationality", "preferred_languages", "consent_purposes"]
        required += ["notice_language"] + ([] if default_site else ["site"])
        return [name for name in required if name not in self.columns]


@dataclass(frozen=True)
class ImportPlan:
    source: str
    mapping: ColumnMapping
    rows: tuple[ParsedRow, ...]
    warnings: tuple[str, ...] = ()


# ---------------------------------------------------------------------------------- reading


def read_table(path: Path, *, sheet: str | None = None) -> Table:
    """The header and data rows of a CSV or XLSX file; blank rows are skipped, not renumbered."""
    if not path.is_file():
        raise UnusableImport(f"no such file: {path}")
    suffix = path.suffix.casefold()
    if suffix in XLSX_SUFFIXES:
        headers, rows = _read_xlsx(path, sheet)
    elif suffix in CSV_SUFFIXES:
        if sheet is not None:
            raise UnusableImport("--sheet is for .xlsx files; a CSV file has one table")
        headers, rows = _read_csv(path)
    elif suffix == ".xls":
        raise UnusableImport(f"{path.name} is an old Excel file: save it as .xlsx or CSV")
    else:
        raise UnusableImport(f"{path.name}: give a .csv or .xlsx file (KoBoToolbox exports both)")
    if not any(headers):
        raise UnusableImport(f"{path.name} has no header row: its first row must name columns")
    unique = _unique_headers(headers)
    table_rows = []
    for number, values in rows:
        cells = {
            header: _blank_to_none(value) for header, value in zip(unique, values, strict=False)
        }
        if any(value is not None for value in cells.values()):
            table_rows.append(SourceRow(number=number, cells=cells))
    # A blank header over an empty column is spreadsheet formatting, not a column to report.
    unused = {
        name
        for name, header in zip(unique, headers, strict=True)
        if not header and all(row.cells.get(name) is None for row in table_rows)
    }
    if unused:
        unique = [name for name in unique if name not in unused]
        table_rows = [
            SourceRow(row.number, {k: v for k, v in row.cells.items() if k not in unused})
            for row in table_rows
        ]
    return Table(source=path.name, headers=tuple(unique), rows=tuple(table_rows))


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, Sequence[Cell]]]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")  # also plain UTF-8; Excel's "CSV UTF-8" adds the BOM
    except UnicodeDecodeError as exc:
        raise UnusableImport(
            f"{path.name} is not UTF-8 text (byte {exc.start}): in Excel use "
            "'Save as > CSV UTF-8', or export the .xlsx instead"
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        records = list(reader)
    except csv.Error as exc:
        raise UnusableImport(f"{path.name} is not a readable CSV file: {exc}") from None
    if not records:
        raise UnusableImport(f"{path.name} is empty")
    # A spreadsheet numbers records, not text lines: a cell with a line break is still one row.
    return [h.strip() for h in records[0]], list(enumerate(records[1:], start=2))


def _delimiter(text: str) -> str:
    """Comma, semicolon (Excel in many locales) or tab: whichever the header line uses most."""
    header = text.split("\n", 1)[0]
    counts = {delimiter: header.count(delimiter) for delimiter in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _read_xlsx(path: Path, sheet: str | None) -> tuple[list[str], list[tuple[int, Sequence[Cell]]]]:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise UnusableImport(f"{path.name} is not a readable .xlsx file: {exc}") from None
    try:
        names: list[str] = list(book.sheetnames)
        if sheet is not None and sheet not in names:
            raise UnusableImport(f"{path.name} has no sheet {sheet!r}; its sheets: {names}")
        worksheet = book[sheet] if sheet is not None else book.worksheets[0]
        rows: list[tuple[int, Sequence[Cell]]] = [
            (number, tuple(values))
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1)
        ]
    finally:
        book.close()
    if not rows:
        raise UnusableImport(f"sheet {worksheet.title!r} of {path.name} is empty")
    headers = ["" if value is None else str(value).strip() for value in rows[0][1]]
    return headers, rows[1:]


def _unique_headers(headers: Sequence[str]) -> list[str]:
    """Blank headers get their column letter and repeats a suffix, so every cell keeps a name."""
    unique: list[str] = []
    for index, header in enumerate(headers):
        name = header or f"column {_column_letter(index)}"
        candidate, copy = name, 2
        while candidate in unique:
            candidate, copy = f"{name} ({copy})", copy + 1
        unique.append(candidate)
    return unique


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def _blank_to_none(value: Cell) -> Cell:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# ---------------------------------------------------------------------------------- mapping


def normalise_header(header: str) -> str:
    """``"group_personal/Full name"`` -> ``"fullname"``: KoBo group paths keep their last part."""
    last = header.rsplit("/", 1)[-1]
    return "".join(c for c in last.casefold() if c.isalnum())


def parse_overrides(options: Iterable[str]) -> dict[str, str]:
    """``["Nom complet=full_name"]`` -> ``{"Nom complet": "full_name"}``; unknown fields refused."""
    overrides: dict[str, str] = {}
    for option in options:
        header, sep, target = option.rpartition("=")
        header, target = header.strip(), target.strip()
        if not sep or not header or not target:
            raise UnusableImport(f"--map {option!r}: write it as --map 'Header=field'")
        if target not in FIELDS and target != IGNORE:
            raise UnusableImport(
                f"--map {option!r}: {target!r} is not a field; use one of "
                f"{', '.join(FIELDS)}, or {IGNORE!r} to skip the column"
            )
        overrides[header] = target
    return overrides


def map_columns(
    headers: Sequence[str],
    policy: NeverCollectedPolicy,
    overrides: Mapping[str, str] | None = None,
) -> ColumnMapping:
    """Which header feeds which field; raises NeverCollected or UnusableImport for the file."""
    overrides = overrides or {}
    forbidden = policy.forbidden_names(headers)
    if forbidden:
        raise NeverCollected(policy.refusal_message(forbidden), details={"fields": forbidden})
    chosen: dict[str, str] = {}
    overridden: set[str] = set()
    for wanted, target in overrides.items():
        header = _find_header(headers, wanted)
        overridden.add(header)
        if target != IGNORE:
            chosen[target] = header
    candidates: dict[str, list[tuple[int, str]]] = {}
    for header in headers:
        if header in overridden:
            continue
        guessed = _guess_field(header)
        if guessed is not None:
            candidates.setdefault(guessed[0], []).append((guessed[1], header))
    notes: list[str] = []
    for name, found in candidates.items():
        found.sort()
        if name not in chosen:
            chosen[name] = found[0][1]
        for _, header in found:
            if header != chosen[name]:
                notes.append(f"{header!r} also looks like {name}; {chosen[name]!r} is used")
    if "full_name" not in chosen:
        raise UnusableImport(
            "no column holds the person's name: name one 'Full name' (or 'name'), "
            "or map it with --map 'Your header=full_name'"
        )
    used = set(chosen.values())
    ignored = tuple(header for header in headers if header not in used)
    ordered = {name: chosen[name] for name in FIELDS if name in chosen}
    return ColumnMapping(columns=ordered, ignored=ignored, notes=tuple(notes))


def _find_header(headers: Sequence[str], wanted: str) -> str:
    if wanted in headers:
        return wanted
    matches = [h for h in headers if normalise_header(h) == normalise_header(wanted)]
    if len(matches) != 1:
        raise UnusableImport(
            f"--map names the column {wanted!r}, which the file does not have; "
            f"its columns are: {', '.join(headers)}"
        )
    return matches[0]


def _guess_field(header: str) -> tuple[str, int] | None:
    normal = normalise_header(header)
    for name, aliases in ALIASES.items():
        if normal in aliases:
            return name, aliases.index(normal)
    return None


# ---------------------------------------------------------------------------------- parsing


class _Bad(Exception):
    """A cell that cannot be read; the message says what to write instead."""


def plan_import(
    path: Path,
    policy: NeverCollectedPolicy,
    *,
    overrides: Mapping[str, str] | None = None,
    sheet: str | None = None,
    default_site: str | None = None,
) -> ImportPlan:
    """Read, map and check a whole file: what ``bensys import`` sends, and what it reports."""
    table = read_table(path, sheet=sheet)
    mapping = map_columns(table.headers, policy, overrides)
    warnings = list(mapping.notes)
    if mapping.ignored:
        warnings.append(f"ignored columns (not imported): {', '.join(mapping.ignored)}")
    missing = mapping.missing_required(default_site=default_site)
    if missing:
        named = ", ".join(SUGGESTED_HEADER[name] for name in missing)
        warnings.append(f"no column for {named}: every row will be refused until one is added")
    rows = parse_rows(table, mapping, default_site=default_site)
    return ImportPlan(table.source, mapping, tuple(rows), tuple(warnings))


def parse_rows(
    table: Table, mapping: ColumnMapping, *, default_site: str | None = None
) -> list[ParsedRow]:
    parsed: list[ParsedRow] = []
    first_with_key: dict[str, int] = {}
    for source in table.rows:
        row = parse_row(source, mapping, default_site=default_site)
        earlier = first_with_key.setdefault(row.key, row.row)
        if earlier != row.row:
            row = ParsedRow(row.row, row.key, None, (*row.errors, _repeat(row, earlier, mapping)))
        parsed.append(row)
    return parsed


def _repeat(row: ParsedRow, earlier: int, mapping: ColumnMapping) -> RowError:
    if "row_key" in mapping.columns:
        return RowError(
            row.row,
            mapping.columns["row_key"],
            f"row key {row.key!r} is also on row {earlier}: give every row its own key",
        )
    return RowError(row.row, "(row)", f"repeats row {earlier} exactly: delete one of them")


def parse_row(
    source: SourceRow, mapping: ColumnMapping, *, default_site: str | None = None
) -> ParsedRow:
    """One row: a dict for MigrantCreate, or every problem found in it at once."""
    errors: list[RowError] = []
    values: dict[str, Any] = {}
    facts: dict[str, Any] = {}  # what the row says, for its hash: parsed, or as written
    for name, header in mapping.columns.items():
        cell = source.cells.get(header)
        if cell is None:
            continue
        try:
            values[name] = facts[name] = PARSERS[name](cell)
        except _Bad as bad:
            errors.append(RowError(source.number, header, str(bad)))
            facts[name] = _text(cell)
    key = values.get("row_key") or row_hash(facts)
    if values.get("site") is None and default_site:
        values["site"] = default_site
    errors += _required(source.number, values, mapping, errors)
    data = _assemble(values, source.number, mapping, errors)
    if len(key) > MAX_KEY_LENGTH:
        header = mapping.columns.get("row_key", "row_key")
        errors.append(RowError(source.number, header, f"longer than {MAX_KEY_LENGTH} characters"))
    if errors:
        return ParsedRow(source.number, key, None, tuple(errors))
    try:
        MigrantCreate.model_validate(data)
    except ValidationError as invalid:
        problems = [
            RowError(
                source.number,
                mapping.column_for(".".join(str(p) for p in error["loc"] if isinstance(p, str))),
                str(error["msg"]).removeprefix("Value error, "),
            )
            for error in invalid.errors()
        ]
        return ParsedRow(source.number, key, None, tuple(problems))
    return ParsedRow(source.number, key, data)


REQUIRED_PROBLEMS = {
    "full_name": "empty: give the person's full name",
    "sex": "empty: give female, male, other or undisclosed",
    "nationality": "empty: give the country as a two-letter code such as BD, IN, NP, LK",
    "preferred_languages": "empty: give at least one language code such as bn, hi, en",
    "site": "empty: give the programme site, e.g. Greater Malé",
    "consent_purposes": (
        "no consent recorded: give what the person agreed to, e.g. 'registration' "
        "(BenSys never assumes consent)"
    ),
    "notice_language": "empty: give the language of the privacy notice, e.g. bn",
}


def _required(
    row: int, values: Mapping[str, Any], mapping: ColumnMapping, errors: Sequence[RowError]
) -> list[RowError]:
    already = {error.column for error in errors}
    found = []
    for name, problem in REQUIRED_PROBLEMS.items():
        column = mapping.column_for(name)
        if values.get(name) not in (None, []) or column in already:
            continue
        if name not in mapping.columns:
            how = (
                "use --site for the whole file"
                if name == "site"
                else f"map a column with --map 'Header={name}'"
            )
            problem = f"the file has no {column!r} column: add one, or {how}"  # noqa: PLW2901
        found.append(RowError(row, column, problem))
    return found


def _assemble(
    values: dict[str, Any], row: int, mapping: ColumnMapping, errors: list[RowError]
) -> dict[str, Any]:
    data = {
        name: values[name]
        for name in (
            "full_name",
            "other_names",
            "sex",
            "date_of_birth",
            "approximate_birth_year",
            "nationality",
            "preferred_languages",
            "phone",
            "site",
            "address",
            "employer",
            "vulnerabilities",
            "issue_card",
        )
        if values.get(name) is not None
    }
    born, year = values.get("date_of_birth"), values.get("approximate_birth_year")
    if born is not None and year is not None:
        if int(born[:4]) == year:  # a form that fills both agrees with itself: keep the date
            del data["approximate_birth_year"]
        else:
            errors.append(
                RowError(
                    row,
                    mapping.column_for("approximate_birth_year"),
                    f"year {year} disagrees with the date of birth {born}: "
                    "keep only the one that is right",
                )
            )
    consent: dict[str, Any] = {"purposes": values.get("consent_purposes") or []}
    for name, key in (("consent_method", "method"), ("notice_language", "notice_language")):
        if values.get(name) is not None:
            consent[key] = values[name]
    data["consent"] = consent
    number, kind = values.get("document_number"), values.get("document_type")
    if number is not None or kind is not None:
        if number is None:
            errors.append(_document_half(row, mapping, "document_number", "number"))
        elif kind is None:
            errors.append(_document_half(row, mapping, "document_type", "type"))
        document = {"type": kind, "number": number}
        if values.get("document_country") is not None:
            document["issuing_country"] = values["document_country"]
        data["identity_document"] = document
    return data


def _document_half(row: int, mapping: ColumnMapping, name: str, half: str) -> RowError:
    hint = "passport, national_id, employer_id or other" if half == "type" else "the number"
    return RowError(
        row,
        mapping.column_for(name),
        f"a document needs its {half} too: give {hint}, or leave the document out",
    )


def row_hash(facts: Mapping[str, Any]) -> str:
    """The key of a row without a key column: what it says, normalised, hashed.

    Hashed by field, not header, and after parsing, so a renamed column, ``F`` for ``female``,
    or an XLSX date cell for a CSV's ``14/03/1991`` do not make an imported row look new; case
    and spacing are ignored too, so a re-export with a tidied name is recognised as the same
    row (and reported as changed) rather than registering the person twice.
    """
    normal = {name: _normal(value) for name, value in facts.items() if name != "row_key"}
    encoded = json.dumps(normal, sort_keys=True, ensure_ascii=False).encode()
    return hashlib.sha256(encoded).hexdigest()


def _normal(value: Any) -> Any:
    if isinstance(value, str):
        return " ".join(value.split()).casefold()
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value


# ---------------------------------------------------------------------------------- cells


def _text(cell: Cell) -> str:
    if isinstance(cell, bool):
        return "yes" if cell else "no"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))  # Excel stores 7771234 and 1990 as floats
    if isinstance(cell, datetime):
        return cell.isoformat()
    return " ".join(str(cell).split())


def _split(text: str, separators: str) -> list[str]:
    return [part.strip() for part in re.split(f"[{re.escape(separators)}]", text) if part.strip()]


def _codes(text: str) -> list[str]:
    """``"female_worker pregnant"`` (KoBo select_multiple) or ``"Female worker; Pregnant"``."""
    parts = _split(text, ",;|") if re.search(r"[,;|]", text) else text.split()
    return [re.sub(r"[\s\-]+", "_", part.casefold()) for part in parts]


def parse_text(cell: Cell) -> str:
    return _text(cell)


def parse_names(cell: Cell) -> list[str]:
    return _split(_text(cell), ";|")


def parse_sex(cell: Cell) -> str:
    text = _text(cell)
    sex = SEXES.get(text.casefold())
    if sex is None:
        raise _Bad(f"{text!r} is not one of female, male, other, undisclosed (or F, M)")
    return sex


def parse_date(cell: Cell) -> str:
    """YYYY-MM-DD, DD/MM/YYYY, or a date cell or serial number from Excel, as YYYY-MM-DD."""
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    if (
        isinstance(cell, int | float)
        and not isinstance(cell, bool)
        and EXCEL_SERIALS[0] <= cell <= EXCEL_SERIALS[1]
    ):
        return (EXCEL_EPOCH + timedelta(days=int(cell))).isoformat()
    text = _text(cell)
    iso, day_first = ISO_DATE.match(text), DAY_FIRST_DATE.match(text)
    try:
        if iso:
            return date(int(iso[1]), int(iso[2]), int(iso[3])).isoformat()
        if day_first:
            return date(int(day_first[3]), int(day_first[2]), int(day_first[1])).isoformat()
    except ValueError:
        raise _Bad(f"{text!r} is not a real date: check the day and the month") from None
    raise _Bad(f"{text!r} is not a date: write it as YYYY-MM-DD or DD/MM/YYYY")


def parse_year(cell: Cell) -> int:
    text = _text(cell)
    if not re.fullmatch(r"\d{4}", text):
        raise _Bad(f"{text!r} is not a year: write four digits, e.g. 1990")
    return int(text)


def parse_country(cell: Cell) -> str:
    text = _text(cell)
    code = COUNTRY_NAMES.get("".join(c for c in text.casefold() if c.isalnum()))
    if code is not None:
        return code
    if COUNTRY_CODE.match(text):
        return text.upper()
    raise _Bad(f"{text!r} is not a country: give a two-letter code such as BD, IN, NP, LK, MV")


def _language(part: str) -> str:
    code = LANGUAGE_NAMES.get(part.casefold(), part.casefold())
    if not LANGUAGE_CODE.match(code):
        raise _Bad(f"{part!r} is not a language code: use codes such as bn, hi, ta, ne, si, dv, en")
    return code


def parse_languages(cell: Cell) -> list[str]:
    return list(dict.fromkeys(_language(part) for part in _split(_text(cell), ",; |\t")))


def parse_notice_language(cell: Cell) -> str:
    return _language(_text(cell))


def parse_codes(cell: Cell) -> list[str]:
    return list(dict.fromkeys(_codes(_text(cell))))


def parse_code(cell: Cell) -> str:
    return re.sub(r"[\s\-]+", "_", _text(cell).casefold())


def parse_bool(cell: Cell) -> bool:
    if isinstance(cell, bool):
        return cell
    text = _text(cell).casefold()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise _Bad(f"{_text(cell)!r} is not yes or no: write yes or no")


PARSERS: dict[str, Callable[[Cell], Any]] = {
    "row_key": parse_text,
    "full_name": parse_text,
    "other_names": parse_names,
    "sex": parse_sex,
    "date_of_birth": parse_date,
    "approximate_birth_year": parse_year,
    "nationality": parse_country,
    "preferred_languages": parse_languages,
    "phone": parse_text,
    "site": parse_text,
    "address": parse_text,
    "employer": parse_text,
    "document_type": parse_code,
    "document_number": parse_text,
    "document_country": parse_country,
    "vulnerabilities": parse_codes,
    "consent_purposes": parse_codes,
    "consent_method": parse_code,
    "notice_language": parse_notice_language,
    "issue_card": parse_bool,
}
