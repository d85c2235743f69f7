"""``bensys seed``: a realistic programme of several months, created through the public APIs.

Everything goes through the same HTTP endpoints the field apps use, with the same roles, so
the events, projections and reports it leaves are the real thing. Every request carries an
id derived from ``--seed`` (an Idempotency-Key or a client id), so running the same seed again
adds nothing. Registrations are dated over the months (``registered_at``, as for forms
captured on paper), deliveries, doses and calls after them.

Exit codes: 0 done, 3 a service could not be reached or refused a request it should accept.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx

from bensys.seeding import PersonPlan, SeedPlan, plan
from bensys.stack import DEFAULT_SERVICE_PORTS, SERVICES
from shared.auth import mint_token
from shared.settings import DEV_JWT_SECRET

EXIT_OK, EXIT_SERVICE = 0, 3
IN_FLIGHT = 8
BATCH = 500
T = TypeVar("T")


class SeedFailed(RuntimeError):
    pass


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    seed = commands.add_parser("seed", help="create months of realistic data through the APIs")
    seed.add_argument("--months", type=int, default=12, help="how far back (default 12)")
    seed.add_argument("--migrants", type=int, default=5000, help="people to register")
    seed.add_argument("--seed", type=int, default=1458, help="the same seed, the same data")
    seed.add_argument(
        "--first-service-port",
        type=int,
        default=DEFAULT_SERVICE_PORTS[SERVICES[0]],
        help="as given to `bensys up` (default 8001)",
    )
    seed.set_defaults(handler=_seed)


def _seed(args: argparse.Namespace) -> int:
    if args.months < 1 or args.migrants < 1:
        print("bensys seed: --months and --migrants must be at least 1", file=sys.stderr)
        return 2
    urls = {
        name: f"http://127.0.0.1:{args.first_service_port + i}" for i, name in enumerate(SERVICES)
    }
    the_plan = plan(
        months=args.months, migrants=args.migrants, seed=args.seed, now=datetime.now(UTC)
    )
    try:
        counts = asyncio.run(Seeder(urls, args.seed).run(the_plan))
    except (httpx.HTTPError, SeedFailed) as error:
        print(f"\nbensys seed: {error}", file=sys.stderr)
        return EXIT_SERVICE
    print("Seeded: " + ", ".join(f"{n:,} {what}" for what, n in counts.items()))
    return EXIT_OK


class Seeder:
    def __init__(self, urls: dict[str, str], seed: int) -> None:
        self.urls = urls
        self.seed = f"{seed}-{datetime.now(UTC):%Y%m%d}"  # the plan's day is part of its ids
        self.secret = os.environ.get("BENSYS_JWT_SECRET", DEV_JWT_SECRET)
        self.counts: Counter[str] = Counter()

    def auth(self, role: str, site: str | None = None) -> dict[str, str]:
        token = mint_token(secret=self.secret, role=role, site=site, subject=f"seed-{role}")
        return {"Authorization": f"Bearer {token}"}

    async def run(self, seed_plan: SeedPlan) -> Counter[str]:
        async with httpx.AsyncClient(timeout=120) as self.http:
            ids = await self._each("registering", seed_plan.people, self._register)
            await self._deliveries(seed_plan.people, ids)
            await self._each(
                "recording doses",
                [p for p in seed_plan.people if p.doses],
                lambda p: self._doses(p, ids[p.index]),
            )
            await self._each("logging calls", seed_plan.calls, self._call)
            await self._each("recording group activities", seed_plan.group_activities, self._group)
        return self.counts

    async def _each(
        self, what: str, items: Sequence[T], do: Callable[[T], Awaitable[Any]]
    ) -> list[Any]:
        """``do`` for every item, a few at a time, with a progress line."""
        gate, done = asyncio.Semaphore(IN_FLIGHT), 0

        async def one(item: T) -> Any:
            nonlocal done
            async with gate:
                result = await do(item)
            done += 1
            if done % 25 == 0 or done == len(items):
                _progress(what, done, len(items))
            return result

        return list(await asyncio.gather(*(one(item) for item in items)))

    async def _register(self, person: PersonPlan) -> str:
        answer = await self.http.post(
            f"{self.urls['registry']}/migrants",
            json=person.body,
            headers=self.auth("registrar")
            | {"Idempotency-Key": f"seed-{self.seed}-{person.index}"},
        )
        _expect(answer, 200, 201)
        self.counts["people"] += 1
        return str(answer.json()["migrant_id"])

    async def _deliveries(self, people: Sequence[PersonPlan], ids: list[str]) -> None:
        by_site: dict[str, list[dict[str, Any]]] = {}
        for person in people:
            for delivery in person.deliveries:
                by_site.setdefault(delivery["site"], []).append(
                    delivery | {"migrant_id": ids[person.index]}
                )
        total = sum(len(items) for items in by_site.values())
        sent = 0
        for site, items in sorted(by_site.items()):
            items.sort(key=lambda d: d["delivered_at"])  # applied in the order they happened
            for start in range(0, len(items), BATCH):
                await self._batch(site, items[start : start + BATCH])
                sent += len(items[start : start + BATCH])
                _progress("recording deliveries", sent, total)

    async def _batch(self, site: str, items: list[dict[str, Any]]) -> None:
        """Send a batch; resend what distribution did not know yet (it learns of people from
        the registry's events a moment after they register) until it does."""
        for _ in range(120):
            answer = await self.http.post(
                f"{self.urls['distribution']}/deliveries/batch",
                json={"deliveries": items},
                headers=self.auth("distributor", site),
            )
            _expect(answer, 200)
            results = answer.json()["results"]
            later = [items[r["index"]] for r in results if _not_yet_known(r)]
            for result in results:
                if result["status"] != "refused":
                    self.counts["deliveries"] += 1
                elif not _not_yet_known(result):
                    self.counts["deliveries refused by a rule"] += 1
            if not later:
                return
            items = later
            await asyncio.sleep(0.5)
        raise SeedFailed(f"distribution never learnt of the people of {len(items)} deliveries")

    async def _doses(self, person: PersonPlan, migrant_id: str) -> None:
        number = await self._card_of(migrant_id)
        for dose in person.doses:
            answer = await self.http.post(
                f"{self.urls['cards']}/cards/{number}/doses",
                json=dose,
                headers=self.auth("health_provider")
                | {"Idempotency-Key": f"seed-{self.seed}-{person.index}-{dose['dose_number']}"},
            )
            _expect(answer, 200, 201)
            self.counts["doses"] += 1

    async def _card_of(self, migrant_id: str) -> str:
        """The person's card, once the cards service has issued it (it reacts to the event)."""
        for _ in range(600):
            answer = await self.http.get(
                f"{self.urls['cards']}/migrants/{migrant_id}/cards", headers=self.auth("registrar")
            )
            if answer.status_code == 429:  # the lookup limit: wait as told, then ask again
                await asyncio.sleep(float(answer.headers.get("Retry-After", "1")))
                continue
            _expect(answer, 200)
            active = [c for c in answer.json() if c["status"] == "active"]
            if active:
                return str(active[0]["card_number"])
            await asyncio.sleep(0.1)
        raise SeedFailed(f"no card was issued for {migrant_id} within a minute")

    async def _call(self, call: dict[str, Any]) -> None:
        answer = await self.http.post(
            f"{self.urls['helpline']}/calls", json=call, headers=self.auth("helpline")
        )
        _expect(answer, 200, 201)
        self.counts["calls"] += 1

    async def _group(self, group: dict[str, Any]) -> None:
        answer = await self.http.post(
            f"{self.urls['distribution']}/group-activities",
            json=group,
            headers=self.auth("distributor", group["site"]),
        )
        _expect(answer, 200, 201)
        self.counts["group activities"] += 1


def _not_yet_known(result: dict[str, Any]) -> bool:
    return bool(result["status"] == "refused" and result["error"]["code"] == "not_yet_known")


def _expect(answer: httpx.Response, *codes: int) -> None:
    if answer.status_code not in codes:
        raise SeedFailed(
            f"{answer.request.method} {answer.request.url} answered {answer.status_code}: "
            f"{answer.text[:300]}"
        )


def _progress(what: str, done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r{what:<28} [{'#' * filled}{'.' * (width - filled)}] {done:,}/{total:,}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()
