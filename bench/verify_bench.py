"""Online card verification: ``POST /verify`` at a steady rate, against the raw floors, in one run.

The whole system is started as ``bensys up`` starts it (``bensys.stack.Stack`` on free ports in
a temporary folder). People are registered through the registry with ``issue_card`` and consent
to ``health_vaccination``, so every verification takes the full path (card, person, printed
name and year opened, doses); each card gets one dose. Health providers then verify the cards
through ``POST /verify`` at a fixed rate, half by the scanned QR credential and half by the
typed number.

Every rate here is open loop: request ``i`` is due at ``t0 + i / rate`` and its latency counts
from then, whether or not earlier answers have come, so a slow answer that holds up the next
requests is not hidden (no coordinated omission). A request still unanswered
``REQUEST_TIMEOUT_SECONDS`` after the last one was due is given up and counts as failed, and a
failed request counts as slower than any answer in the percentiles. The requests are sent by a
bare HTTP/1.1 client (:class:`BareHttp`): httpx spends some 7 ms of CPU per request, so at
200/s it would need most of a core and delay its own requests.

On the same servers, at the same rate and by the same open loop, the floors a verification
over HTTP could reach on this machine:

- raw crypto: ``read_credential`` of the same credentials in-process (Ed25519 and parsing);
- raw MongoDB: the reads the service does (the card by ``_id``, the person by ``_id``) and one
  ``insert_one`` into a scratch collection, with ``AsyncMongoClient`` directly;
- raw HTTP: ``GET /health`` of the cards service (uvicorn, FastAPI, the middleware, no I/O).

The same verification is also run by direct calls of the cards service's own functions from
this process (no HTTP; events to a scratch database, so no relay), phase by phase, to say where
the time goes; and everything once one request at a time, for the latency and the CPU each
process spends on one request when nothing else runs.

``python -m bench.verify_bench [--rate R] [--seconds S] [--cards N]`` prints the Markdown
section.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from pymongo import AsyncMongoClient

from bench.registration_bench import (
    OUTSIDE,
    Busy,
    CommandCounter,
    Meter,
    percentile,
    registrations,
)
from bench.sections import machine_facts
from bench.stacks import progress, running_stack
from bensys.embedded import ManagedProcess
from bensys.stack import Stack
from services.cards.card_index import CardIndex
from services.cards.issuing import open_card
from services.cards.people import PeopleProjection
from services.cards.settings import CardsSettings
from shared.auth import mint_token
from shared.bencard.credential import read_credential
from shared.bencard.keys import public_keys_from_jwks
from shared.bencard.numbers import format_card_number, normalise_card_number
from shared.contracts.cards import CardVerified
from shared.crypto import MongoKeyVault, PersonalDataCipher
from shared.eventstore.building import new_event_id
from shared.eventstore.model import EventMetadata, PendingEvent, utc_now
from shared.eventstore.mongo import MongoEventStore
from shared.settings import DEFAULT_SITES, DEV_JWT_SECRET

Document = dict[str, Any]

HEADING = "## Online card verification (issue 4)"
TARGET_P99_MS = 20.0
SEED = 20_260_502
WARM_UP_SECONDS = 3.0
"""At the full rate through the API before any clock starts: pools, first imports, caches."""
FLOOR_WARM_UP_SECONDS = 1.0
"""Each other open-loop run's own warm-up at the same rate, not counted."""
ONE_BY_ONE = 100
"""Requests of each kind sent one after another: latency and CPU of one, nothing else running."""
IDLE_SECONDS = 3.0
"""How long SecantusDB's idle rate of operations (every service's relay polls it) is counted."""
REQUEST_TIMEOUT_SECONDS = 10.0
"""Longest wait for an answer, after the last request was due: 500 times the target."""
MAX_CONNECTIONS = 200
"""As many as requests due in one second at the default rate: each a provider's device."""
SETUP_CONCURRENCY = 8
SETUP_TIMEOUT_SECONDS = 60.0
CARD_TIMEOUT_SECONDS = 180.0
QUIESCE_TIMEOUT_SECONDS = 300.0
QUIET_WINDOW_SECONDS = 1.0
QUIET_CORES = 0.3
"""SecantusDB and cards together below this share of a core: no left-over work is running."""
SATURATED_CORES = 0.85
"""SecantusDB busy above this share of a core is as busy as one Python process gets."""
OUTSIDE_NOTABLE = 0.2
"""Other processes using more than this share of a core are said to have weighed on a run."""
SCRATCH_DATABASE = "bench_raw_verify"
DIRECT_DATABASE = "bench_direct_verify"
KEPT_FAILURES = 3
CENTRE = "Hulhumalé Health Centre"
HTTP_ROUTE = "/verify"
HTTP_HISTOGRAM = "bensys_http_request_duration_seconds"

# --- phases of one verification, in the order ``verify_api.verify`` runs them ------------------

READ_INPUT = "read the input: `read_credential` (Ed25519) when scanned, the number when typed"
READ_CARD = "read the card (`CardIndex.card`)"
APPEND = "append `CardVerified` (`MongoEventStore.append`: a position, then one insert)"
READ_PERSON = "read the person (`PeopleProjection.find`)"
OPEN_CARD = "open the printed name and year (`open_card`: a vault read each, AES-GCM)"
READ_DOSES = "read the doses (`CardIndex.doses_of`)"
PHASES = (READ_INPUT, READ_CARD, APPEND, READ_PERSON, OPEN_CARD, READ_DOSES)

# --- process groups whose CPU is measured -------------------------------------------------------

GROUPS = ("SecantusDB", "cards", "Tansu", "other services", "bench", OUTSIDE)


def verify_meter(stack: Stack) -> Meter:
    """CPU per process group, with the cards service apart (``stack_meter`` lumps it in)."""

    def pid(process: ManagedProcess) -> list[int]:
        return [] if process.process is None else [int(process.process.pid)]

    others = [p for name, s in stack.services.items() if name != "cards" for p in pid(s)]
    return Meter(
        {
            "SecantusDB": pid(stack.database),
            "cards": pid(stack.services["cards"]),
            "Tansu": pid(stack.broker),
            "other services": others,
        }
    )


# --- a client cheap enough to send 200 requests a second -----------------------------------------


