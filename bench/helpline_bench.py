"""Helpline calls logged through the API, against the raw write rate of the same MongoDB (issue 6).

The whole system is started as ``bensys up`` starts it (``bensys.stack.Stack``: Tansu,
SecantusDB and the five services as processes, on free ports in a temporary folder). Calls are
logged through ``POST /calls`` with a helpline token, a given number in flight, as operators'
consoles would: anonymous callers, and a third who leave a Maldivian phone number. Each call's
phone and notes are sealed with a key of the call's own, created in the vault for it. Just
before and just after, on the same SecantusDB, the plainest client writes the helpline's own
stored ``CallLogged`` documents, under new ids, into a scratch database: ``insert_one`` at the
same concurrency, and ``insert_many`` by the thousand. SecantusDB's own counters
(``serverStatus``) say how many requests it answered per call.

``python -m bench.helpline_bench [--calls N] [--concurrency C]`` prints the Markdown section.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
import httpx
from pymongo import AsyncMongoClient

from bench.distribution_bench import ServerCounts, server_counts
from bench.registration_bench import (
    OUTSIDE,
    OUTSIDE_NOTABLE,
    RAW_INSERT_BATCH,
    Busy,
    Meter,
    RawLimits,
    percentile,
    raw_limits,
)
from bench.stacks import progress, running_stack
from bensys.embedded import ManagedProcess
from bensys.stack import Stack
from services.helpline.settings import HelplineSettings
from shared.auth import mint_token
from shared.contracts.helpline import CallLogged
from shared.settings import DEV_JWT_SECRET

Document = dict[str, Any]

HEADING = "## Helpline calls (issue 6)"
WARM_UP = 20
"""Calls before the clock starts: connection pools, first imports, the first key and index."""
ONE_AT_A_TIME = 40
"""Calls logged one after another, for the latency and server requests of a call alone."""
PHONE_EVERY = 3
"""Every third caller leaves a phone number; the others are anonymous."""
PHONE = "+960 7771234"
KEPT_FAILURES = 5
PROCESS_GROUPS = (
    "SecantusDB",
    "helpline",
    "reporting",
    "Tansu",
    "other services",
    "bench",
    OUTSIDE,
)

# Round trips of one call, read from ``services/helpline/calls_api.py`` (``log_call``) and what it
# calls; the vault never caches keys (``shared/crypto/vault.py``), so each key opened is a read
# (one for the phone and the notes together: ``open_many``).
CODE_ROUND_TRIPS = (
    ("client-id lookup (`already_logged`: `get_command`)", 1),
    ("sealing phone and notes under the call's new key (vault: get, create, get)", 3),
    ("stream version (`calls.last_version`, then `store.load` after it)", 2),
    ("append: a position reserved (`MongoEventStore._reserve_positions`)", 1),
    (
        "append transaction: command record, last event, event, call document "
        "(`calls.project`), commit",
        5,
    ),
    ("the answer: the call document, then one vault read for its key", 2),
)
"""The same for every caller: phone and notes are opened with one read of the call's key."""


def helpline_meter(stack: Stack) -> Meter:
    """As ``registration_bench.stack_meter``, with the helpline as its own group."""

    def pid(process: ManagedProcess) -> list[int]:
        return [] if process.process is None else [int(process.process.pid)]

    others = [
        p for name, s in stack.services.items() if name not in {"helpline", "reporting"}
        for p in pid(s)
    ]  # fmt: skip
    return Meter(
        {
            "SecantusDB": pid(stack.database),
            "helpline": pid(stack.services["helpline"]),
            "reporting": pid(stack.services["reporting"]),
            "Tansu": pid(stack.broker),
            "other services": others,
        }
    )


def call_body(i: int, started_at: datetime, prefix: str = "bench") -> Document:
    caller: Document = {"phone": PHONE} if i % PHONE_EVERY == 0 else {"anonymous": True}
    return {
        "client_id": f"{prefix}-{i}",
        "direction": "incoming",
        "started_at": started_at.isoformat(),
        "duration_seconds": 120,
        "answered": True,
        "language": "bn",
        "caller": caller,
        "categories": ["information"],
        "services_requested": ["food_parcel"],
        "services_provided": [],
        "information_given": "vaccination centre hours",
        "notes": "bench note",
        "follow_up_needed": False,
    }


