"""Deliveries through the API against the raw limits of the same MongoDB, in one run (issue 5).

The whole system is started as ``bensys up`` starts it (``bensys.stack.Stack``: Tansu,
SecantusDB and the five services as processes, on free ports in a temporary folder). People are
registered through the registry, and distribution learns of them from its events, as it would
in the field. Two targets are then measured:

- **Batch throughput.** Deliveries captured offline are sent through ``POST /deliveries/batch``,
  1,000 per request, one request at a time as a device syncing would, spread over many people
  and over services that no rule refuses (a hot meal per person per day, on distinct days, so a
  quarter of them pass an entitlement check; legal aid, health screening and transport
  appointments, which have no rule). One batch is then sent again, all ``already_recorded``.
  Just before and just after, on the same SecantusDB, the plainest client writes the
  distribution service's own stored ``ServiceDelivered`` documents, under new ids, into a
  scratch database: ``insert_many`` by the thousand and ``insert_one`` one at a time.
- **Entitlement check latency.** One person is given ``history`` past hot meals (one a day);
  single ``POST /deliveries`` of a hot meal on a day they already had one are refused with 409
  ``entitlement`` (the check end to end, storing nothing), and hot meals on free days are
  recorded. The same is done for people with one past hot meal, and the query the check runs is
  timed directly with pymongo, for both: as the service sends it, and without its
  ``voided: False`` clause, which decides whether SecantusDB walks the compound index.

A sample of deliveries is then recorded again by direct calls of the same code from this
process (writes to a scratch database), phase by phase, to say where a delivery's time goes;
SecantusDB's own counters (``serverStatus``) say how many requests it answered per delivery
during the API run, the service's own and those of the relay and of reporting's consumer.

``python -m bench.distribution_bench [--deliveries N] [--history H]`` prints the Markdown
section.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import bson
import httpx
import uuid_utils
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from bench.registration_bench import (
    OUTSIDE,
    RAW_INSERT_BATCH,
    Busy,
    CommandCounter,
    Meter,
    RawLimits,
    http_floor,
    new_person,
    percentile,
    raw_limits,
)
from bench.stacks import progress, running_stack
from bensys.embedded import ManagedProcess
from bensys.stack import Stack
from services.distribution.delivering import delivery_command
from services.distribution.domain import Deliver, decide_delivery
from services.distribution.facts import KnownFacts
from services.distribution.ledger import DELIVERIES, Ledger
from services.distribution.schemas import DeliveryCreate
from services.distribution.settings import DistributionSettings
from shared.auth import mint_token
from shared.catalogue.services import load_catalogue
from shared.commands import fingerprint
from shared.contracts.distribution import ServiceDelivered
from shared.eventstore.model import CommandRecord, EventMetadata, PendingEvent, utc_now
from shared.eventstore.mongo import MongoEventStore
from shared.settings import DEV_JWT_SECRET

Document = dict[str, Any]

HEADING = "## Deliveries (issue 5)"
SEED = 20_261_123
SITE = "Seenu Atoll"
BATCH = 1_000
"""Deliveries per ``POST /deliveries/batch``: the service's default ``batch_limit``."""
PEOPLE_AT_MOST = 500
"""People the batch deliveries are spread over: one in ten deliveries, up to this many."""
ROTATION = ("hot_meal", "legal_aid", "health_screening", "transport_appointment")
"""A person's k-th delivery is ``ROTATION[k % 4]`` on the k-th day back: no rule breaks."""
RULED = "hot_meal"
"""One a day: the rule the entitlement check is timed on."""
HARMLESS = "legal_aid"
"""No rule: the delivery that tells whether distribution knows a person yet."""
REGISTRATION_CONCURRENCY = 2
REFUSED_SAMPLES = 300
"""Single refused requests per kind of person (refusals store nothing)."""
ACCEPTED_SAMPLES = 100
"""Single recorded requests per kind of person; also how many light people there are."""
SINGLE_WARM_UP = 20
RAW_QUERY_SAMPLES = 300
PHASE_SAMPLE = 200
HTTP_FLOOR_SAMPLES = 100
KNOWN_TIMEOUT_SECONDS = 180.0
OUTBOX_TIMEOUT_SECONDS = 180.0
HTTP_TIMEOUT_SECONDS = 600.0
PHASES_DATABASE = "bench_distribution_phases"
KEPT_FAILURES = 5

# --- the kinds of single request -----------------------------------------------------------------

HEAVY_REFUSED = "heavy_refused"
HEAVY_ACCEPTED = "heavy_accepted"
LIGHT_REFUSED = "light_refused"
LIGHT_ACCEPTED = "light_accepted"
KINDS = (HEAVY_REFUSED, LIGHT_REFUSED, HEAVY_ACCEPTED, LIGHT_ACCEPTED)
EXPECTED = {HEAVY_REFUSED: 409, LIGHT_REFUSED: 409, HEAVY_ACCEPTED: 201, LIGHT_ACCEPTED: 201}

# --- phases of one delivery, in the order ``services.distribution.delivering`` runs them -------

VALIDATE = "validate the item (`DeliveryCreate`), look up the service in the catalogue"
IDEMPOTENCY = "fingerprint, look up the client id (`get_command`)"
PERSON = "look up the person (`facts.person`)"
ENTITLEMENT = "entitlement query (`ledger.around`; hot meals only, a quarter here)"
DECIDE = "decide the `ServiceDelivered` event, its answer and command record"
VERSION = "read the stream version (`ledger.version`)"
APPEND = "append transaction: command record, event, position, ledger row, version"
PHASES = (VALIDATE, IDEMPOTENCY, PERSON, ENTITLEMENT, DECIDE, VERSION, APPEND)
PLAIN_APPEND = "append transaction alone: event and position"

# --- who was busy ------------------------------------------------------------------------------

PROCESS_GROUPS = (
    "SecantusDB",
    "distribution",
    "reporting",
    "Tansu",
    "other services",
    "bench",
    OUTSIDE,
)


def distribution_meter(stack: Stack) -> Meter:
    """As ``registration_bench.stack_meter``, with distribution as its own group."""

    def pid(process: ManagedProcess) -> list[int]:
        return [] if process.process is None else [int(process.process.pid)]

    others = [
        p
        for name, s in stack.services.items()
        if name not in {"distribution", "reporting"}
        for p in pid(s)
    ]
    return Meter(
        {
            "SecantusDB": pid(stack.database),
            "distribution": pid(stack.services["distribution"]),
            "reporting": pid(stack.services["reporting"]),
            "Tansu": pid(stack.broker),
            "other services": others,
        }
    )