class BareHttp:
    """HTTP/1.1 over asyncio streams: keep-alive connections, one request on each at a time,
    answers with a ``Content-Length`` (all FastAPI's JSON answers). About 0.3 ms of CPU per
    request here, against some 7 ms for httpx."""

    def __init__(self, url: str, headers: Mapping[str, str], max_connections: int) -> None:
        authority = url.removeprefix("http://").rstrip("/")
        host, _, port = authority.partition(":")
        self._host, self._port = host, int(port or 80)
        lines = [f"Host: {authority}", *(f"{name}: {value}" for name, value in headers.items())]
        self._head = "".join(f"{line}\r\n" for line in lines)
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(max_connections)

    async def request(self, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
        head = f"{method} {path} HTTP/1.1\r\n{self._head}"
        if body is not None:
            head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        message = head.encode("latin-1") + b"\r\n" + (body or b"")
        async with self._slots:
            while self._idle:
                reader, writer = self._idle.pop()
                if reader.at_eof() or writer.is_closing():
                    writer.close()
                    continue
                try:
                    return await self._exchange(reader, writer, message)
                except (ConnectionError, asyncio.IncompleteReadError):
                    continue  # the server closed this idle connection meanwhile: another
            reader, writer = await asyncio.open_connection(self._host, self._port)
            return await self._exchange(reader, writer, message)

    async def _exchange(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, message: bytes
    ) -> tuple[int, bytes]:
        try:
            writer.write(message)
            lines = (await reader.readuntil(b"\r\n\r\n")).split(b"\r\n")
            status = int(lines[0].split(b" ", 2)[1])
            length, keep = None, True
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                name = name.strip().lower()
                if name == b"content-length":
                    length = int(value)
                elif name == b"connection" and value.strip().lower() == b"close":
                    keep = False
            if length is None:
                raise ValueError("an answer without Content-Length")
            body = await reader.readexactly(length)
        except BaseException:
            writer.close()
            raise
        if keep:
            self._idle.append((reader, writer))
        else:
            writer.close()
        return status, body

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


# --- the cards -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    number: str
    migrant_id: str
    credential: str


def health_provider_token() -> str:
    return mint_token(secret=DEV_JWT_SECRET, role="health_provider", site=DEFAULT_SITES[0])


async def in_parallel(items: Iterable[Any], work: Callable[[Any], Awaitable[Any]]) -> list[Any]:
    """``work`` on every item, ``SETUP_CONCURRENCY`` at a time, results in order."""
    limit = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def one(item: Any) -> Any:
        async with limit:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))


async def issue_cards(stack: Stack, count: int) -> list[Card]:
    """Register ``count`` people who asked for a card and consented to health data, wait for
    their cards, record one dose on each, and fetch each card's QR text."""
    rnd = random.Random(SEED)
    tokens = {
        site: mint_token(secret=DEV_JWT_SECRET, role="registrar", site=site)
        for site in DEFAULT_SITES
    }
    batch = registrations(rnd, count, tokens)
    for registration in batch:
        registration.body["issue_card"] = True
        consent = registration.body["consent"]
        consent["purposes"] = [*dict.fromkeys([*consent["purposes"], "health_vaccination"])]
    registrar = {"Authorization": f"Bearer {tokens[DEFAULT_SITES[0]]}"}
    provider = {"Authorization": f"Bearer {health_provider_token()}"}
    timeout = httpx.Timeout(SETUP_TIMEOUT_SECONDS)
    async with (
        httpx.AsyncClient(base_url=stack.config.url("registry"), timeout=timeout) as registry,
        httpx.AsyncClient(base_url=stack.config.url("cards"), timeout=timeout) as cards,
    ):

        async def register(registration: Any) -> str:
            response = await registry.post(
                "/migrants", json=registration.body, headers=registration.headers
            )
            if response.status_code != 201:
                raise RuntimeError(f"registration refused: {response.status_code} {response.text}")
            return str(response.json()["migrant_id"])

        async def card_of(migrant_id: str) -> str:
            deadline = time.monotonic() + CARD_TIMEOUT_SECONDS
            while time.monotonic() < deadline:
                response = await cards.get(f"/migrants/{migrant_id}/cards", headers=registrar)
                if response.status_code == 200:
                    for item in response.json():
                        if item["status"] == "active":
                            return str(item["card_number"])
                await asyncio.sleep(0.2)
            raise RuntimeError(f"no card for {migrant_id} after {CARD_TIMEOUT_SECONDS:.0f} s")

        async def dose_and_credential(number: str) -> str:
            dose = {
                "vaccine": "tetanus_diphtheria",
                "dose_number": 1,
                "administered_on": datetime.now(UTC).date().isoformat(),
                "centre": CENTRE,
            }
            answer = await cards.post(f"/cards/{number}/doses", json=dose, headers=provider)
            if answer.status_code != 201:
                raise RuntimeError(f"dose refused: {answer.status_code} {answer.text}")
            answer = await cards.get(f"/cards/{number}/credential", headers=registrar)
            answer.raise_for_status()
            return str(answer.json()["credential"])

        progress(f"registering {count} people who asked for a card ...")
        migrants = await in_parallel(batch, register)
        progress("waiting for their cards ...")
        numbers = await in_parallel(migrants, card_of)
        progress("recording a dose on each card and reading its QR text ...")
        credentials = await in_parallel(numbers, dose_and_credential)
    return [
        Card(number, migrant, credential)
        for number, migrant, credential in zip(numbers, migrants, credentials, strict=True)
    ]


def verify_bodies(cards: Sequence[Card]) -> list[Document]:
    """Alternately the scanned QR text and the number as printed (``XXXX-XXXX-XXX``), so each
    card is verified both ways in turn when the bodies are cycled."""
    bodies: list[Document] = []
    for card in cards:
        bodies.append({"credential": card.credential})
        bodies.append({"card_number": format_card_number(card.number)})
    return bodies


# --- open loop, and one at a time ---------------------------------------------------------------

Call = Callable[[int], Awaitable[str | None]]
"""Makes the ``i``-th request; returns None when it succeeded, else what went wrong."""


class Failures:
    """Failed requests by kind, and the first few in full."""

    def __init__(self) -> None:
        self.by_kind: Counter[str] = Counter()
        self.first: list[str] = []

    def add(self, error: str) -> None:
        self.by_kind[error.split(":", 1)[0]] += 1
        if len(self.first) < KEPT_FAILURES:
            self.first.append(error[:300])


async def attempt(call: Call, i: int) -> str | None:
    try:
        return await call(i)
    except Exception as exc:  # every failure is a figure, not a crash
        return f"{type(exc).__name__}: {exc}"


