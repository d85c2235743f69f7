"""``bensys``: the operations of BenSys from a terminal.

``bensys up`` starts the whole system; ``bensys token`` mints a development token for a role;
``bensys import migrants FILE`` registers people from a KoBoToolbox export or spreadsheet;
``bensys cards verify|sync|print`` checks BenCards offline and prints them in batches.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from pathlib import Path
from types import FrameType

from bensys import (
    audit_command,
    cards_command,
    import_command,
    reporting_command,
    seed_command,
)
from bensys.stack import DEFAULT_SERVICE_PORTS, SERVICES, PortInUse, Stack, StackConfig
from shared.auth import Role, mint_token
from shared.settings import DEV_JWT_SECRET


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bensys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="start the whole system on the embedded default")
    up.add_argument("--data-dir", type=Path, default=Path(".bensys"), help="default: .bensys")
    up.add_argument("--kafka-port", type=int, default=9092)
    up.add_argument("--mongo-port", type=int, default=27017)
    up.add_argument(
        "--first-service-port",
        type=int,
        default=8001,
        help="registry gets this port, cards the next, … reporting the fifth (default 8001)",
    )
    up.set_defaults(handler=_up)

    token = commands.add_parser("token", help="mint a development token for a role")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--site", default=None, help="the site claim, e.g. 'Kdh Atoll'")
    token.add_argument("--subject", default=None, help="who; defaults to the role name")
    token.add_argument("--ttl-hours", type=float, default=8.0)
    token.set_defaults(handler=_token)

    docs = commands.add_parser("docs", help="regenerate the event contracts under docs/")
    docs.add_argument("--out", type=Path, default=Path("docs"))
    docs.set_defaults(handler=_docs)

    import_command.add_parser(commands)
    cards_command.add_parser(commands)
    audit_command.add_parser(commands)
    reporting_command.add_parser(commands)
    seed_command.add_parser(commands)

    args = parser.parse_args(argv)
    code: int = args.handler(args)
    return code


def _token(args: argparse.Namespace) -> int:
    secret = os.environ.get("BENSYS_JWT_SECRET", DEV_JWT_SECRET)
    print(
        mint_token(
            secret=secret,
            role=args.role,
            site=args.site,
            subject=args.subject,
            ttl_seconds=int(args.ttl_hours * 3600),
        )
    )
    return 0


def _docs(args: argparse.Namespace) -> int:
    from bensys.docs import write_docs  # noqa: PLC0415 - only this command needs it

    for path in write_docs(args.out):
        print(path)
    return 0


def _up(args: argparse.Namespace) -> int:
    ports = {name: args.first_service_port + i for i, name in enumerate(SERVICES)}
    config = StackConfig(
        data_dir=args.data_dir.resolve(),
        kafka_port=args.kafka_port,
        mongo_port=args.mongo_port,
        service_ports=ports if args.first_service_port != 8001 else dict(DEFAULT_SERVICE_PORTS),
    )
    stack = Stack(config)
    stopping = False

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    print(f"Starting BenSys (data in {config.data_dir}) …", flush=True)
    try:
        stack.start()
    except PortInUse as exc:
        print(f"bensys up: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"bensys up: {exc}", file=sys.stderr)
        return 1
    print(_banner(config), flush=True)
    exit_code = 0
    while not stopping:
        crashed = stack.crashed()
        if crashed:
            names = ", ".join(p.name for p in crashed)
            print(f"bensys up: {names} stopped unexpectedly; see {config.data_dir / 'logs'}")
            exit_code = 1
            break
        time.sleep(0.5)
    print("Stopping BenSys …", flush=True)
    stack.stop()
    print("BenSys stopped. Nothing was lost: data stays in " + str(config.data_dir), flush=True)
    return exit_code


def _banner(config: StackConfig) -> str:
    rows = "\n".join(
        f"  {name:<13} {config.url(name)}   (API docs: {config.url(name)}/docs)"
        for name in SERVICES
    )
    return f"""
BenSys is up on the embedded default.
{rows}
  Kafka (Tansu)  {config.kafka_bootstrap}
  MongoDB        {config.mongo_url}   (SecantusDB, files in {config.data_dir / "mongo"})
  Logs           {config.data_dir / "logs"}

Get a token:  .venv/bin/bensys token --role registrar --site "Greater Malé"
Press Ctrl-C to stop.
"""


if __name__ == "__main__":
    sys.exit(main())