# --- what is sent --------------------------------------------------------------------------------


def delivery(client_id: str, migrant_id: str, service: str, at: datetime) -> Document:
    return {
        "client_id": client_id,
        "migrant_id": migrant_id,
        "service": service,
        "site": SITE,
        "delivered_at": at.isoformat(),
    }


class DayBook:
    """Hands each person's next delivery: ``ROTATION[k % 4]`` on the k-th day back from
    ``first``, so no two hot meals of one person share a day."""

    def __init__(self, first: datetime, rnd: random.Random) -> None:
        self.first = first
        self._rnd = rnd
        self._next: Counter[str] = Counter()

    def client_id(self) -> str:
        return str(uuid.UUID(int=self._rnd.getrandbits(128)))

    def next(self, migrant_id: str) -> Document:
        k = self._next[migrant_id]
        self._next[migrant_id] += 1
        service = ROTATION[k % len(ROTATION)]
        return delivery(self.client_id(), migrant_id, service, self.first - timedelta(days=k))

    def spread_in_rows(self, people: Sequence[str], count: int) -> list[Document]:
        """``count`` deliveries, ``len(ROTATION)`` in a row to each person in turn."""
        rows = len(ROTATION)
        return [self.next(people[(i // rows) % len(people)]) for i in range(count)]

    def spread(self, people: Sequence[str], count: int) -> list[Document]:
        """``count`` deliveries, person after person, as a distribution day serves them."""
        return [self.next(people[i % len(people)]) for i in range(count)]


def chunks(items: Sequence[Document], size: int) -> Iterator[Sequence[Document]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


# --- through the API ---------------------------------------------------------------------------


async def register_people(stack: Stack, rnd: random.Random, count: int) -> list[str]:
    """``count`` people registered at ``SITE`` through ``POST /migrants``; their ids."""
    token = mint_token(secret=DEV_JWT_SECRET, role="registrar", site=SITE)
    bodies = []
    for _ in range(count):
        body = new_person(rnd, SITE)
        body["issue_card"] = False
        bodies.append(body)
    ids: list[str | None] = [None] * count
    pending = iter(range(count))
    async with httpx.AsyncClient(
        base_url=stack.config.url("registry"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=60.0,
    ) as client:

        async def worker() -> None:
            for i in pending:
                key = str(uuid.UUID(int=rnd.getrandbits(128)))
                response = await client.post(
                    "/migrants", json=bodies[i], headers={"Idempotency-Key": key}
                )
                if response.status_code != 201:
                    answer = f"{response.status_code}: {response.text[:300]}"
                    raise RuntimeError(f"registration answered {answer}")
                ids[i] = str(response.json()["migrant_id"])

        await asyncio.gather(*(worker() for _ in range(REGISTRATION_CONCURRENCY)))
    return [i for i in ids if i is not None]


@dataclass
class BatchRun:
    sent: int
    busy: Busy = field(default_factory=lambda: Busy(0.0, {}))
    batch_seconds: list[float] = field(default_factory=list)
    batch_sizes: list[int] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    refusals: list[str] = field(default_factory=list)

    @property
    def recorded(self) -> int:
        return self.statuses["recorded"]

    def rate(self, status: str = "recorded") -> float:
        return self.statuses[status] / self.busy.seconds if self.busy.seconds > 0 else 0.0

    def batch_rates(self) -> list[float]:
        return [n / s for n, s in zip(self.batch_sizes, self.batch_seconds, strict=True) if s > 0]


async def send_batches(
    client: httpx.AsyncClient, meter: Meter, items: Sequence[Document]
) -> BatchRun:
    """Every item, ``BATCH`` per request, one request at a time; every result kept."""
    run = BatchRun(sent=len(items))
    before = meter.read()
    for chunk in chunks(items, BATCH):
        started = time.perf_counter()
        response = await client.post("/deliveries/batch", json={"deliveries": list(chunk)})
        run.batch_seconds.append(time.perf_counter() - started)
        run.batch_sizes.append(len(chunk))
        if response.status_code != 200:
            raise RuntimeError(f"batch answered {response.status_code}: {response.text[:300]}")
        for result in response.json()["results"]:
            run.statuses[str(result["status"])] += 1
            if result["status"] == "refused" and len(run.refusals) < KEPT_FAILURES:
                error = result.get("error", {})
                run.refusals.append(f"{error.get('code')}: {error.get('message')}")
    run.busy = meter.since(before)
    return run


async def make_known(client: httpx.AsyncClient, people: Sequence[str], at: datetime) -> float:
    """Seconds until distribution knows everyone: a legal-aid delivery (no rule) to each,
    resent until none is refused as ``not_yet_known``. Refusals store nothing, so an item that
    was refused can be sent again as it was."""
    pending = {m: delivery(f"probe-{m}", m, HARMLESS, at) for m in people}
    started = time.perf_counter()
    while pending:
        for chunk in chunks(list(pending.values()), BATCH):
            response = await client.post("/deliveries/batch", json={"deliveries": list(chunk)})
            response.raise_for_status()
            for item, result in zip(chunk, response.json()["results"], strict=True):
                if result["status"] != "refused":
                    del pending[item["migrant_id"]]
                elif result["error"]["code"] != "not_yet_known":
                    raise RuntimeError(f"probe refused: {result['error']}")
        if pending:
            if time.perf_counter() - started > KNOWN_TIMEOUT_SECONDS:
                raise RuntimeError(f"distribution still does not know {len(pending)} people")
            await asyncio.sleep(0.5)
    return time.perf_counter() - started


async def wait_for_outbox(events: AsyncCollection[Document]) -> tuple[int, float | None]:
    """Events still unpublished now, and seconds until the relay had published them all."""
    started = time.perf_counter()
    backlog = await events.count_documents({"published": False})
    left = backlog
    while left:
        if time.perf_counter() - started > OUTBOX_TIMEOUT_SECONDS:
            return backlog, None
        await asyncio.sleep(0.2)
        left = await events.count_documents({"published": False})
    return backlog, time.perf_counter() - started


@dataclass
class Singles:
    latencies_ms: dict[str, list[float]]
    busy: Busy
    unexpected: Counter[str]
    failures: list[str]


async def time_singles(
    client: httpx.AsyncClient, meter: Meter, schedule: Sequence[tuple[str, Document]]
) -> Singles:
    """Each request on its own, one after another; a latency counts when its answer is the
    expected one (409 ``entitlement`` for a refusal, 201 for a recording)."""
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    unexpected: Counter[str] = Counter()
    failures: list[str] = []
    before = meter.read()
    for kind, body in schedule:
        started = time.perf_counter()
        response = await client.post("/deliveries", json=body)
        elapsed = (time.perf_counter() - started) * 1000
        code = response.json().get("error", {}).get("code") if response.status_code != 201 else ""
        if response.status_code == EXPECTED[kind] and code in {"", "entitlement"}:
            latencies[kind].append(elapsed)
        else:
            unexpected[f"{kind}: {response.status_code}"] += 1
            if len(failures) < KEPT_FAILURES:
                failures.append(f"{kind}: {response.status_code} {response.text[:300]}")
    return Singles(latencies, meter.since(before), unexpected, failures)


# --- the raw limits ------------------------------------------------------------------------------


async def stored_deliveries(client: AsyncMongoClient[Document], database: str) -> list[Document]:
    """Distribution's own ``ServiceDelivered`` documents, as its event store keeps them."""
    cursor = client[database]["events"].find({"type": ServiceDelivered.ce_type()}).limit(5_000)
    return [doc async for doc in cursor]


async def raw_find_ones(collection: AsyncCollection[Document], ids: Sequence[str]) -> float:
    """``find_one`` by ``_id``, one at a time: the raw limit of a resend; returns per second."""
    started = time.perf_counter()
    for _id in ids:
        await collection.find_one({"_id": _id})
    return len(ids) / (time.perf_counter() - started)


def check_filter(migrant_id: str, at: datetime, *, voided: bool = True) -> Document:
    """The filter ``Ledger.around`` sends for a one-a-day rule; with ``voided=False``, the
    same without its ``voided: False`` clause (voided rows then left out by the caller)."""
    window = timedelta(days=1)
    query: Document = {
        "migrant_id": migrant_id,
        "service": RULED,
        "delivered_at": {"$gt": at - window, "$lt": at + window},
    }
    if voided:
        query["voided"] = False
    return query


HEAVY, LIGHT = "heavy", "light"
AS_SENT, WITHOUT_VOIDED = "as sent", "without voided"
"""The check's filter as ``Ledger.around`` sends it, and without its ``voided`` clause."""
PROJECTION = {"quantity": 1, "delivered_at": 1, "voided": 1}


@dataclass
class RawQueries:
    check_ms: dict[tuple[str, str], list[float]]
    """The check's ``find`` on ``deliveries``: (heavy or light, as sent or without voided)."""
    reads_ms: dict[str, list[float]]
    """The three reads of a refusal: command by id, person by id, the check's ``find``."""
    all_history_ms: list[float]
    """Every past hot meal of the heavy person, by the index's equality prefix."""
    explained: dict[tuple[str, str], str]


async def time_raw_queries(
    client: AsyncMongoClient[Document],
    database: str,
    heavy: tuple[str, datetime],
    light: Sequence[tuple[str, datetime]],
) -> RawQueries:
    """Each query one at a time, the kinds interleaved, as pymongo's plainest calls."""
    db = client[database]
    deliveries, people, commands = db[DELIVERIES], db["people"], db["commands"]
    shapes = (AS_SENT, WITHOUT_VOIDED)
    check_ms: dict[tuple[str, str], list[float]] = {
        (w, s): [] for w in (HEAVY, LIGHT) for s in shapes
    }
    reads_ms: dict[str, list[float]] = {HEAVY: [], LIGHT: []}
    all_history_ms: list[float] = []
    for n in range(RAW_QUERY_SAMPLES):
        for who, (migrant_id, at) in ((HEAVY, heavy), (LIGHT, light[n % len(light)])):
            for shape in shapes:
                query = check_filter(migrant_id, at, voided=shape == AS_SENT)
                started = time.perf_counter()
                await deliveries.find(query, PROJECTION).to_list()
                check_ms[who, shape].append((time.perf_counter() - started) * 1000)
            started = time.perf_counter()
            await commands.find_one({"_id": delivery_command(str(uuid.uuid4()))})
            await people.find_one({"_id": migrant_id})
            await deliveries.find(check_filter(migrant_id, at), PROJECTION).to_list()
            reads_ms[who].append((time.perf_counter() - started) * 1000)
        if n % 10 == 0:
            started = time.perf_counter()
            await deliveries.find({"migrant_id": heavy[0], "service": RULED}, PROJECTION).to_list()
            all_history_ms.append((time.perf_counter() - started) * 1000)
    explained = {
        (who, shape): await explain(deliveries, check_filter(m, at, voided=shape == AS_SENT))
        for who, (m, at) in ((HEAVY, heavy), (LIGHT, light[0]))
        for shape in shapes
    }
    return RawQueries(check_ms, reads_ms, all_history_ms, explained)


async def explain(deliveries: AsyncCollection[Document], query: Document) -> str:
    """What the server says it did for ``query``, in a phrase."""
    try:
        plan = await deliveries.find(query, PROJECTION).explain()
    except Exception as exc:  # a server that cannot explain is reported as such
        return f"`explain` failed ({type(exc).__name__})"
    stages: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            if isinstance(node.get("stage"), str):
                name = node.get("indexName")
                stages.append(f"{node['stage']}" + (f" on `{name}`" if name else ""))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(plan.get("queryPlanner", {}).get("winningPlan", {}))
    stats = plan.get("executionStats", {})
    examined = ""
    if "totalKeysExamined" in stats or "totalDocsExamined" in stats:
        examined = (
            f" ({stats.get('totalKeysExamined', '?')} keys, "
            f"{stats.get('totalDocsExamined', '?')} documents examined)"
        )
    return f"{' > '.join(stages) or 'no plan reported'}{examined}"


@dataclass(frozen=True)
class ServerCounts:
    """SecantusDB's own counters (``serverStatus``): wire requests and opcounters."""

    counts: dict[str, int]
    error: str = ""

    def minus(self, before: ServerCounts) -> ServerCounts:
        if self.error or before.error:
            return ServerCounts({}, self.error or before.error)
        return ServerCounts({k: v - before.counts.get(k, 0) for k, v in self.counts.items()})


async def server_counts(client: AsyncMongoClient[Document]) -> ServerCounts:
    """The counters now; a server that will not say is reported with its error."""
    error = ""
    for _ in range(3):
        try:
            status = await client.admin.command("serverStatus")
        except Exception as exc:  # reported in the section, not raised: the run goes on
            error = f"{type(exc).__name__}: {str(exc)[:200]}"
            await asyncio.sleep(1.0)
            continue
        counts = {"requests": int(status.get("network", {}).get("numRequests", 0))}
        counts |= {k: int(v) for k, v in status.get("opcounters", {}).items()}
        return ServerCounts(counts)
    return ServerCounts({}, error)


# --- where one delivery's time goes ------------------------------------------------------------


@dataclass
class PhaseRun:
    times_ms: dict[str, list[float]]
    round_trips: dict[str, list[int]]
    ruled_ms: list[float]
    """The entitlement query alone, for the deliveries with a rule."""


async def phase_times(url: str, database: str, items: Sequence[Document]) -> PhaseRun:
    """Milliseconds and round trips per phase for each item, recorded one at a time by the
    distribution service's own functions, in the order ``record_delivery`` calls them.

    Reads (client id, person, entitlement) go to the service's live collections; the version
    read and the append go to a scratch database, so the service's data is left as the API
    made it.
    """
    counter = CommandCounter()
    client: AsyncMongoClient[Document] = AsyncMongoClient(url, event_listeners=[counter])
    try:
        await client.drop_database(PHASES_DATABASE)
        run = await _phase_times(client, counter, database, items)
        await client.drop_database(PHASES_DATABASE)
        return run
    finally:
        await client.close()


async def _phase_times(
    client: AsyncMongoClient[Document],
    counter: CommandCounter,
    database: str,
    items: Sequence[Document],
) -> PhaseRun:
    catalogue = load_catalogue(None)
    live_store = MongoEventStore(client, database)
    facts = KnownFacts(client, database)
    live_ledger = Ledger(client, database)
    store = MongoEventStore(client, PHASES_DATABASE)
    ledger = Ledger(client, PHASES_DATABASE)
    await store.ensure_indexes()
    await ledger.ensure_indexes()
    every = (*PHASES, PLAIN_APPEND)
    run = PhaseRun({p: [] for p in every}, {p: [] for p in every}, [])
    for item in items:
        clock, sent = time.perf_counter(), counter.sent

        def lap(phase: str) -> None:
            nonlocal clock, sent
            now = time.perf_counter()
            run.times_ms[phase].append((now - clock) * 1000)
            run.round_trips[phase].append(counter.sent - sent)
            clock, sent = now, counter.sent

        body = DeliveryCreate.model_validate(item)
        entry = catalogue.get(body.service)
        assert body.migrant_id is not None
        assert body.delivered_at is not None
        lap(VALIDATE)
        command_id = delivery_command(body.client_id)
        await live_store.get_command(command_id)
        request_fingerprint = fingerprint(body.model_dump(mode="json"))
        lap(IDEMPOTENCY)
        await facts.person(body.migrant_id)
        lap(PERSON)
        past = []
        if entry.entitlement is not None:
            ruled = time.perf_counter()
            past = list(
                await live_ledger.around(
                    body.migrant_id, entry.code, body.delivered_at, entry.entitlement.per_days
                )
            )
            run.ruled_ms.append((time.perf_counter() - ruled) * 1000)
        lap(ENTITLEMENT)
        now = utc_now()
        event = decide_delivery(
            entry,
            Deliver(
                delivery_id=str(uuid_utils.uuid7()),
                client_id=body.client_id,
                service=entry.code,
                quantity=body.quantity,
                site=body.site,
                delivered_at=body.delivered_at,
                actor="distributor",
                migrant_id=body.migrant_id,
            ),
            past,
            now,
        )
        answer = event.model_dump(mode="json")
        pending = [
            PendingEvent(type=event.ce_type(), data=event.to_data(), subject=body.migrant_id)
        ]
        record = CommandRecord(command_id, request_fingerprint, answer)
        metadata = EventMetadata(actor="distributor", site=SITE)
        lap(DECIDE)
        version = await ledger.version(body.migrant_id)
        lap(VERSION)
        await store.append(
            body.migrant_id, version, pending, metadata, command=record, inline=ledger.project
        )
        lap(APPEND)
        await store.append(f"plain:{body.client_id}", 0, pending, metadata)
        lap(PLAIN_APPEND)
    return run


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Figures:
    deliveries: int
    people: int
    history: int
    light_people: int
    known_seconds: float
    history_run: BatchRun
    api: BatchRun
    api_server: ServerCounts
    """SecantusDB's requests and opcounters during the API run."""
    resend: BatchRun
    raw_resend_rate: float
    outbox_backlog: int
    outbox_seconds: float | None
    document_bytes: float
    raw_before: RawLimits
    raw_after: RawLimits
    singles: Singles
    heavy_history_after: int
    floor_ms: list[float]
    raw: RawQueries
    phases: PhaseRun


async def run(deliveries: int = 5000, history: int = 500) -> str:
    """Start the stack, measure, stop it, and return the Markdown section."""
    deliveries, history = max(1, deliveries), max(1, history)
    async with running_stack("distribution") as stack:
        figures = await measure(stack, deliveries, history)
    return render(figures)


async def measure(stack: Stack, count: int, history: int) -> Figures:
    rnd = random.Random(SEED)
    database = DistributionSettings().database
    first_day = datetime.now(UTC).replace(hour=9, minute=0, second=0, microsecond=0)
    first_day -= timedelta(days=1)
    book = DayBook(first_day, rnd)
    people_count = min(PEOPLE_AT_MOST, max(1, count // 10))
    total = people_count + ACCEPTED_SAMPLES + 1
    progress(f"registering {total} people through the registry ...")
    everyone = await register_people(stack, rnd, total)
    people, light, heavy = everyone[:people_count], everyone[people_count:-1], everyone[-1]
    meter = distribution_meter(stack)
    token = mint_token(secret=DEV_JWT_SECRET, role="distributor", site=SITE)
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(stack.config.mongo_url)
    try:
        async with httpx.AsyncClient(
            base_url=stack.config.url("distribution"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=HTTP_TIMEOUT_SECONDS,
        ) as client:
            progress("waiting until distribution knows everyone (a legal-aid delivery each) ...")
            known = await make_known(client, everyone, first_day - timedelta(hours=1))
            progress(f"{history} past hot meals for one person, one for {len(light)} others ...")
            past = [
                delivery(book.client_id(), heavy, RULED, first_day - timedelta(days=j))
                for j in range(history)
            ]
            history_run = await send_batches(client, meter, past)
            await send_batches(
                client, meter, [delivery(book.client_id(), m, RULED, first_day) for m in light]
            )
            stored = await stored_deliveries(mongo, database)
            progress("the raw limit before the API run ...")
            raw_before = await raw_limits(meter, mongo, stored, count, 1)
            items = book.spread(people, count)
            progress(f"through the API: {count} deliveries to {len(people)} people ...")
            counted = await server_counts(mongo)
            api = await send_batches(client, meter, items)
            api_server = (await server_counts(mongo)).minus(counted)
            progress("the first batch again ...")
            resend = await send_batches(client, meter, items[:BATCH])
            backlog, outbox_seconds = await wait_for_outbox(mongo[database]["events"])
            raw_resend = await raw_find_ones(
                mongo[database]["commands"],
                [delivery_command(i["client_id"]) for i in items[:BATCH]],
            )
            progress("the raw limit after it ...")
            raw_after = await raw_limits(meter, mongo, stored, count, 1)
            progress("entitlement checks, one request at a time ...")
            for n in range(SINGLE_WARM_UP):
                warm = await client.post("/deliveries", json=book.next(people[n % len(people)]))
                warm.raise_for_status()
            singles = await time_singles(
                client, meter, single_schedule(rnd, book, heavy, light, history)
            )
            heavy_after = await mongo[database][DELIVERIES].count_documents(
                {"migrant_id": heavy, "service": RULED}
            )
            floor_ms = await http_floor(client, HTTP_FLOOR_SAMPLES)
        progress("the check's query, directly ...")
        raw = await time_raw_queries(
            mongo,
            database,
            (heavy, first_day - timedelta(days=history // 2)),
            [(m, first_day) for m in light],
        )
        progress(f"phase by phase: {PHASE_SAMPLE} direct deliveries ...")
        # Four in a row per person, so the sample takes every service of the rotation.
        sample_people = people[: max(1, PHASE_SAMPLE // len(ROTATION))]
        phases = await phase_times(
            stack.config.mongo_url, database, book.spread_in_rows(sample_people, PHASE_SAMPLE)
        )
    finally:
        await mongo.close()
    return Figures(
        deliveries=count,
        people=len(people),
        history=history,
        light_people=len(light),
        known_seconds=known,
        history_run=history_run,
        api=api,
        api_server=api_server,
        resend=resend,
        raw_resend_rate=raw_resend,
        outbox_backlog=backlog,
        outbox_seconds=outbox_seconds,
        document_bytes=statistics.fmean(len(bson.encode(d)) for d in stored),
        raw_before=raw_before,
        raw_after=raw_after,
        singles=singles,
        heavy_history_after=heavy_after,
        floor_ms=floor_ms,
        raw=raw,
        phases=phases,
    )


def single_schedule(
    rnd: random.Random,
    book: DayBook,
    heavy: str,
    light: Sequence[str],
    history: int,
) -> list[tuple[str, Document]]:
    """The four kinds shuffled together, so that whatever drifts
    during the run weighs on each kind alike. A refusal asks for a hot meal on a day the
    person had one; a recording, on a day two or more from any of theirs."""
    first = book.first
    schedule = [
        (HEAVY_REFUSED, delivery(book.client_id(), heavy, RULED, first - timedelta(days=j)))
        for j in (rnd.randrange(history) for _ in range(REFUSED_SAMPLES))
    ]
    schedule += [
        (LIGHT_REFUSED, delivery(book.client_id(), light[n % len(light)], RULED, first))
        for n in range(REFUSED_SAMPLES)
    ]
    for n in range(ACCEPTED_SAMPLES):
        free_day = first - timedelta(days=history + n)
        schedule.append((HEAVY_ACCEPTED, delivery(book.client_id(), heavy, RULED, free_day)))
        two_days_back = first - timedelta(days=2)
        light_one = light[n % len(light)]
        schedule.append(
            (LIGHT_ACCEPTED, delivery(book.client_id(), light_one, RULED, two_days_back))
        )
    rnd.shuffle(schedule)
    return schedule


# --- the report --------------------------------------------------------------------------------

OUTSIDE_NOTABLE = 0.2
"""Cores used by other processes during a phase above which the report says so."""


def _p(values: Sequence[float], q: float) -> str:
    return f"{percentile(values, q):,.1f}" if values else "-"


def _p95(values: Sequence[float]) -> float:
    return percentile(values, 95)


def _latency_row(label: str, values: Sequence[float]) -> str:
    return f"| {label} | {len(values):,} | {_p(values, 50)} | {_p(values, 95)} | {_p(values, 99)} |"


def _ratio(numerator: float, denominator: float, digits: int = 3) -> str:
    return f"{numerator / denominator:.{digits}f}" if denominator > 0 else "-"


BENSYS_GROUPS = ("SecantusDB", "distribution", "reporting", "Tansu", "other services")
CPUS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _group_ms(run: BatchRun, group: str) -> float:
    """CPU milliseconds of ``group`` per recorded delivery."""
    return run.busy.cpu.get(group, 0.0) / max(run.recorded, 1) * 1000


def _span(rate: float, before: float, after: float, digits: int) -> str:
    return f"{_ratio(rate, before, digits)} and {_ratio(rate, after, digits)}"


def _item_ms(f: Figures) -> float:
    """Milliseconds of one recorded delivery inside the batches, the run's wall time shared."""
    return f.api.busy.seconds / max(f.api.recorded, 1) * 1000


def _means(f: Figures) -> dict[str, float]:
    return {phase: statistics.fmean(ms) for phase, ms in f.phases.times_ms.items() if ms}


def _trips(f: Figures) -> dict[str, float]:
    return {phase: statistics.fmean(n) for phase, n in f.phases.round_trips.items() if n}


def _db_ms(busy: Busy, count: int) -> float:
    return busy.cpu.get("SecantusDB", 0.0) / max(count, 1) * 1000


def render(f: Figures) -> str:
    lat, raw = f.singles.latencies_ms, f.raw
    heavy, after = f"{f.history:,}", f"{f.heavy_history_after:,}"
    lines = [
        HEADING,
        "",
        f"{f.deliveries:,} deliveries through `POST /deliveries/batch`, {BATCH:,} per request "
        f"and one request at a time (httpx, a distributor token for {SITE}), to {f.people:,} "
        "people registered through the registry, on the whole stack as `bensys up` runs it "
        "(Tansu, SecantusDB and the five services as processes). A person's k-th delivery is a "
        "hot meal, legal aid, a health screening or a transport appointment in turn, on the "
        "k-th day back, so no rule refuses any and a quarter pass an entitlement check (hot "
        "meals: one a day). Before the clock started distribution had learned of every person "
        "from the registry's events (a legal-aid delivery to each was answered within "
        f"{f.known_seconds:.1f} s), one person had been given {heavy} past hot meals "
        f"({f.history_run.rate():,.0f}/s through the same batches) and {f.light_people:,} "
        "others one each. The raw limit is the same SecantusDB in the same run, just before "
        "and just after the API run, writing distribution's own stored `ServiceDelivered` "
        f"event documents ({f.document_bytes / 1024:.1f} KB of BSON on average) under new ids "
        "into a scratch database with only its `_id` index.",
        "",
        "| deliveries/s | BenSys | raw limit | ratio |",
        "|---|---:|---:|---:|",
        *_ratio_rows(f),
        "",
        _batch_text(f),
        *_refusals(f),
        "",
        "**Entitlement check.** Single `POST /deliveries` one after another, the four kinds "
        "shuffled together: a hot meal on a day the person already had one (refused, 409 "
        "`entitlement`: client-id lookup, person, the check; nothing stored) and on a free day "
        f"(recorded, 201), for the person with {heavy} past hot meals (their recorded samples "
        f"brought them to {after} by the end) and for {f.light_people:,} people with one each "
        "(two after their recorded sample). Then, timed directly with pymongo on the same "
        "SecantusDB, the check's own query (`find` on `deliveries` with `Ledger.around`'s "
        "filter), the same without its `voided: False` clause, and the three reads of a "
        "refusal. Milliseconds:",
        "",
        "| ms | n | p50 | p95 | p99 |",
        "|---|---:|---:|---:|---:|",
        _latency_row(f"`POST /deliveries` refused, {heavy}+ past", lat[HEAVY_REFUSED]),
        _latency_row("`POST /deliveries` refused, 1 past", lat[LIGHT_REFUSED]),
        _latency_row(f"`POST /deliveries` recorded, {heavy}+ past", lat[HEAVY_ACCEPTED]),
        _latency_row("`POST /deliveries` recorded, 1 past", lat[LIGHT_ACCEPTED]),
        _latency_row(f"raw: the check's `find`, {after} past", raw.check_ms[HEAVY, AS_SENT]),
        _latency_row("raw: the check's `find`, 1-2 past", raw.check_ms[LIGHT, AS_SENT]),
        _latency_row(
            f"raw: the same without `voided: False`, {after} past",
            raw.check_ms[HEAVY, WITHOUT_VOIDED],
        ),
        _latency_row(
            "raw: the same without `voided: False`, 1-2 past", raw.check_ms[LIGHT, WITHOUT_VOIDED]
        ),
        _latency_row(
            f"raw: a refusal's three reads (client id, person, check), {after} past",
            raw.reads_ms[HEAVY],
        ),
        _latency_row("raw: a refusal's three reads, 1-2 past", raw.reads_ms[LIGHT]),
        _latency_row(
            f"raw: all {after} past hot meals of that person (`migrant_id`, `service`)",
            raw.all_history_ms,
        ),
        _latency_row("`GET /health` of distribution (HTTP alone, no I/O)", f.floor_ms),
        "",
        "| p95 ratio | value |",
        "|---|---:|",
        *_check_ratio_rows(f),
        "",
        "SecantusDB's `explain` of the check: as sent, "
        f"{raw.explained[HEAVY, AS_SENT]} for the person with {after} past and "
        f"{raw.explained[LIGHT, AS_SENT]} for one with 1-2; without `voided: False`, "
        f"{raw.explained[HEAVY, WITHOUT_VOIDED]} and {raw.explained[LIGHT, WITHOUT_VOIDED]}.",
        *_single_failures(f),
        "",
        f"Where a delivery's time goes: {PHASE_SAMPLE} more deliveries of the same mix recorded "
        "one at a time by direct calls of distribution's own functions from the bench process, "
        "in the order `record_delivery` calls them (reads from the service's live collections; "
        "the version read and the append on a scratch database), each phase timed and its "
        "database commands counted. Means, and their share of one recorded delivery inside the "
        f"batches ({_item_ms(f):.1f} ms: the API run's wall time over the deliveries recorded):",
        "",
        "| phase | round trips | ms | share |",
        "|---|---:|---:|---:|",
        *_phase_rows(f),
        "",
        *_server_text(f),
        "Who was busy, in CPU seconds per wall second (1.00 is one core; the last column is "
        "what other processes on the machine used meanwhile):",
        "",
        "| phase | wall s | SecantusDB | distribution | reporting | Tansu | other services "
        "| bench | outside BenSys |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        _busy(f"`POST /deliveries/batch`, {f.deliveries:,} deliveries", f.api.busy),
        _busy("the first batch again, all `already_recorded`", f.resend.busy),
        _busy("single `POST /deliveries`, one at a time", f.singles.busy),
        _busy("`insert_one`, one at a time, before", f.raw_before.one),
        _busy(f"`insert_many`, {RAW_INSERT_BATCH:,} per call, before", f.raw_before.many),
        _busy("`insert_one`, one at a time, after", f.raw_after.one),
        _busy(f"`insert_many`, {RAW_INSERT_BATCH:,} per call, after", f.raw_after.many),
        *_outside_load(f),
        "",
        "**Reading.**",
        "",
        *(f"- {line}" for line in _reading(f)),
        "",
    ]
    return "\n".join(lines)


def _ratio_rows(f: Figures) -> list[str]:
    rate = f.api.rate()
    rows = []
    for when, raw in (("before", f.raw_before), ("after", f.raw_after)):
        rows += [
            f"| recorded, against `insert_many` ({RAW_INSERT_BATCH:,} per call), {when} | "
            f"{rate:,.0f} | {raw.many_rate:,.0f} | {_ratio(rate, raw.many_rate, 4)} |",
            f"| recorded, against `insert_one` (one at a time), {when} | {rate:,.0f} | "
            f"{raw.one_rate:,.0f} | {_ratio(rate, raw.one_rate)} |",
        ]
    resend = f.resend.rate("already_recorded")
    rows.append(
        "| the first batch sent again (all `already_recorded`), against `find_one` of the "
        f"same client ids one at a time | {resend:,.0f} | {f.raw_resend_rate:,.0f} | "
        f"{_ratio(resend, f.raw_resend_rate)} |"
    )
    return rows


def _batch_text(f: Figures) -> str:
    api, resend = f.api, f.resend
    answered = (
        f"All {api.sent:,} were recorded"
        if api.recorded == api.sent
        else f"{api.recorded:,} of {api.sent:,} were recorded (the others below)"
    )
    again = (
        f"all {resend.sent:,} `already_recorded`"
        if resend.statuses["already_recorded"] == resend.sent
        else ", ".join(f"{s}: {n:,}" for s, n in sorted(resend.statuses.items()))
    )
    rates = api.batch_rates()
    drift = (
        " Deliveries/s of each batch, in order: " + ", ".join(f"{r:,.1f}" for r in rates) + "."
        if len(rates) > 1
        else ""
    )
    if f.outbox_seconds is None:
        published = f"had not published them all {OUTBOX_TIMEOUT_SECONDS:.0f} s later"
    else:
        published = f"published them within {f.outbox_seconds:.1f} s"
    return (
        f"{answered}; a batch of {BATCH:,} took {statistics.fmean(api.batch_seconds):.1f} s on "
        f"average.{drift} Sent again, the first batch answered {again} in "
        f"{sum(resend.batch_seconds):.2f} s. Distribution's relay had {f.outbox_backlog:,} "
        f"events still to publish when the last answer came, and {published}. The raw "
        f"`insert_one` wrote {f.raw_before.one_count:,} documents before and "
        f"{f.raw_after.one_count:,} after (it stops after 4 s); `insert_many` wrote "
        f"{f.raw_before.many_count:,} each time."
    )


def _refusals(f: Figures) -> list[str]:
    refusals = f.api.refusals + f.resend.refusals
    if not refusals:
        return []
    return ["", "Refused in the batches, the first of them:", "", *(f"- `{r}`" for r in refusals)]


def _check_ratio_rows(f: Figures) -> list[str]:
    lat, raw = f.singles.latencies_ms, f.raw
    heavy = f"{f.history:,}+ past"
    return [
        f"| raw check's `find` / API refusal, {heavy} | "
        f"{_ratio(_p95(raw.check_ms[HEAVY, AS_SENT]), _p95(lat[HEAVY_REFUSED]))} |",
        "| raw check's `find` / API refusal, 1 past | "
        f"{_ratio(_p95(raw.check_ms[LIGHT, AS_SENT]), _p95(lat[LIGHT_REFUSED]))} |",
        f"| raw three reads of a refusal / API refusal, {heavy} | "
        f"{_ratio(_p95(raw.reads_ms[HEAVY]), _p95(lat[HEAVY_REFUSED]))} |",
        f"| API refusal, {heavy} / 1 past | "
        f"{_ratio(_p95(lat[HEAVY_REFUSED]), _p95(lat[LIGHT_REFUSED]), 2)} |",
        f"| API recording, {heavy} / 1 past | "
        f"{_ratio(_p95(lat[HEAVY_ACCEPTED]), _p95(lat[LIGHT_ACCEPTED]), 2)} |",
        f"| raw check's `find`, {heavy} / 1-2 past | "
        f"{_ratio(_p95(raw.check_ms[HEAVY, AS_SENT]), _p95(raw.check_ms[LIGHT, AS_SENT]), 2)} |",
        f"| raw check without `voided: False`, {heavy} / 1-2 past | "
        + _ratio(
            _p95(raw.check_ms[HEAVY, WITHOUT_VOIDED]), _p95(raw.check_ms[LIGHT, WITHOUT_VOIDED]), 2
        )
        + " |",
    ]


def _single_failures(f: Figures) -> list[str]:
    if not f.singles.unexpected:
        return []
    return [
        "",
        "Unexpected answers (not counted above): "
        + ", ".join(f"{k}: {n:,}" for k, n in sorted(f.singles.unexpected.items()))
        + ". The first of them:",
        "",
        *(f"- `{failure}`" for failure in f.singles.failures),
    ]


def _phase_rows(f: Figures) -> list[str]:
    means, trips, whole = _means(f), _trips(f), _item_ms(f)
    rest = whole - sum(means[phase] for phase in PHASES)
    return [
        *(
            f"| {phase} | {trips[phase]:.2f} | {means[phase]:.2f} | {means[phase] / whole:.0%} |"
            for phase in PHASES
        ),
        "| the rest, by difference: the batch's HTTP and JSON shared out, the token check, "
        "metrics, and the relay and reporting working meanwhile on the same machine | | "
        f"{rest:.2f} | {rest / whole:.0%} |",
        "| *of the append: the same transaction without the command record, ledger row and "
        f"version* | *{trips[PLAIN_APPEND]:.1f}* | *{means[PLAIN_APPEND]:.2f}* | "
        f"*{means[PLAIN_APPEND] / whole:.0%}* |",
    ]


def _per_delivery(f: Figures) -> dict[str, float]:
    return {k: v / max(f.api.recorded, 1) for k, v in f.api_server.counts.items()}


def _server_text(f: Figures) -> list[str]:
    per = _per_delivery(f)
    if not per.get("requests"):
        why = f.api_server.error or "no `network.numRequests` in its answer"
        return [f"SecantusDB's `serverStatus` gave no request counts ({why}).", ""]
    trips = sum(_trips(f)[phase] for phase in PHASES)
    ops = ", ".join(f"{k} {v:.1f}" for k, v in per.items() if k != "requests")
    return [
        f"SecantusDB's own counters (`serverStatus`) over the API run: {per['requests']:.1f} "
        f"requests per recorded delivery ({ops}), where recording one takes {trips:.1f} "
        "round trips (above); the others are the relay publishing each delivery, the "
        "reporting service projecting it, and the drivers' monitoring.",
        "",
    ]


def _busy(phase: str, busy: Busy) -> str:
    # Clock ticks are counted per process and for the machine apart: clamp the rounding.
    shares = " | ".join(f"{max(busy.share(group), 0.0):.2f}" for group in PROCESS_GROUPS)
    return f"| {phase} | {busy.seconds:.1f} | {shares} |"


def _outside_load(f: Figures) -> list[str]:
    phases = {
        "the API run": f.api.busy,
        "the single requests": f.singles.busy,
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


_SHORT = {
    VALIDATE: "validation",
    IDEMPOTENCY: "the client-id lookup",
    PERSON: "the person lookup",
    ENTITLEMENT: "the entitlement query",
    DECIDE: "deciding",
    VERSION: "the version read",
    APPEND: "the append transaction",
}


def _reading(f: Figures) -> list[str]:
    """Each sentence's figures come from this run; its claims are chosen by them."""
    means, trips, whole = _means(f), _trips(f), _item_ms(f)
    api, lat, raw = f.api, f.singles.latencies_ms, f.raw
    round_trips = sum(trips[phase] for phase in PHASES)
    rest = whole - sum(means[phase] for phase in PHASES)
    raw_one_db = [_db_ms(r.one, r.one_count) for r in (f.raw_before, f.raw_after)]
    largest = sorted(PHASES, key=lambda p: -means[p])[:3]
    api_heavy, api_light = _p95(lat[HEAVY_REFUSED]), _p95(lat[LIGHT_REFUSED])
    sent_heavy, sent_light = _p95(raw.check_ms[HEAVY, AS_SENT]), _p95(raw.check_ms[LIGHT, AS_SENT])
    bare_heavy = _p95(raw.check_ms[HEAVY, WITHOUT_VOIDED])
    bare_light = _p95(raw.check_ms[LIGHT, WITHOUT_VOIDED])
    grows = sent_heavy > 2 * sent_light
    clause_is_why = bare_heavy * 3 < sent_heavy
    db_ms = _db_ms(api.busy, api.recorded)
    per = _per_delivery(f)
    return [
        f"Through the batch endpoint a delivery took {whole:.1f} ms ({api.rate():,.1f}/s), "
        f"{_span(api.rate(), f.raw_before.many_rate, f.raw_after.many_rate, 4)} of the raw "
        "`insert_many` rate (before, after) and "
        f"{_span(api.rate(), f.raw_before.one_rate, f.raw_after.one_rate, 3)} of one-at-a-time "
        "`insert_one`. A batch saves HTTP requests, not database round trips: its items are "
        f"recorded one after another, each {round_trips:.0f} round trips "
        f"({trips[APPEND]:.0f} of them the append transaction) where `insert_one` makes one "
        "and `insert_many` a thousandth of one.",
        "Of a delivery recorded by direct calls the largest phases are "
        + ", then ".join(
            f"{_SHORT[p]} ({means[p]:.1f} ms, {means[p] / whole:.0%})" for p in largest
        )
        + "; the command record, ledger row and version upsert add "
        f"{means[APPEND] - means[PLAIN_APPEND]:.1f} ms to the bare append. The remaining "
        f"{rest:.1f} ms ({rest / whole:.0%}) is inferred by difference, not timed"
        + (
            f"; SecantusDB answered {per['requests']:.1f} requests per delivery during the API "
            f"run where the delivery itself makes {round_trips:.0f}: the other "
            f"{per['requests'] - round_trips:.1f} are the relay publishing it and reporting's "
            "consumer projecting it, on the same database at the same time."
            if per.get("requests") and per["requests"] > 1.3 * round_trips and rest > 0
            else "."
        ),
        f"Per delivery in the API run SecantusDB used {db_ms:.1f} ms "
        + (
            f"of CPU ({db_ms / per['requests']:.2f} ms per request it answered) "
            if per.get("requests")
            else "of CPU "
        )
        + f"and the distribution service {_group_ms(api, 'distribution'):.1f} ms; all of "
        f"BenSys {sum(_group_ms(api, g) for g in BENSYS_GROUPS):.1f} ms of CPU in "
        f"{whole:.1f} ms of wall time on {CPUS} CPUs, while other processes used "
        f"{api.busy.share(OUTSIDE):.2f} of a core. SecantusDB is one Python process, using "
        f"{api.busy.share('SecantusDB'):.2f} of a core here: at {db_ms:.1f} ms of its CPU per "
        f"delivery it could record about {1000 / db_ms if db_ms > 0 else 0:,.0f}/s at most "
        "with a core to itself. A raw `insert_one` cost it "
        f"{raw_one_db[0]:.2f} ms (before) and {raw_one_db[1]:.2f} ms (after).",
        f"The entitlement check for the person with {f.history:,}+ past hot meals: a refusal "
        f"took p95 {api_heavy:.1f} ms through the API against {api_light:.1f} ms with one past "
        f"({_ratio(api_heavy, api_light, 2)}x); the check's own query p95 {sent_heavy:.1f} ms "
        f"against {sent_light:.1f} ms ({_ratio(sent_heavy, sent_light, 2)}x), "
        f"{_ratio(sent_heavy, api_heavy)} of the API refusal's p95. "
        + (
            "It grows with the person's history, and its `voided: False` clause is why: "
            f"without it the same query for the same person took p95 {bare_heavy:.1f} ms "
            f"(against {bare_light:.1f} ms with 1-2 past), and `explain` shows the compound "
            "index used only then. (With the clause "
            "`explain` reports a scan of the whole collection for both people, yet the time "
            "follows the person's rows, not the collection's, and is about what reading all "
            f"{f.heavy_history_after:,} of them costs (p95 {_p95(raw.all_history_ms):.1f} ms): "
            "that is not what runs.) Building that history through the batches, each hot meal "
            f"checked against every one before it, ran at {f.history_run.rate():,.1f}/s, "
            f"against {api.rate():,.1f}/s for deliveries spread over many people."
            if grows and clause_is_why
            else "It does not grow with the person's history."
            if not grows
            else f"Without `voided: False` it took p95 {bare_heavy:.1f} ms against "
            f"{bare_light:.1f} ms."
        ),
        f"Sending a batch again costs the client-id lookups alone: "
        f"{f.resend.rate('already_recorded'):,.0f} items/s, "
        f"{_ratio(f.resend.rate('already_recorded'), f.raw_resend_rate)} of raw `find_one` "
        "by `_id` one at a time.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.distribution_bench", description=__doc__)
    parser.add_argument("--deliveries", type=int, default=5000, help="deliveries in batches")
    parser.add_argument(
        "--history", type=int, default=500, help="past hot meals of the person checked"
    )
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(asyncio.run(run(deliveries=args.deliveries, history=args.history)))


if __name__ == "__main__":
    main()