@dataclass
class OpenLoop:
    """One open-loop run: latencies count from each request's due time."""

    rate: float
    scheduled: int
    busy: Busy = field(default_factory=lambda: Busy(0.0, {}))
    latencies_ms: list[float] = field(default_factory=list)
    """Of the requests that succeeded."""
    send_lag_ms: list[float] = field(default_factory=list)
    """How late each request left against its due time: the bench's own delay."""
    failures: Failures = field(default_factory=Failures)
    started: float = 0.0
    last_answer: float = 0.0

    @property
    def answered_rate(self) -> float:
        """Successful answers per second, from the first due time to the last answer."""
        span = self.last_answer - self.started
        return len(self.latencies_ms) / span if span > 0 else 0.0

    @property
    def failed(self) -> int:
        return self.scheduled - len(self.latencies_ms)

    def p(self, q: float) -> float:
        """Percentile over every scheduled request, a failed one counting as slower than any
        answer (``inf``): the answers that came are not the whole story of an overload."""
        return percentile([*self.latencies_ms, *[math.inf] * self.failed], q)

    def cores(self, group: str) -> float:
        return max(self.busy.share(group), 0.0)


async def open_loop(meter: Meter, call: Call, rate: float, seconds: float) -> OpenLoop:
    """Request ``i`` due at ``t0 + i / rate``, each in its own task, whatever the answers do.

    Requests still unanswered ``REQUEST_TIMEOUT_SECONDS`` after the last one was due are given
    up, so an overloaded server cannot stretch the run without end.
    """
    run = OpenLoop(rate=rate, scheduled=max(1, round(rate * seconds)))

    async def one(due: float, i: int) -> None:
        run.send_lag_ms.append((time.perf_counter() - due) * 1000)
        error = await attempt(call, i)
        done = time.perf_counter()
        run.last_answer = max(run.last_answer, done)
        if error is None:
            run.latencies_ms.append((done - due) * 1000)
        else:
            run.failures.add(error)

    tasks: list[asyncio.Task[None]] = []
    before = meter.read()
    run.started = before[0]
    for i in range(run.scheduled):
        due = run.started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(due, i)))
    _, pending = await asyncio.wait(tasks, timeout=REQUEST_TIMEOUT_SECONDS)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for _ in pending:
        run.failures.add(f"no answer: given up {REQUEST_TIMEOUT_SECONDS:.0f} s after the last due")
    run.busy = meter.since(before)
    return run


async def measured(meter: Meter, call: Call, rate: float, seconds: float) -> OpenLoop:
    """``FLOOR_WARM_UP_SECONDS`` at the same rate, not counted, then ``seconds`` counted."""
    await open_loop(meter, call, rate, FLOOR_WARM_UP_SECONDS)
    return await open_loop(meter, call, rate, seconds)


@dataclass(frozen=True)
class OneByOne:
    """Requests sent one after another, nothing else running."""

    latencies_ms: list[float]
    busy: Busy
    failures: Failures
    db_ops: float = math.nan
    """SecantusDB operations per request, whoever sent them, beyond its idle rate."""

    def p(self, q: float) -> float:
        return percentile(self.latencies_ms, q)

    def cpu_ms(self, group: str) -> float:
        """CPU milliseconds of ``group`` per request."""
        return max(self.busy.cpu.get(group, 0.0), 0.0) / max(len(self.latencies_ms), 1) * 1000


async def one_by_one(meter: Meter, call: Call) -> OneByOne:
    await attempt(call, 0)  # a fresh connection, not counted
    times, failures = [], Failures()
    before = meter.read()
    for i in range(ONE_BY_ONE):
        started = time.perf_counter()
        error = await attempt(call, i)
        if error is None:
            times.append((time.perf_counter() - started) * 1000)
        else:
            failures.add(error)
    return OneByOne(times, meter.since(before), failures)


async def db_ops(mongo: AsyncMongoClient[Document]) -> float:
    """Operations SecantusDB has served so far (``serverStatus`` opcounters, all kinds)."""
    status = await mongo.admin.command({"serverStatus": 1})
    return float(sum(status.get("opcounters", {}).values()))


# --- what is called -------------------------------------------------------------------------------


def through_api(client: BareHttp, bodies: Sequence[Document]) -> Call:
    encoded = [json.dumps(body).encode() for body in bodies]

    async def call(i: int) -> str | None:
        status, answer = await client.request("POST", HTTP_ROUTE, encoded[i % len(encoded)])
        if status != 200:
            return f"{status}: {answer.decode(errors='replace')}"
        if not json.loads(answer).get("valid"):
            return f"not valid: {answer.decode(errors='replace')}"
        return None

    return call


def http_floor(client: BareHttp) -> Call:
    async def call(_: int) -> str | None:
        status, answer = await client.request("GET", "/health")
        return None if status == 200 else f"{status}: {answer.decode(errors='replace')}"

    return call


def raw_mongo(mongo: AsyncMongoClient[Document], cards: Sequence[Card], template: Document) -> Call:
    """What a verification asks of MongoDB at the least: the card, the person, one insert of
    a stored ``CardVerified`` event under a new id, into a collection with only ``_id``."""
    database = mongo[CardsSettings().database]
    scratch = mongo[SCRATCH_DATABASE]["events"]

    async def call(i: int) -> str | None:
        card = await database["cards"].find_one({"_id": cards[i % len(cards)].number})
        if card is None:
            return "no card"
        if await database["people"].find_one({"_id": card["migrant_id"]}) is None:
            return "no person"
        await scratch.insert_one({**template, "_id": new_event_id()})
        return None

    return call


class Laps:
    """Each phase's milliseconds, and its round trips when given the client's counter."""

    def __init__(self, counter: CommandCounter | None = None) -> None:
        self.times_ms: dict[str, list[float]] = {phase: [] for phase in PHASES}
        self.round_trips: dict[str, list[int]] = {phase: [] for phase in PHASES}
        self._counter = counter

    def _sent(self) -> int:
        return 0 if self._counter is None else self._counter.sent

    def stopwatch(self) -> Callable[[str], None]:
        """A clock for one verification: each call ends a phase and starts the next."""
        clock, sent = time.perf_counter(), self._sent()

        def lap(phase: str) -> None:
            nonlocal clock, sent
            now, now_sent = time.perf_counter(), self._sent()
            self.times_ms[phase].append((now - clock) * 1000)
            self.round_trips[phase].append(now_sent - sent)
            clock, sent = now, now_sent

        return lap

    def mean(self, phase: str) -> float:
        return statistics.fmean(self.times_ms[phase]) if self.times_ms[phase] else 0.0

    def trips(self, phase: str) -> float:
        return statistics.fmean(self.round_trips[phase]) if self.round_trips[phase] else 0.0