@dataclass
class ApiRun:
    sent: int
    concurrency: int
    busy: Busy = field(default_factory=lambda: Busy(0.0, {}))
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    server: ServerCounts = field(default_factory=lambda: ServerCounts({}))

    @property
    def logged(self) -> int:
        return self.statuses["201"]

    @property
    def errors(self) -> int:
        return self.sent - self.logged

    @property
    def rate(self) -> float:
        return self.logged / self.busy.seconds if self.busy.seconds > 0 else 0.0

    def per_call(self, counter: str) -> float:
        return self.server.counts.get(counter, 0) / max(self.logged, 1)


async def post_all(
    client: httpx.AsyncClient,
    mongo: AsyncMongoClient[Document],
    meter: Meter,
    bodies: list[Document],
    concurrency: int,
) -> ApiRun:
    """Every call, ``concurrency`` in flight; every answer's status is kept."""
    pending = iter(bodies)
    run = ApiRun(sent=len(bodies), concurrency=concurrency)

    async def worker() -> None:
        for body in pending:
            started = time.perf_counter()
            try:
                response = await client.post("/calls", json=body)
            except httpx.HTTPError as exc:
                run.statuses["no answer"] += 1
                if len(run.failures) < KEPT_FAILURES:
                    run.failures.append(f"no answer: {type(exc).__name__}: {exc}")
                continue
            run.latencies_ms.append((time.perf_counter() - started) * 1000)
            run.statuses[str(response.status_code)] += 1
            if response.status_code != 201 and len(run.failures) < KEPT_FAILURES:
                run.failures.append(f"{response.status_code}: {response.text[:300]}")

    counts_before = await server_counts(mongo)
    before = meter.read()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.busy = meter.since(before)
    run.server = (await server_counts(mongo)).minus(counts_before)
    return run


async def stored_calls(mongo: AsyncMongoClient[Document]) -> list[Document]:
    """The helpline's own ``CallLogged`` documents, as its event store keeps them."""
    events = mongo[HelplineSettings().database]["events"]
    return [doc async for doc in events.find({"type": CallLogged.ce_type()})]


@dataclass
class Figures:
    calls: int
    concurrency: int
    api: ApiRun
    alone: ApiRun
    document_bytes: float
    raw_before: RawLimits
    raw_after: RawLimits


async def run(calls: int = 2000, concurrency: int = 8) -> str:
    """Start the stack, measure, stop it, and return the Markdown section."""
    concurrency = max(1, concurrency)
    async with running_stack("helpline") as stack:
        figures = await measure(stack, calls, concurrency)
    return render(figures)


