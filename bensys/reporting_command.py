"""``bensys reporting rebuild``: every reporting view rebuilt from the beginning of the log.

Asks the reporting service (``POST /admin/rebuild``), which replays every topic into fresh
views and swaps them in; reports keep answering from the old views until then.

Exit codes: 0 rebuilt, 3 the service could not be reached or refused (the live views are
unchanged).
"""

from __future__ import annotations

import argparse
import os
import sys

import httpx

from bensys.stack import DEFAULT_SERVICE_PORTS
from bensys.tokens import bearer
from shared.auth import Role

EXIT_OK, EXIT_SERVICE = 0, 3
DEFAULT_REPORTING_URL = f"http://127.0.0.1:{DEFAULT_SERVICE_PORTS['reporting']}"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reporting = commands.add_parser("reporting", help="operate the reporting service")
    actions = reporting.add_subparsers(dest="action", required=True)
    rebuild = actions.add_parser("rebuild", help="replay the whole log into fresh views")
    rebuild.add_argument(
        "--reporting-url",
        default=os.environ.get("BENSYS_REPORTING_URL", DEFAULT_REPORTING_URL),
        help=f"default: $BENSYS_REPORTING_URL or {DEFAULT_REPORTING_URL}",
    )
    rebuild.add_argument("--token", default=None, help="an admin's token (default: $BENSYS_TOKEN)")
    rebuild.add_argument(
        "--timeout-minutes", type=float, default=120, help="give up waiting after (default 120)"
    )
    rebuild.set_defaults(handler=_rebuild)


def _rebuild(args: argparse.Namespace) -> int:
    headers = bearer(args.token, Role.admin)
    try:
        response = httpx.post(
            f"{args.reporting_url}/admin/rebuild",
            headers=headers,
            timeout=httpx.Timeout(30, read=args.timeout_minutes * 60),
        )
    except httpx.HTTPError as error:
        print(f"bensys reporting rebuild: {args.reporting_url}: {error}", file=sys.stderr)
        return EXIT_SERVICE
    if response.status_code != 200:
        print(
            f"bensys reporting rebuild: {response.status_code}: {response.text[:500]}",
            file=sys.stderr,
        )
        return EXIT_SERVICE
    result = response.json()
    outcomes = result["outcomes"]
    print(
        f"Rebuilt from {result['messages']:,} messages in {result['seconds']:.1f} s into "
        f"{result['database']}: {outcomes['applied']:,} applied, {outcomes['duplicate']:,} "
        f"duplicates, {outcomes['ignored']:,} of types reporting does not read, "
        f"{len(result['skipped'])} skipped."
    )
    for skipped in result["skipped"]:
        print(
            f"  skipped {skipped['topic']}[{skipped['partition']}]@{skipped['offset']}: "
            f"{skipped['reason']}"
        )
    return EXIT_OK
