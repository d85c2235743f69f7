"""``bensys import migrants FILE``: a KoBoToolbox export or spreadsheet into the registry.

The file is read and checked here, on the operator's machine, so that a bad header or a
never-collected column is refused before a single row leaves it, and so that errors name the
spreadsheet's own rows and columns. The registry then checks every row again through
``POST /imports`` (policies, duplicate checks) in batches; a dry run stores nothing. Each row's
key makes re-running the same file safe: rows already imported are recognised, not doubled.

Exit codes: 0 every row imported (or would be), 1 some rows are invalid, 2 the file cannot be
used at all, 3 the registry could not be reached or refused the request (running again is safe).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from shared.auth import Role, mint_token
from shared.policy import NeverCollected, NeverCollectedPolicy
from shared.settings import DEFAULT_NEVER_COLLECTED, DEV_JWT_SECRET

if TYPE_CHECKING:  # imported when the command runs, so other commands start quickly
    import httpx

    from bensys.importing import ImportPlan, ParsedRow

DEFAULT_REGISTRY_URL = "http://127.0.0.1:8001"
MAX_BATCH = 1000  # what POST /imports accepts in one request
EXIT_OK, EXIT_INVALID_ROWS, EXIT_UNUSABLE, EXIT_REGISTRY = 0, 1, 2, 3


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``bensys import migrants``; the only thing cli.py needs to know about importing."""
    importing = commands.add_parser("import", help="import people from a CSV or XLSX list")
    kinds = importing.add_subparsers(dest="kind", required=True)
    migrants = kinds.add_parser(
        "migrants",
        help="register migrants from a KoBoToolbox export or spreadsheet",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrants.add_argument("file", type=Path, help="a .csv or .xlsx file; header on row 1")
    migrants.add_argument(
        "--dry-run", action="store_true", help="check every row and report; store nothing"
    )
    migrants.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="HEADER=FIELD",
        help="read a column as a field, e.g. --map 'Nom=full_name'; FIELD 'ignore' skips it",
    )
    migrants.add_argument("--sheet", default=None, help="the .xlsx sheet (default: the first)")
    migrants.add_argument(
        "--registry-url",
        default=os.environ.get("BENSYS_REGISTRY_URL", DEFAULT_REGISTRY_URL),
        help=f"default: $BENSYS_REGISTRY_URL or {DEFAULT_REGISTRY_URL}",
    )
    who = migrants.add_mutually_exclusive_group()
    who.add_argument("--token", default=None, help="a bearer token (default: $BENSYS_TOKEN)")
    who.add_argument(
        "--role",
        default=None,
        choices=[Role.registrar.value, Role.admin.value],
        help="mint a development token for this role (default: registrar)",
    )
    migrants.add_argument(
        "--site", default=None, help="site of rows without one, and of a minted token"
    )
    migrants.add_argument(
        "--batch", type=_batch_size, default=200, help="rows per request (1-1000, default 200)"
    )
    migrants.set_defaults(handler=run)


def _batch_size(text: str) -> int:
    size = int(text)
    if not 1 <= size <= MAX_BATCH:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_BATCH}, not {size}")
    return size


@dataclass
class Outcome:
    """What became of one row, as the report shows it."""

    row: int
    status: str
    problems: list[tuple[str, str]] = field(default_factory=list)  # (column, problem)
    migrant_id: str | None = None
    likely_duplicates: list[dict[str, Any]] = field(default_factory=list)


class RegistryRefused(Exception):
    """The registry could not be reached or refused a whole batch."""


