"""``bensys cards …`` (also ``bensys card …``): offline verification and batch printing.

``sync`` downloads what an offline verifier needs while a connection exists: the issuer's
public keys and the signed revocation list. ``verify`` then checks a credential with those two
files alone, as a vaccination post in an atoll without connectivity would; it refuses a list
older than ``--max-list-age-hours`` because a stale list cannot know of recent revocations.
``print`` fetches A4 sheets of a site's active cards from the cards service.

Exit codes: 0 valid (or done), 1 the card is not valid, 2 the keys or the list cannot be used,
3 the cards service could not be reached or refused the request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bensys.tokens import bearer
from shared.auth import Role
from shared.bencard.offline import OfflineVerifier
from shared.bencard.revocations import RevocationListRejected

DEFAULT_CARDS_URL = "http://127.0.0.1:8002"
DEFAULT_VERIFIER_DIR = Path("bencard-verifier")
DEFAULT_MAX_LIST_AGE_HOURS = 168.0
EXIT_OK, EXIT_NOT_VALID, EXIT_UNUSABLE, EXIT_SERVICE = 0, 1, 2, 3


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cards = commands.add_parser("cards", aliases=["card"], help="verify and print BenCards")
    actions = cards.add_subparsers(dest="action", required=True)

    sync = actions.add_parser("sync", help="download the issuer keys and the revocation list")
    _cards_url(sync)
    sync.add_argument("--dir", type=Path, default=DEFAULT_VERIFIER_DIR, help="where to save")
    sync.set_defaults(handler=_sync)

    verify = actions.add_parser("verify", help="check a credential offline")
    verify.add_argument("credential", help="the QR code's text ('BC1:…'), or - to read stdin")
    verify.add_argument("--dir", type=Path, default=DEFAULT_VERIFIER_DIR, help="from sync")
    verify.add_argument("--jwks", type=Path, default=None, help="default: DIR/jwks.json")
    verify.add_argument(
        "--revocations", type=Path, default=None, help="default: DIR/revocations.json"
    )
    verify.add_argument(
        "--max-list-age-hours",
        type=float,
        default=float(
            os.environ.get("BENSYS_REVOCATION_LIST_MAX_AGE_HOURS", DEFAULT_MAX_LIST_AGE_HOURS)
        ),
        help="refuse an older revocation list (default: 168, one week)",
    )
    verify.set_defaults(handler=_verify)

    printing = actions.add_parser("print", help="A4 sheets of a site's active cards (PDF)")
    printing.add_argument("--site", required=True, help="e.g. 'Kdh Atoll'")
    printing.add_argument("--out", type=Path, default=Path("bencards.pdf"))
    _cards_url(printing)
    printing.add_argument("--token", default=None, help="a bearer token (default: $BENSYS_TOKEN)")
    printing.set_defaults(handler=_print)


def _cards_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--cards-url",
        default=os.environ.get("BENSYS_CARDS_URL", DEFAULT_CARDS_URL),
        help=f"default: $BENSYS_CARDS_URL or {DEFAULT_CARDS_URL}",
    )


def _sync(args: argparse.Namespace) -> int:
    try:
        with httpx.Client(base_url=args.cards_url, timeout=30) as client:
            keys = _get_json(client, "/.well-known/jwks.json")
            revocations = _get_json(client, "/revocations")
    except (httpx.HTTPError, ValueError) as error:
        print(f"bensys cards sync: {error}", file=sys.stderr)
        return EXIT_SERVICE
    args.dir.mkdir(parents=True, exist_ok=True)
    (args.dir / "jwks.json").write_text(json.dumps(keys, indent=2))
    (args.dir / "revocations.json").write_text(json.dumps(revocations, indent=2))
    count = len(revocations["payload"]["pseudonyms"])
    print(
        f"Saved {len(keys['keys'])} issuer key(s) and a list of {count} revoked card(s) "
        f"issued at {revocations['payload']['issued_at']} to {args.dir}/"
    )
    return EXIT_OK


def _get_json(client: Any, path: str) -> Any:
    response = client.get(path)
    if response.status_code != 200:
        raise ValueError(f"{path} answered {response.status_code}: {response.text[:200]}")
    return response.json()


def _verify(args: argparse.Namespace) -> int:
    jwks_path = args.jwks or args.dir / "jwks.json"
    list_path = args.revocations or args.dir / "revocations.json"
    credential = sys.stdin.read().strip() if args.credential == "-" else args.credential.strip()
    try:
        verifier = OfflineVerifier(
            json.loads(jwks_path.read_text()),
            json.loads(list_path.read_text()),
            max_list_age=timedelta(hours=args.max_list_age_hours),
        )
    except (OSError, ValueError, KeyError) as error:
        print(f"bensys cards verify: cannot use the keys or the list: {error}", file=sys.stderr)
        print("Run `bensys cards sync` while connected to fetch them.", file=sys.stderr)
        return EXIT_UNUSABLE
    except RevocationListRejected as error:
        print(f"bensys cards verify: the revocation list is refused: {error}", file=sys.stderr)
        print("Run `bensys cards sync` while connected to fetch a fresh one.", file=sys.stderr)
        return EXIT_UNUSABLE
    result = verifier.verify(credential)
    print(f"{result.status.upper()}: {result.reason}")
    if result.claims is not None:
        claims = result.claims
        print(f"  Card number:   {claims.card_number}")
        print(f"  Name:          {claims.name}")
        print(f"  Sex:           {claims.sex}")
        print(f"  Year of birth: {claims.birth_year or 'not known'}")
        print(f"  Valid until:   {claims.expires_at.date().isoformat()}")
    return EXIT_OK if result.valid else EXIT_NOT_VALID


def _print(args: argparse.Namespace) -> int:
    headers = bearer(args.token, Role.registrar)
    try:
        response = httpx.get(
            f"{args.cards_url}/cards/sheets",
            params={"site": args.site},
            headers=headers,
            timeout=300,
        )
    except httpx.HTTPError as error:
        print(
            f"bensys cards print: the cards service could not be reached: {error}", file=sys.stderr
        )
        return EXIT_SERVICE
    if response.status_code != 200:
        print(f"bensys cards print: {_message(response)}", file=sys.stderr)
        return EXIT_SERVICE
    args.out.write_bytes(response.content)
    print(f"Wrote {args.out} ({len(response.content) // 1024} KiB) for {args.site}.")
    return EXIT_OK


def _message(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    error = body.get("error", body) if isinstance(body, dict) else body
    return str(error.get("message", error) if isinstance(error, dict) else error)