async def measure(stack: Stack, count: int, concurrency: int) -> Figures:
    started_at = datetime.now(UTC) - timedelta(hours=1)
    token = mint_token(secret=DEV_JWT_SECRET, role="helpline")
    meter = helpline_meter(stack)
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(stack.config.mongo_url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        async with httpx.AsyncClient(
            base_url=stack.config.url("helpline"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=60.0,
            limits=limits,
        ) as client:
            progress(f"warming up: {WARM_UP} calls ...")
            warm = [call_body(i, started_at, "warm") for i in range(WARM_UP)]
            await post_all(client, mongo, meter, warm, concurrency)
            first = await stored_calls(mongo)
            if not first:
                raise RuntimeError("no CallLogged document was stored: nothing to copy")
            progress("the raw limit before the API run ...")
            raw_before = await raw_limits(meter, mongo, first, count, concurrency)
            progress(f"through the API: {count} calls, {concurrency} in flight ...")
            bodies = [call_body(i, started_at) for i in range(count)]
            api = await post_all(client, mongo, meter, bodies, concurrency)
            progress(f"one at a time: {ONE_AT_A_TIME} calls ...")
            alone_bodies = [call_body(i, started_at, "alone") for i in range(ONE_AT_A_TIME)]
            alone = await post_all(client, mongo, meter, alone_bodies, 1)
        stored = await stored_calls(mongo)
        progress("the raw limit after it ...")
        raw_after = await raw_limits(meter, mongo, stored, count, concurrency)
    finally:
        await mongo.close()
    return Figures(
        calls=count,
        concurrency=concurrency,
        api=api,
        alone=alone,
        document_bytes=statistics.fmean(len(bson.encode(d)) for d in stored),
        raw_before=raw_before,
        raw_after=raw_after,
    )


# --- the report --------------------------------------------------------------------------------


def _ratio_rows(f: Figures) -> list[str]:
    rate = f.api.rate
    rows = []
    for when, raw in (("before", f.raw_before), ("after", f.raw_after)):
        rows += [
            f"| against `insert_one`, {f.concurrency} in flight, {when} | {rate:,.0f} | "
            f"{raw.one_rate:,.0f} ({raw.one_count:,} documents) | {rate / raw.one_rate:.3f} |",
            f"| against `insert_many`, {RAW_INSERT_BATCH:,} per call, {when} | {rate:,.0f} | "
            f"{raw.many_rate:,.0f} ({raw.many_count:,} documents) | "
            f"{rate / raw.many_rate:.4f} |",
        ]
    return rows


def _latency(run: ApiRun) -> str:
    lat = run.latencies_ms
    return (
        f"p50 {percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms, "
        f"p99 {percentile(lat, 99):.1f} ms"
    )


def _answers(f: Figures) -> list[str]:
    statuses = f.api.statuses + f.alone.statuses
    others = {s: n for s, n in statuses.items() if s != "201"}
    if not others:
        return []
    return [
        "",
        "Answers other than 201: "
        + ", ".join(f"{s}: {n:,}" for s, n in sorted(others.items()))
        + ". The first of them:",
        "",
        *(f"- `{failure}`" for failure in (f.api.failures + f.alone.failures)[:KEPT_FAILURES]),
    ]


def _busy(phase: str, busy: Busy) -> str:
    # Clock ticks are counted per process and for the machine apart: clamp the rounding.
    shares = " | ".join(f"{max(busy.share(group), 0.0):.2f}" for group in PROCESS_GROUPS)
    return f"| {phase} | {busy.seconds:.1f} | {shares} |"


def _server(run: ApiRun) -> str:
    if run.server.error or not run.server.counts.get("requests"):
        return f"no request counts ({run.server.error or 'no `network.numRequests`'})"
    ops = ", ".join(f"{k} {run.per_call(k):.1f}" for k in run.server.counts if k != "requests")
    return f"{run.per_call('requests'):.1f} requests per call ({ops})"


def _db_ms(busy: Busy, count: int) -> float:
    return busy.cpu.get("SecantusDB", 0.0) / max(count, 1) * 1000


def _contention(f: Figures) -> str:
    api, alone = f.api, f.alone
    if not alone.per_call("insert") or api.per_call("insert") < 1.3 * alone.per_call("insert"):
        return ""
    return (
        f" In flight SecantusDB saw {api.per_call('insert'):.1f} inserts and "
        f"{api.per_call('command'):.1f} other commands per call against "
        f"{alone.per_call('insert'):.1f} and {alone.per_call('command'):.1f} one at a time: "
        "appends ran more than once, as transactions aborted on a write conflict and retried "
        "by pymongo's `with_transaction` would; the aborts themselves were not counted here, "
        "the service being another process. Hence a p99 of "
        f"{percentile(api.latencies_ms, 99):,.0f} ms in flight."
    )


def _outside_load(f: Figures) -> list[str]:
    phases = {
        f"`POST /calls` with {f.concurrency} in flight": f.api.busy,
        "one at a time": f.alone.busy,
        "`insert_one` before": f.raw_before.one,
        "`insert_many` before": f.raw_before.many,
        "`insert_one` after": f.raw_after.one,
        "`insert_many` after": f.raw_after.many,
    }
    hit = [
        f"{name} ({busy.share(OUTSIDE):.2f})"
        for name, busy in phases.items()
        if busy.share(OUTSIDE) > OUTSIDE_NOTABLE
    ]
    if not hit:
        return []
    return [
        "",
        f"Other processes on this machine used more than {OUTSIDE_NOTABLE:.2f} of a core "
        f"during {', '.join(hit)}: those rates are lower than a quiet machine would give, and "
        "the ratios built on them move as the load did.",
    ]


def render(f: Figures) -> str:
    api, alone = f.api, f.alone
    trips = sum(n for _, n in CODE_ROUND_TRIPS)
    raw_one = [r.one_rate for r in (f.raw_before, f.raw_after)]
    raw_many = [r.many_rate for r in (f.raw_before, f.raw_after)]
    alone_rate = 1000 / statistics.fmean(alone.latencies_ms) if alone.latencies_ms else 0.0
    db_call = _db_ms(api.busy, api.logged)
    db_insert = [_db_ms(r.one, r.one_count) for r in (f.raw_before, f.raw_after)]
    helpline_ms = api.busy.cpu.get("helpline", 0.0) / max(api.logged, 1) * 1000
    lines = [
        HEADING,
        "",
        f"{f.calls:,} calls logged through `POST /calls` ({f.concurrency} in flight, httpx, a "
        "helpline token) on the whole stack as `bensys up` runs it (Tansu, SecantusDB and the "
        f"five services as processes; {WARM_UP} calls before the clock started): answered "
        "incoming calls in Bengali, an information request, a note; one caller in "
        f"{PHONE_EVERY} leaves a Maldivian number (`{PHONE}`), the others are anonymous. "
        "Phone and notes are sealed with a key made for the call. The raw limit is the same "
        "SecantusDB in the same run writing the helpline's own stored `CallLogged` documents "
        f"({f.document_bytes / 1024:.1f} KB of BSON on average), under new ids, into a "
        "scratch database with only its `_id` index, just before and just after the API run.",
        "",
        "| docs/s | BenSys (`POST /calls`) | raw limit | ratio |",
        "|---|---:|---:|---:|",
        *_ratio_rows(f),
        "",
        f"`POST /calls` with {f.concurrency} in flight: {api.rate:,.1f} calls/s, "
        f"{_latency(api)}, {api.errors:,} errors of {api.sent:,}. One at a time "
        f"({alone.sent} more): {_latency(alone)}, {alone.errors:,} errors. SecantusDB's own "
        f"counters (`serverStatus`) over the API run: {_server(api)}; one at a time: "
        f"{_server(alone)}. These include the relay publishing each call, reporting's "
        "consumer and the drivers' monitoring, on the same database at the same time.",
        *_answers(f),
        "",
        "Round trips one call makes from the helpline itself, counted by reading "
        "`services/helpline/calls_api.py` (`log_call`) and what it calls:",
        "",
        "| step | round trips |",
        "|---|---:|",
        *(f"| {step} | {n} |" for step, n in CODE_ROUND_TRIPS),
        f"| total, whoever the caller | {trips} |",
        "",
        "Who was busy, in CPU seconds per wall second (1.00 is one core; the last column is "
        "what other processes on the machine used meanwhile):",
        "",
        "| phase | wall s | SecantusDB | helpline | reporting | Tansu | other services | bench "
        "| outside BenSys |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        _busy(f"`POST /calls`, {f.concurrency} in flight", api.busy),
        _busy("`POST /calls`, one at a time", alone.busy),
        _busy(f"`insert_one`, {f.concurrency} in flight, before", f.raw_before.one),
        _busy(f"`insert_many`, {RAW_INSERT_BATCH:,} per call, before", f.raw_before.many),
        _busy(f"`insert_one`, {f.concurrency} in flight, after", f.raw_after.one),
        _busy(f"`insert_many`, {RAW_INSERT_BATCH:,} per call, after", f.raw_after.many),
        "",
        "**Reading.** "
        f"A call logged through the API ran at {api.rate:,.1f}/s with {f.concurrency} in "
        f"flight, {api.rate / raw_one[0]:.3f} to {api.rate / raw_one[1]:.3f} of raw "
        f"`insert_one` at the same concurrency ({raw_one[0]:,.0f} and {raw_one[1]:,.0f}/s, "
        f"before and after) and {api.rate / raw_many[0]:.4f} to {api.rate / raw_many[1]:.4f} "
        f"of `insert_many` ({raw_many[0]:,.0f} and {raw_many[1]:,.0f}/s). The gap is mostly "
        f"round trips: where `insert_one` makes one, a call makes {trips} from the "
        "helpline, with or without a phone number, "
        "three of them the vault creating and reading the call's own key, six the append "
        "(a position, then a transaction of five), and two more reading back the call and "
        "its key for the answer; "
        f"SecantusDB counted {api.per_call('requests'):.1f} requests per call in all. "
        f"Per call SecantusDB used {db_call:.1f} ms of CPU against {db_insert[0]:.2f} to "
        f"{db_insert[1]:.2f} ms per raw `insert_one`, and the helpline {helpline_ms:.1f} ms; "
        f"one at a time a call took {statistics.fmean(alone.latencies_ms or [0.0]):.1f} ms "
        f"on average ({alone_rate:,.0f}/s), so {f.concurrency} in flight gave "
        f"{api.rate / alone_rate if alone_rate else 0.0:.2f}x, not {f.concurrency}x."
        + _contention(f),
        *_outside_load(f),
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.helpline_bench", description=__doc__)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(asyncio.run(run(calls=args.calls, concurrency=args.concurrency)))


if __name__ == "__main__":
    main()