def run(
    args: argparse.Namespace,
    *,
    transport: httpx.BaseTransport | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    import httpx  # noqa: PLC0415 - see TYPE_CHECKING above

    from bensys.importing import UnusableImport, parse_overrides, plan_import  # noqa: PLC0415

    out, err = out or sys.stdout, err or sys.stderr
    policy = NeverCollectedPolicy(DEFAULT_NEVER_COLLECTED)
    try:
        plan = plan_import(
            args.file,
            policy,
            overrides=parse_overrides(args.map),
            sheet=args.sheet,
            default_site=args.site,
        )
    except NeverCollected as refused:
        print(f"bensys import: nothing imported. {refused.message}", file=err)
        return EXIT_UNUSABLE
    except UnusableImport as unusable:
        print(f"bensys import: {unusable}", file=err)
        return EXIT_UNUSABLE
    for warning in plan.warnings:
        print(f"warning: {warning}", file=err)
    if not plan.rows:
        print(f"bensys import: {plan.source} has a header but no data rows", file=err)
        return EXIT_UNUSABLE
    client = httpx.Client(
        base_url=args.registry_url,
        headers={"Authorization": f"Bearer {_token(args)}"},
        timeout=httpx.Timeout(300, connect=10),
        transport=transport,
    )
    progress = Progress(len(plan.rows), err)
    outcomes: list[Outcome] = []
    try:
        with client:
            for chunk in _chunks(plan.rows, args.batch):
                outcomes += _send(client, plan, chunk, dry_run=args.dry_run)
                progress.advance(len(chunk))
    except RegistryRefused as refused:
        progress.finish()
        done = "checked" if args.dry_run else "imported"
        print(
            f"bensys import: {refused}\n{len(outcomes)} of {len(plan.rows)} rows were {done} "
            "before this; running the same command again is safe.",
            file=err,
        )
        return EXIT_REGISTRY
    progress.finish()
    print(report(plan, outcomes, dry_run=args.dry_run), file=out)
    invalid = any(outcome.status == "invalid" for outcome in outcomes)
    return EXIT_INVALID_ROWS if invalid else EXIT_OK


def _token(args: argparse.Namespace) -> str:
    if args.token:
        token: str = args.token
        return token
    if args.role is None and os.environ.get("BENSYS_TOKEN"):
        return os.environ["BENSYS_TOKEN"]
    return mint_token(
        secret=os.environ.get("BENSYS_JWT_SECRET", DEV_JWT_SECRET),
        role=args.role or Role.registrar,
        site=args.site,
    )


def _chunks(rows: Sequence[ParsedRow], size: int) -> Iterator[Sequence[ParsedRow]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _send(
    client: httpx.Client, plan: ImportPlan, chunk: Sequence[ParsedRow], *, dry_run: bool
) -> list[Outcome]:
    """One batch: rows refused here are reported as they are; the rest go to the registry."""
    outcomes = {
        row.row: Outcome(row.row, "invalid", [(e.column, e.problem) for e in row.errors])
        for row in chunk
        if row.data is None
    }
    ready = [row for row in chunk if row.data is not None]
    if ready:
        body = {
            "source": plan.source,
            "dry_run": dry_run,
            "rows": [{"row": row.row, "key": row.key, "data": row.data} for row in ready],
        }
        for result in _post(client, body)["rows"]:
            outcomes[result["row"]] = Outcome(
                row=result["row"],
                status=result["status"],
                problems=[
                    (plan.mapping.column_for(e.get("field")), e["problem"])
                    for e in result.get("errors", [])
                ],
                migrant_id=result.get("migrant_id"),
                likely_duplicates=result.get("likely_duplicates", []),
            )
    return [outcomes[row] for row in sorted(outcomes)]


def _post(client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    import httpx  # noqa: PLC0415 - see TYPE_CHECKING above

    try:
        response = client.post("/imports", json=body)
    except httpx.HTTPError as exc:
        raise RegistryRefused(
            f"cannot reach the registry at {client.base_url} ({exc}): is BenSys up?"
        ) from None
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:300]
        raise RegistryRefused(
            f"the registry refused the import ({response.status_code}): {message}"
        )
    answer: dict[str, Any] = response.json()
    return answer


def report(plan: ImportPlan, outcomes: Sequence[Outcome], *, dry_run: bool) -> str:
    """Errors by row and column, likely duplicates, then the totals and what to do next."""
    lines: list[str] = []
    invalid = [o for o in outcomes if o.status == "invalid"]
    if invalid:
        lines.append("Rows to fix:")
        lines += [
            f"  row {o.row}, {column}: {problem}" for o in invalid for column, problem in o.problems
        ]
    doubles = [o for o in outcomes if o.likely_duplicates]
    if doubles:
        # A person listed twice in one file is matched to the row imported just before.
        row_of = {o.migrant_id: o.row for o in outcomes if o.migrant_id}
        lines.append("Likely duplicates (check them in BenSys; nothing was merged):")
        lines += [
            f"  row {o.row}: may be {d['migrant_id']}"
            + (
                f" (row {row_of[d['migrant_id']]} of this file)"
                if d["migrant_id"] in row_of
                else ""
            )
            + f", score {d['score']}, matched {', '.join(d['matched'])}"
            for o in doubles
            for d in o.likely_duplicates
        ]
    shown = ("would_register" if dry_run else "registered", "already_imported", "invalid")
    totals = ", ".join(
        f"{sum(1 for o in outcomes if o.status == status)} {_STATUS_WORDS[status]}"
        for status in shown
    )
    totals += f", {len(doubles)} with likely duplicates"
    if dry_run:
        lines.append(f"Dry run of {plan.source}: {totals}. Nothing was written.")
    else:
        lines.append(f"Imported {plan.source}: {totals}.")
    if invalid:
        lines.append(
            "Fix the rows above and run again: rows already imported are recognised, "
            "not registered twice."
        )
    return "\n".join(lines)


_STATUS_WORDS = {
    "registered": "registered",
    "would_register": "would be registered",
    "already_imported": "already imported",
    "invalid": "invalid",
}


class Progress:
    """``[#####.....] 120/500 rows`` redrawn in place on a terminal, or one line per batch
    when stderr is a file or a pipe (where carriage returns would make an unreadable log)."""

    def __init__(self, total: int, stream: TextIO, width: int = 30) -> None:
        self.total, self.stream, self.width, self.done = total, stream, width, 0
        self.live = stream.isatty()

    def advance(self, count: int) -> None:
        self.done = min(self.total, self.done + count)
        filled = self.width * self.done // self.total if self.total else self.width
        bar = f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} rows"
        if self.live:
            self.stream.write(f"\r{bar}")
        else:
            self.stream.write(f"{bar}\n")
        self.stream.flush()

    def finish(self) -> None:
        if self.live and self.done:
            self.stream.write("\n")
            self.stream.flush()