class Direct:
    """The cards service's own functions, called from this process as ``verify`` calls them;
    ``CardVerified`` goes to a scratch event store, so no relay publishes it."""

    def __init__(self, mongo: AsyncMongoClient[Document], keys_document: Document) -> None:
        settings = CardsSettings()
        self.index = CardIndex(mongo, settings.database)
        self.people = PeopleProjection(mongo, settings.database)
        self.cipher = PersonalDataCipher(
            MongoKeyVault(mongo, settings.vault_database, settings.master_key_bytes)
        )
        self.store = MongoEventStore(mongo, DIRECT_DATABASE)
        self.keys = public_keys_from_jwks(keys_document)
        self.metadata = EventMetadata(actor="health_provider", site=DEFAULT_SITES[0])

    async def verify(self, body: Document, lap: Callable[[str], None]) -> str | None:
        if "credential" in body:
            number = read_credential(body["credential"], self.keys, now=utc_now()).card_number
        else:
            number = normalise_card_number(body["card_number"])
        lap(READ_INPUT)
        card = await self.index.card(number)
        if card is None:
            return "no card"
        lap(READ_CARD)
        verification_id = new_event_id()
        event = CardVerified(
            verification_id=verification_id,
            migrant_id=card["migrant_id"],
            card_number=number,
            method="credential" if "credential" in body else "card_number",
            status="valid",
            verified_by="health_provider",
            site=DEFAULT_SITES[0],
            verified_at=utc_now(),
        )
        pending = PendingEvent(
            type=event.ce_type(), data=event.to_data(), subject=card["migrant_id"]
        )
        await self.store.append(f"verification:{verification_id}", 0, [pending], self.metadata)
        lap(APPEND)
        person = await self.people.find(card["migrant_id"])
        if person is None or not person.shares_health_data:
            return "no consent"
        lap(READ_PERSON)
        await open_card(self.cipher, card)
        lap(OPEN_CARD)
        await self.index.doses_of(card["migrant_id"])
        lap(READ_DOSES)
        return None


def directly(direct: Direct, bodies: Sequence[Document], laps: Laps) -> Call:
    async def call(i: int) -> str | None:
        return await direct.verify(bodies[i % len(bodies)], laps.stopwatch())

    return call


def crypto_floor(credentials: Sequence[str], keys_document: Document, count: int) -> list[float]:
    """Microseconds of each ``read_credential``, one after another, in this process."""
    keys = public_keys_from_jwks(keys_document)
    now = utc_now()
    times = []
    for i in range(count):
        text = credentials[i % len(credentials)]
        started = time.perf_counter()
        read_credential(text, keys, now=now)
        times.append((time.perf_counter() - started) * 1e6)
    return times


# --- what the service says of itself, and waiting for it to be idle ------------------------------


@dataclass(frozen=True)
class ServerTimes:
    """``POST /verify`` as the service's own histogram saw it (inside its middleware)."""

    count: float
    seconds: float
    buckets: dict[float, float]

    def minus(self, before: ServerTimes) -> ServerTimes:
        return ServerTimes(
            self.count - before.count,
            self.seconds - before.seconds,
            {le: n - before.buckets.get(le, 0.0) for le, n in self.buckets.items()},
        )

    @property
    def mean_ms(self) -> float:
        return self.seconds / self.count * 1000 if self.count else 0.0

    def last_bound_ms(self) -> float:
        return max((le for le in self.buckets if not math.isinf(le)), default=0.0) * 1000

    def bound_ms(self, q: float) -> float:
        """The upper bound of the histogram bucket holding the ``q``-th percentile."""
        for le, n in sorted(self.buckets.items()):
            if self.count and n >= q / 100 * self.count:
                return le * 1000
        return math.inf


