"""``bensys audit verify``: every service's event store checked for tampering, in one report.

Each service checks its own store's chains (``GET /audit/verify``, ARCHITECTURE §5); this asks
all five and names every event that was changed, removed, moved or made unreadable.

Exit codes: 0 every chain is intact, 1 problems were found (each is printed), 3 a service could
not be reached or refused the request (nothing can be said about its store).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import httpx

from bensys.stack import DEFAULT_SERVICE_PORTS, SERVICES
from bensys.tokens import bearer
from shared.auth import Role

EXIT_INTACT, EXIT_TAMPERED, EXIT_SERVICE = 0, 1, 3


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="check the audit trail")
    actions = audit.add_subparsers(dest="action", required=True)
    verify = actions.add_parser("verify", help="check every stream's chain hash, everywhere")
    verify.add_argument(
        "--first-service-port",
        type=int,
        default=DEFAULT_SERVICE_PORTS[SERVICES[0]],
        help="as given to `bensys up` (default 8001)",
    )
    verify.add_argument(
        "--url",
        action="append",
        default=None,
        help="a service's base URL instead (repeat for several)",
    )
    verify.add_argument("--token", default=None, help="an auditor's token (default: $BENSYS_TOKEN)")
    verify.set_defaults(handler=_verify)


def _verify(args: argparse.Namespace) -> int:
    urls = args.url or [
        f"http://127.0.0.1:{args.first_service_port + i}" for i in range(len(SERVICES))
    ]
    headers = bearer(args.token, Role.auditor)
    worst = EXIT_INTACT
    for url in urls:
        report = _report(url, headers)
        if report is None:
            worst = EXIT_SERVICE
            continue
        print(
            f"{report['service']}: {report['events']:,} events in {report['streams']:,} "
            f"streams, "
            + ("intact" if report["intact"] else f"{report['problems_total']:,} problem(s)")
        )
        for problem in report["problems"]:
            where = f"version {problem['version']}" if problem["version"] else "a document"
            event = f" (event {problem['event_id']})" if problem["event_id"] else ""
            print(
                f"  {problem['problem'].upper()}: {problem['stream_id']} {where}{event}: "
                f"{problem['detail']}"
            )
        if not report["intact"] and worst == EXIT_INTACT:
            worst = EXIT_TAMPERED
    return worst


def _report(url: str, headers: dict[str, str]) -> dict[str, Any] | None:
    try:
        response = httpx.get(f"{url}/audit/verify", headers=headers, timeout=600)
    except httpx.HTTPError as error:
        print(f"bensys audit verify: {url} could not be reached: {error}", file=sys.stderr)
        return None
    if response.status_code != 200:
        print(
            f"bensys audit verify: {url} answered {response.status_code}: {response.text[:300]}",
            file=sys.stderr,
        )
        return None
    report: dict[str, Any] = response.json()
    return report