async def server_times(url: str) -> ServerTimes:
    async with httpx.AsyncClient(timeout=SETUP_TIMEOUT_SECONDS) as client:
        text = (await client.get(f"{url}/metrics")).text
    count = seconds = 0.0
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != HTTP_HISTOGRAM:
            continue
        for sample in family.samples:
            if sample.labels.get("route") != HTTP_ROUTE or sample.labels.get("method") != "POST":
                continue
            if sample.name.endswith("_count"):
                count += sample.value
            elif sample.name.endswith("_sum"):
                seconds += sample.value
            elif sample.name.endswith("_bucket"):
                le = float(sample.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + sample.value
    return ServerTimes(count, seconds, buckets)


async def quiesce(meter: Meter, mongo: AsyncMongoClient[Document]) -> float | None:
    """Seconds until the cards relay has published every event and SecantusDB and the cards
    service are idle again (an overload leaves work behind), or None after the timeout."""
    events = mongo[CardsSettings().database]["events"]
    started = time.perf_counter()
    while time.perf_counter() - started < QUIESCE_TIMEOUT_SECONDS:
        before = meter.read()
        await asyncio.sleep(QUIET_WINDOW_SECONDS)
        busy = meter.since(before)
        idle = busy.share("SecantusDB") + busy.share("cards") < QUIET_CORES
        if idle and await events.count_documents({"published": False}) == 0:
            return time.perf_counter() - started
    return None


# --- the run -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Alone:
    """Each kind of request, one at a time."""

    api: OneByOne
    direct: OneByOne
    phases: Laps
    http: OneByOne
    mongo: OneByOne
    crypto_us: list[float]


@dataclass(frozen=True)
class AtRate:
    """Each kind of request at the rate, open loop."""

    api: OpenLoop
    server: ServerTimes
    quiet_after: float | None
    """Seconds after the API run until the stack was idle again."""
    direct: OpenLoop
    direct_laps: Laps
    direct_conflicts: int
    """Commands refused with a write conflict during the direct run (pymongo retries them)."""
    http: OpenLoop
    mongo_before: OpenLoop
    mongo_after: OpenLoop

    @property
    def mongo(self) -> OpenLoop:
        """The better of the two raw MongoDB runs: a floor is the best the server did."""
        return min(self.mongo_before, self.mongo_after, key=lambda run: run.p(99))


@dataclass(frozen=True)
class Figures:
    rate: float
    seconds: float
    cards: int
    facts: dict[str, str]
    alone: Alone
    at: AtRate


async def run(rate: float = 200, seconds: float = 30, cards: int = 200) -> str:
    """Start the stack, measure, stop it, and return the Markdown section."""
    async with running_stack("verify") as stack:
        figures = await measure(stack, rate, seconds, max(1, cards))
    return render(figures)


class Rig:
    """What every measurement uses: the clients, the cards and the calls."""

    def __init__(
        self, stack: Stack, issued: Sequence[Card], keys_document: Document, template: Document
    ) -> None:
        self.meter = verify_meter(stack)
        self.cards_url = stack.config.url("cards")
        self.issued = issued
        self.bodies = verify_bodies(issued)
        self.keys_document = keys_document
        headers = {"Authorization": f"Bearer {health_provider_token()}"}
        self.http = BareHttp(self.cards_url, headers, MAX_CONNECTIONS)
        self.mongo: AsyncMongoClient[Document] = AsyncMongoClient(stack.config.mongo_url)
        self.counter = CommandCounter()
        self.counted: AsyncMongoClient[Document] = AsyncMongoClient(
            stack.config.mongo_url, event_listeners=[self.counter]
        )
        self.direct = Direct(self.counted, keys_document)
        self.api = through_api(self.http, self.bodies)
        self.health = http_floor(self.http)
        self.template = template

    def directly(self, laps: Laps) -> Call:
        return directly(self.direct, self.bodies, laps)

    def raw_mongo(self) -> Call:
        return raw_mongo(self.mongo, self.issued, self.template)

    async def quiet(self) -> float | None:
        return await quiesce(self.meter, self.mongo)

    async def close(self) -> None:
        await self.http.close()
        await self.mongo.drop_database(DIRECT_DATABASE)
        await self.mongo.close()
        await self.counted.close()


async def measure(stack: Stack, rate: float, seconds: float, count: int) -> Figures:
    issued = await issue_cards(stack, count)
    async with httpx.AsyncClient(base_url=stack.config.url("cards"), timeout=60.0) as setup:
        keys_document: Document = (await setup.get("/.well-known/jwks.json")).json()
    rig = Rig(stack, issued, keys_document, {})
    try:
        await rig.mongo.drop_database(DIRECT_DATABASE)
        await rig.direct.store.ensure_indexes()
        rig.template = await _warm_up(rig, rate)
        alone = await measure_alone(rig, rate, seconds)
        at = await measure_at_rate(rig, rate, seconds)
    finally:
        await rig.close()
    return Figures(rate, seconds, count, dict(machine_facts()), alone, at)


async def _warm_up(rig: Rig, rate: float) -> Document:
    """Warm the stack up at the full rate; return one stored ``CardVerified`` to copy."""
    await rig.quiet()
    progress(f"warming up: {WARM_UP_SECONDS:.0f} s at {rate:.0f}/s through the API ...")
    await open_loop(rig.meter, rig.api, rate, WARM_UP_SECONDS)
    await rig.quiet()
    template = await rig.mongo[CardsSettings().database]["events"].find_one(
        {"type": CardVerified.ce_type()}
    )
    if template is None:
        raise RuntimeError("no CardVerified event was stored: the warm-up verified nothing")
    return template


async def measure_alone(rig: Rig, rate: float, seconds: float) -> Alone:
    progress(f"one at a time: {ONE_BY_ONE} of each ...")
    await rig.quiet()
    before = await db_ops(rig.mongo)
    await asyncio.sleep(IDLE_SECONDS)
    idle = (await db_ops(rig.mongo) - before) / IDLE_SECONDS

    async def alone(call: Call) -> OneByOne:
        before = await db_ops(rig.mongo)
        result = await one_by_one(rig.meter, call)
        served = await db_ops(rig.mongo) - before - idle * result.busy.seconds
        return replace(result, db_ops=served / (ONE_BY_ONE + 1))

    api = await alone(rig.api)
    await rig.quiet()
    phases = Laps(rig.counter)
    direct = await alone(rig.directly(phases))
    http = await alone(rig.health)
    await rig.mongo.drop_database(SCRATCH_DATABASE)
    mongo = await alone(rig.raw_mongo())
    await rig.mongo.drop_database(SCRATCH_DATABASE)
    progress("raw crypto: read_credential in this process ...")
    credentials = [card.credential for card in rig.issued]
    crypto_us = crypto_floor(credentials, rig.keys_document, max(round(rate * seconds), 1000))
    return Alone(api, direct, phases, http, mongo, crypto_us)


async def measure_at_rate(rig: Rig, rate: float, seconds: float) -> AtRate:
    at = f"at {rate:.0f}/s for {seconds:.0f} s"
    progress(f"raw HTTP floor: GET /health {at} ...")
    http = await measured(rig.meter, rig.health, rate, seconds)
    mongo_before = await raw_mongo_run(rig, rate, seconds)
    await rig.quiet()
    progress(f"through the API: POST /verify {at} ...")
    server_before = await server_times(rig.cards_url)
    api = await open_loop(rig.meter, rig.api, rate, seconds)
    quiet_after = await rig.quiet()
    server = (await server_times(rig.cards_url)).minus(server_before)
    progress(f"direct calls: the same verification {at} ...")
    await open_loop(rig.meter, rig.directly(Laps()), rate, FLOOR_WARM_UP_SECONDS)
    laps, conflicts = Laps(), write_conflicts(rig.counter)
    direct = await open_loop(rig.meter, rig.directly(laps), rate, seconds)
    conflicts = write_conflicts(rig.counter) - conflicts
    await rig.quiet()
    mongo_after = await raw_mongo_run(rig, rate, seconds)
    return AtRate(
        api, server, quiet_after, direct, laps, conflicts, http, mongo_before, mongo_after
    )


def write_conflicts(counter: CommandCounter) -> int:
    return sum(n for command, n in counter.failed_by_command.items() if "WriteConflict" in command)


async def raw_mongo_run(rig: Rig, rate: float, seconds: float) -> OpenLoop:
    """Into a fresh scratch collection, dropped afterwards so it weighs on nothing later."""
    progress(f"raw MongoDB floor: find card, find person, insert_one at {rate:.0f}/s ...")
    await rig.quiet()
    await rig.mongo.drop_database(SCRATCH_DATABASE)
    try:
        return await measured(rig.meter, rig.raw_mongo(), rate, seconds)
    finally:
        await rig.mongo.drop_database(SCRATCH_DATABASE)


# --- the report ----------------------------------------------------------------------------------


def render(f: Figures) -> str:
    at = f"at {f.rate:.0f}/s"
    lines = [
        HEADING,
        "",
        f"`POST /verify` on the cards service {at} for {f.seconds:.0f} s, open loop: request "
        "*i* is sent at *t0 + i / rate* whatever the earlier answers do, and its latency counts "
        "from then, so a stall shows in every request it holds up; a request unanswered "
        f"{REQUEST_TIMEOUT_SECONDS:.0f} s after the last was due is given up, and a failed "
        "request counts as slower than any answer. The stack runs as `bensys up` runs it, "
        f"warmed up by {WARM_UP_SECONDS:.0f} s at the same rate that were not counted. The "
        f"requests cycle over {f.cards:,} cards, half by the scanned QR credential and half by "
        "the typed number (`XXXX-XXXX-XXX`); every holder consented to `health_vaccination` and "
        "has one dose, so every answer takes the full path (card, person, printed name and year "
        "opened, doses) and appends one `CardVerified`. The floors ran on the same servers in "
        f"the same run, {at} by the same open loop (each after 1 s not counted), and everything "
        f"also {ONE_BY_ONE} times one request at a time. Target: p99 under "
        f"{TARGET_P99_MS:.0f} ms {at}. CPUs: {f.facts.get('CPUs (nproc)', '?')}, "
        f"Python {f.facts.get('Python', '?')}, SecantusDB {f.facts.get('SecantusDB', '?')}; "
        "requests sent by a bare HTTP/1.1 client (httpx costs some 7 ms of CPU per request).",
        "",
        f"| ms, {at}, open loop, {f.seconds:.0f} s | p50 | p95 | p99 | max | failed | answered/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
        _open_row("**BenSys: `POST /verify`**", f.at.api),
        _open_row("the same verification by direct calls (no HTTP, no relay)", f.at.direct),
        _open_row(
            "raw MongoDB, before: card and person `find_one`, one `insert_one`", f.at.mongo_before
        ),
        _open_row("raw MongoDB, after everything else", f.at.mongo_after),
        _open_row("raw HTTP: `GET /health` of the cards service", f.at.http),
        "",
        _sending(f),
        *_failures("`POST /verify`", f.at.api.failures),
        "",
        f"| ms, one at a time, {ONE_BY_ONE} each | p50 | p95 | p99 | max |",
        "|---|---:|---:|---:|---:|",
        _alone_row("**BenSys: `POST /verify`**", f.alone.api),
        _alone_row("direct calls", f.alone.direct),
        _alone_row("raw MongoDB", f.alone.mongo),
        _alone_row("raw HTTP", f.alone.http),
        _crypto_row(f.alone.crypto_us),
        "",
        "Against the target and the floors (floor / BenSys; 1 would mean BenSys costs nothing "
        "beyond the floor):",
        "",
        f"| | p99 {at}, ms | floor / BenSys | p50 one at a time, ms | floor / BenSys |",
        "|---|---:|---:|---:|---:|",
        *_ratio_rows(f),
        "",
        "Where one verification's time goes: the calls the service makes, from the bench "
        f"process, {ONE_BY_ONE} one at a time (mean; round trips counted on the client), and "
        f"{at} (of the phases that finished):",
        "",
        f"| phase | round trips | ms, one at a time | p50 ms {at} | p99 ms {at} |",
        "|---|---:|---:|---:|---:|",
        *_phase_rows(f),
        "",
        "What one request costs, one at a time: the operations SecantusDB served (whoever "
        "asked, beyond its idle rate), the CPU milliseconds of each process, and the cores "
        f"that would make {f.rate:.0f}/s:",
        "",
        "| one at a time | SecantusDB ops | SecantusDB | cards | Tansu | other services "
        f"| bench | cores {at}: SecantusDB | cards |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(_cost_row(name, alone, f.rate) for name, alone in _alone_runs(f).items()),
        "",
        f"Who was busy {at}, in CPU seconds per wall second (1.00 is one core; the last column "
        "is what other processes on the machine used meanwhile):",
        "",
        "| phase | wall s | SecantusDB | cards | Tansu | other services | bench | outside BenSys |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        _busy("`POST /verify`", f.at.api),
        _busy("direct calls", f.at.direct),
        _busy("raw MongoDB, before", f.at.mongo_before),
        _busy("raw MongoDB, after", f.at.mongo_after),
        _busy("raw HTTP", f.at.http),
        "",
        *_reading(f),
        "",
    ]
    return "\n".join(lines)


def _ms(value: float) -> str:
    return "failed" if math.isinf(value) else f"{value:,.1f}"


def _open_row(name: str, run: OpenLoop) -> str:
    return (
        f"| {name} | {_ms(run.p(50))} | {_ms(run.p(95))} | {_ms(run.p(99))} | "
        f"{_ms(max(run.latencies_ms, default=math.nan))} | {run.failed:,} of {run.scheduled:,} | "
        f"{run.answered_rate:,.1f} |"
    )


def _alone_row(name: str, alone: OneByOne) -> str:
    failed = f" ({sum(alone.failures.by_kind.values())} failed)" if alone.failures.by_kind else ""
    return (
        f"| {name}{failed} | {alone.p(50):,.1f} | {alone.p(95):,.1f} | {alone.p(99):,.1f} | "
        f"{max(alone.latencies_ms, default=math.nan):,.1f} |"
    )


def _crypto_row(us: Sequence[float]) -> str:
    return (
        f"| raw crypto: `read_credential` in-process ({len(us):,}) | "
        f"{percentile(us, 50) / 1000:.2f} | {percentile(us, 95) / 1000:.2f} | "
        f"{percentile(us, 99) / 1000:.2f} | {max(us, default=math.nan) / 1000:.2f} |"
    )


def _sending(f: Figures) -> str:
    """Whether the bench kept to its schedule, and what the service saw of its own time."""
    runs = {"`POST /verify`": f.at.api, "direct calls": f.at.direct, "raw HTTP": f.at.http}
    lags = ", ".join(
        f"{name} {percentile(run.send_lag_ms, 99):.1f} ms" for name, run in runs.items()
    )
    server = f.at.server
    return (
        f"The bench sent its requests late against their due times by a p99 of {lags} (its own "
        "delay, counted in the latencies above). The service's own histogram (inside its "
        f"middleware, so without the waits before it) counted {server.count:,.0f} verifications "
        f"finished during and after the `POST /verify` run: mean {server.mean_ms:,.1f} ms, p99 "
        + (
            f"in the bucket up to {server.bound_ms(99):,.0f} ms."
            if not math.isinf(server.bound_ms(99))
            else f"beyond its last bucket ({server.last_bound_ms():,.0f} ms)."
        )
    )


def _failures(what: str, failures: Failures) -> list[str]:
    if not failures.by_kind:
        return []
    return [
        "",
        f"{what} failures: "
        + ", ".join(f"{kind}: {n:,}" for kind, n in failures.by_kind.most_common())
        + ". The first of them:",
        "",
        *(f"- `{failure}`" for failure in failures.first),
    ]


def _ratio(floor: float, bensys: float) -> str:
    if math.isinf(bensys):
        return "0 (BenSys failed)"
    if math.isinf(floor):
        return "(the floor failed)"
    return f"{floor / bensys:.3f}"


def _ratio_rows(f: Figures) -> list[str]:
    p99, p50 = f.at.api.p(99), f.alone.api.p(50)
    crypto_p99, crypto_p50 = (
        percentile(f.alone.crypto_us, 99) / 1000,
        percentile(f.alone.crypto_us, 50) / 1000,
    )
    floors = {
        "raw MongoDB (the better run of before and after)": (f.at.mongo.p(99), f.alone.mongo.p(50)),
        "raw HTTP (`GET /health`)": (f.at.http.p(99), f.alone.http.p(50)),
        "raw crypto (`read_credential`, in-process, one after another)": (
            crypto_p99,
            crypto_p50,
        ),
    }
    added = (
        sum(at for at, _ in floors.values()),
        sum(alone for _, alone in floors.values()),
    )
    floors["the three floors added up"] = added
    return [
        f"| **BenSys `POST /verify`** | {_ms(p99)} | 1 | {p50:.1f} | 1 |",
        f"| target | {TARGET_P99_MS:.0f} | {_ratio(TARGET_P99_MS, p99)} | | |",
        *(
            f"| {name} | {_ms(at)} | {_ratio(at, p99)} | {alone:.2f} | {_ratio(alone, p50)} |"
            for name, (at, alone) in floors.items()
        ),
    ]


def _phase_rows(f: Figures) -> list[str]:
    alone, under = f.alone.phases, f.at.direct_laps.times_ms
    rest = statistics.fmean(f.alone.api.latencies_ms) - statistics.fmean(
        f.alone.direct.latencies_ms
    )
    http = statistics.fmean(f.alone.http.latencies_ms)
    return [
        *(
            f"| {phase} | {alone.trips(phase):.1f} | {alone.mean(phase):.2f} | "
            f"{_ms(percentile(under[phase], 50))} | {_ms(percentile(under[phase], 99))} |"
            for phase in PHASES
        ),
        f"| all of the above | {sum(alone.trips(p) for p in PHASES):.1f} | "
        f"{statistics.fmean(f.alone.direct.latencies_ms):.2f} | {_ms(f.at.direct.p(50))} | "
        f"{_ms(f.at.direct.p(99))} |",
        f"| *an HTTP round trip (`GET /health`: no token, no I/O)* | 0 | *{http:.2f}* | | |",
        "| `POST /verify` beyond the calls above, by difference: HTTP, the token, FastAPI, "
        "the response model, telemetry, and the relay woken by the append | | "
        f"{rest:.2f} | | |",
    ]


def _alone_runs(f: Figures) -> dict[str, OneByOne]:
    return {
        "BenSys: `POST /verify`": f.alone.api,
        "direct calls (no HTTP, no relay)": f.alone.direct,
        "raw MongoDB": f.alone.mongo,
        "raw HTTP": f.alone.http,
    }


def _cost_row(name: str, alone: OneByOne, rate: float) -> str:
    shares = " | ".join(f"{alone.cpu_ms(group):.2f}" for group in GROUPS[:5])
    db, cards = (alone.cpu_ms(group) * rate / 1000 for group in ("SecantusDB", "cards"))
    return f"| {name} | {max(alone.db_ops, 0.0):.1f} | {shares} | {db:.1f} | {cards:.1f} |"


def _busy(phase: str, run: OpenLoop) -> str:
    shares = " | ".join(f"{run.cores(group):.2f}" for group in GROUPS)
    return f"| {phase} | {run.busy.seconds:.1f} | {shares} |"


def _reading(f: Figures) -> list[str]:
    """The paragraph's figures come from this run; its claims were checked against them."""
    return [
        _verdict(f),
        _unloaded(f),
        _capacity(f),
        _floor_verdict(f),
        *([_collapse(f)] if f.at.api.answered_rate < min(f.rate / 2, _alone_rate(f)) else []),
        *_outside(f),
    ]


def _verdict(f: Figures) -> str:
    api, p99 = f.at.api, f.at.api.p(99)
    met = p99 <= TARGET_P99_MS
    return (
        f"At {f.rate:.0f}/s BenSys answered {api.answered_rate:.1f} verifications a second and "
        f"{api.failed:,} of {api.scheduled:,} requests failed; "
        + ("more than 1% failed" if math.isinf(p99) else f"its p99 was {p99:.1f} ms")
        + f", so the {TARGET_P99_MS:.0f} ms target "
        + ("holds." if met else "is missed.")
    )


def _unloaded(f: Figures) -> str:
    alone, phases = f.alone, f.alone.phases
    direct = statistics.fmean(alone.direct.latencies_ms)
    whole = statistics.fmean(alone.api.latencies_ms)
    rest = whole - direct - statistics.fmean(alone.http.latencies_ms)
    above = alone.api.p(50) > TARGET_P99_MS
    return (
        f"One at a time, with nothing else running, a verification took p50 "
        f"{alone.api.p(50):.1f} ms and p99 {alone.api.p(99):.1f} ms"
        + (", above the target before any load" if above else "")
        + f". The service's own calls make {sum(phases.trips(p) for p in PHASES):.0f} database "
        f"round trips ({direct:.1f} ms on average, {phases.mean(APPEND):.1f} ms of it the "
        f"append's {phases.trips(APPEND):.0f} round trips) where the raw floor "
        f"makes 3 ({statistics.fmean(alone.mongo.latencies_ms):.1f} ms); HTTP itself takes "
        f"{statistics.fmean(alone.http.latencies_ms):.1f} ms, and the other {rest:.1f} ms are the "
        "token check, FastAPI and the response model, telemetry, and the relay that each append "
        "wakes (it reads the outbox, publishes, marks the event published and saves its marks, "
        "on the same SecantusDB and the same event loop as the next request)."
    )


def _capacity(f: Figures) -> str:
    api, direct = f.alone.api, f.alone.direct
    db, cards = api.cpu_ms("SecantusDB"), api.cpu_ms("cards")
    relay_db = db - direct.cpu_ms("SecantusDB")
    cpus = f.facts.get("CPUs (nproc)", "?").split(" ", 1)[0]
    return (
        f"The CPU of one verification says how far {f.rate:.0f}/s is from this machine: "
        f"{db:.1f} ms of SecantusDB and {cards:.1f} ms of the cards service, i.e. "
        f"{db * f.rate / 1000:.1f} cores of SecantusDB (one Python process, which can use one) "
        f"and {cards * f.rate / 1000:.1f} of the cards service at {f.rate:.0f}/s, on {cpus} "
        f"CPUs. The same calls made directly cost SecantusDB {direct.cpu_ms('SecantusDB'):.1f} "
        f"ms, and SecantusDB served {api.db_ops:.1f} operations per verification through the "
        f"service against {direct.db_ops:.1f} for the direct calls"
        + (
            f", so most of the other {relay_db:.1f} ms are the relay's (reading the outbox, "
            "marking the event published, saving its marks)"
            if api.db_ops - direct.db_ops >= 2
            else f": the other {relay_db:.1f} ms are not in more operations"
        )
        + ". Each `CardVerified` is also "
        "delivered to the four other services' consumers, which ignore it but still receive, "
        "decode and acknowledge it "
        f"({api.cpu_ms('other services'):.1f} ms of their CPU and {api.cpu_ms('Tansu'):.1f} ms "
        "of Tansu's per verification)."
    )


def _floor_verdict(f: Figures) -> str:
    raw, alone = f.at.mongo, f.alone.mongo
    got, outside = raw.cores("SecantusDB"), raw.cores(OUTSIDE)
    http = f"the raw HTTP floor's p99 was {_ms(f.at.http.p(99))} ms"
    if not math.isinf(raw.p(99)) and raw.answered_rate >= 0.95 * f.rate:
        within = "within" if raw.p(99) <= TARGET_P99_MS else "above"
        kept = (
            f"The raw MongoDB floor answered {raw.answered_rate:.0f}/s of the {f.rate:.0f}/s "
            f"with a p99 of {raw.p(99):,.1f} ms, {within} the target"
        )
    else:
        kept = (
            f"Even the raw MongoDB floor did not keep up: its better run answered "
            f"{raw.answered_rate:.0f}/s of the {f.rate:.0f}/s with a p99 of {_ms(raw.p(99))}"
            + ("" if math.isinf(raw.p(99)) else " ms")
        )
    under = raw.busy.cpu.get("SecantusDB", 0.0) / max(len(raw.latencies_ms), 1) * 1000
    if got >= SATURATED_CORES:
        why = (
            f"SecantusDB was busy {got:.2f} of a core, all one Python process can use: under "
            f"this load the two reads and one insert cost it {under:.1f} ms of CPU each, "
            f"against {alone.cpu_ms('SecantusDB'):.1f} ms one at a time, so {f.rate:.0f}/s "
            f"would need {under * f.rate / 1000:.1f} cores of it"
        )
    elif outside > OUTSIDE_NOTABLE:
        why = (
            f"SecantusDB was busy only {got:.2f} of a core while other processes on the "
            f"machine used {outside:.2f}: this run cannot say what a quiet machine would do"
        )
    else:
        why = f"SecantusDB was busy {got:.2f} of a core"
    return f"{kept}; {why}; {http}." + _drift(f)


def _drift(f: Figures) -> str:
    """The same raw requests before and after the overloaded runs."""
    before, after = f.at.mongo_before, f.at.mongo_after
    if after.answered_rate >= 0.67 * before.answered_rate:
        return ""
    return (
        " SecantusDB slowed as the run went on: the same raw requests were answered at "
        f"{before.answered_rate:.0f}/s before `POST /verify` (SecantusDB busy "
        f"{before.cores('SecantusDB'):.2f} of a core) and at {after.answered_rate:.0f}/s after "
        f"it and the direct calls (busy {after.cores('SecantusDB'):.2f})."
    )


def _alone_rate(f: Figures) -> float:
    return 1000 / statistics.fmean(f.alone.api.latencies_ms)


def _collapse(f: Figures) -> str:
    direct, alone_rate = f.at.direct, _alone_rate(f)
    quiet = "" if f.at.quiet_after is None else f"{f.at.quiet_after:.0f} s "
    return (
        f"Overloaded, BenSys answered {f.at.api.answered_rate:.0f} verifications a second "
        f"(one at a time it manages {alone_rate:.0f}): SecantusDB was busy "
        f"{f.at.api.cores('SecantusDB'):.2f} of a core, all its one Python process can use, so "
        f"with up to {MAX_CONNECTIONS} requests in flight each waited behind the others' "
        "database work until it was given up (the direct calls at the same rate had "
        f"{f.at.direct_conflicts:,} commands refused with a write conflict for "
        f"{len(direct.latencies_ms):,} verifications done: the appends no longer contend). "
        f"The service's own histogram counted {f.at.server.count:,.0f} verifications with a "
        f"mean of {f.at.server.mean_ms / 1000:,.1f} s, and the stack was idle again only "
        f"{quiet}after the bench had given up."
    )


def _outside(f: Figures) -> list[str]:
    runs = [f.at.api, f.at.direct, f.at.mongo_before, f.at.mongo_after, f.at.http]
    loaded = max(run.cores(OUTSIDE) for run in runs)
    if loaded <= OUTSIDE_NOTABLE:
        return []
    return [
        f"Other processes on this machine used up to {loaded:.2f} of a core during these runs: "
        "a quiet machine would give lower latencies, and the floors move with it."
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.verify_bench", description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds counted per run")
    parser.add_argument("--cards", type=int, default=200, help="cards the requests cycle over")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(asyncio.run(run(rate=args.rate, seconds=args.seconds, cards=args.cards)))


if __name__ == "__main__":
    main()
