"""Registrations through the API, against the raw write rate of the same MongoDB, in one run.

The whole system is started as ``bensys up`` starts it (``bensys.stack.Stack``: Tansu,
SecantusDB and the five services as processes, on free ports in a temporary folder). People
are registered through ``POST /migrants`` at a given concurrency, as registrars' laptops would:
a token for their site, an ``Idempotency-Key`` on every request. Just before and just after,
on the same SecantusDB, the plainest client writes the registry's own stored
``MigrantRegistered`` documents into a scratch database: ``insert_one`` at the same concurrency,
and ``insert_many`` by the thousand. The absolute rates describe the machine; the ratios are
what to compare.

A sample of new people is then registered again by direct calls of the same code from this
process, one phase at a time, to say where a registration's time goes.

``python -m bench.registration_bench [--registrations N] [--concurrency C]`` prints the
Markdown section.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import bson
import httpx
import phonenumbers
import uuid_utils
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from bench.servers import process_cpu_seconds
from bench.stacks import progress, running_stack
from bensys.embedded import ManagedProcess
from bensys.stack import Stack
from services.registry import validation
from services.registry.domain import Migrant, RegisterMigrant, decide_register
from services.registry.matching import BlindIndexer, PersonKeys, blind_index_key
from services.registry.people import PeopleIndex
from services.registry.personal import seal_fields
from services.registry.schemas import MigrantCreate
from services.registry.settings import DEFAULT_VULNERABILITIES, RegistrySettings
from shared.auth import mint_token
from shared.commands import fingerprint
from shared.contracts.registry import ConsentGiven, MigrantRegistered
from shared.crypto import InMemoryKeyVault, MongoKeyVault, PersonalDataCipher
from shared.eventstore.building import new_event_id
from shared.eventstore.model import (
    CommandRecord,
    EventMetadata,
    PendingEvent,
    StoredEvent,
    format_time,
    utc_now,
)
from shared.eventstore.mongo import MongoEventStore
from shared.eventstore.port import InlineProjection
from shared.settings import DEFAULT_SITES, DEV_JWT_SECRET

Document = dict[str, Any]

SEED = 20_240_715
WARM_UP = 20
"""Registrations before the clock starts: connection pools, first imports, first indexes."""
ONE_AT_A_TIME = 60
"""Registrations sent one after another, for the latency of a registration on its own."""
PHASE_SAMPLE = 60
"""New people registered by direct calls, phase by phase."""
CONTENDED_APPENDS = 120
"""Append transactions sent ``concurrency`` at a time, counting write conflicts."""
RAW_INSERT_BATCH = 1_000
RAW_ONE_AT_LEAST = 2_000
RAW_ONE_SECONDS = 4.0
"""Longest ``insert_one`` may run: its rate falls as SecantusDB ages (see the report)."""
RAW_MANY_AT_LEAST = 5_000
"""Documents for ``insert_many``: five batches at least, so one slow batch does not decide."""
DRAIN_TIMEOUT_SECONDS = 180.0
SCRATCH_DATABASE = "bench_raw"
PHASES_DATABASE = "bench_phases"
PHASES_VAULT = "bench_phases_vault"
KEPT_FAILURES = 5

# --- phases of one registration, in the order ``services.registry.registration`` runs them ---
VALIDATE = "validate the body, normalise the phone, compute the blind index keys"
IDEMPOTENCY = "look up the `Idempotency-Key` (`get_command`)"
DUPLICATES = "duplicate check on the blind index (`likely_duplicates`)"
SEAL = "seal personal fields with the person's new key (vault: get, create, get)"
DECIDE = "decide the `MigrantRegistered` event"
APPEND = "append transaction: event, position, command record, inline index write"
PHASES = (VALIDATE, IDEMPOTENCY, DUPLICATES, SEAL, DECIDE, APPEND)
_SHORT = {APPEND: "the append transaction", SEAL: "sealing", DUPLICATES: "the duplicate check"}
PLAIN_APPEND = "append transaction alone: event and position"
SEAL_CRYPTO = "sealing's cryptography alone (the same call on an in-memory vault)"

# --- synthetic people: migrant workers in the Maldives -----------------------------------------

NATIONALITIES = (("BD", 0.5), ("IN", 0.2), ("NP", 0.15), ("LK", 0.15))
MEN = {
    "BD": ("Karim", "Rahim", "Jamal", "Kamal", "Rafiq", "Habib", "Nasir", "Anwar", "Jahangir",
           "Alamgir", "Shahid", "Faruk", "Masud", "Mizanur", "Rezaul", "Saiful", "Aminul",
           "Monir", "Sohel", "Rubel", "Shamim", "Delwar", "Nurul", "Harun", "Babul", "Jasim"),
    "IN": ("Ravi", "Suresh", "Ramesh", "Rajesh", "Anil", "Sunil", "Vijay", "Sanjay", "Manoj",
           "Arun", "Prakash", "Murugan", "Senthil", "Karthik", "Biju", "Shaji", "Anoop"),
    "NP": ("Ram", "Hari", "Krishna", "Bishnu", "Shyam", "Gopal", "Dil", "Prem", "Rajendra",
           "Suman", "Bikash", "Dipak", "Santosh", "Nabin", "Dhan"),
    "LK": ("Nimal", "Kamal", "Chaminda", "Ruwan", "Saman", "Pradeep", "Nuwan", "Kasun",
           "Mahesh", "Lasantha", "Dinesh", "Asanka", "Selvaraj", "Murugesu"),
}  # fmt: skip
WOMEN = {
    "BD": ("Rina", "Shirin", "Nasima", "Rokeya", "Salma", "Fatema", "Ayesha", "Jesmin", "Nazma"),
    "IN": ("Lakshmi", "Priya", "Anitha", "Sunita", "Kavitha", "Meena", "Deepa"),
    "NP": ("Sita", "Gita", "Maya", "Sarita", "Anita", "Kamala", "Radha"),
    "LK": ("Nirmala", "Kumari", "Chandrika", "Dilani", "Shanika", "Malini"),
}  # fmt: skip
SURNAMES = {
    "BD": ("Hossain", "Rahman", "Islam", "Ahmed", "Uddin", "Miah", "Sarkar", "Chowdhury",
           "Khan", "Ali", "Alam", "Haque", "Sheikh", "Mollah", "Talukder", "Bhuiyan", "Mondal"),
    "IN": ("Kumar", "Singh", "Sharma", "Nair", "Pillai", "Reddy", "Das", "Menon", "Varghese",
           "Krishnan", "Subramanian", "Naidu"),
    "NP": ("Thapa", "Gurung", "Tamang", "Rai", "Limbu", "Magar", "Shrestha", "Karki",
           "Adhikari", "Poudel", "Khadka", "Bhandari", "Lama"),
    "LK": ("Perera", "Fernando", "Silva", "Bandara", "Kumara", "Dissanayake", "Herath",
           "Gunawardena", "Rathnayake", "Weerasinghe"),
}  # fmt: skip
LANGUAGES = {
    "BD": (("bn", "en"), ("bn",)),
    "IN": (("hi", "en"), ("ta", "en"), ("ml", "en"), ("te",)),
    "NP": (("ne", "en"), ("ne",)),
    "LK": (("si", "en"), ("ta", "en"), ("si",)),
}
ISLANDS = ("Malé", "Hulhumalé", "Villimalé", "Maafushi", "Guraidhoo", "Thulusdhoo",
           "Himmafushi", "Hithadhoo", "Feydhoo", "Maradhoo")  # fmt: skip
HOUSES = ("Dhoorimaa", "Finifenmaage", "Sea View", "Blue Lagoon", "Rose Villa", "Asurumaage",
          "Lonuziyaaraiy Magu", "Majeedhee Magu", "Labor quarters 3", "Site camp B")  # fmt: skip
EMPLOYERS = ("Island construction site", "Resort back of house", "Harbour works",
             "Fish processing plant", "Guest house", "Road works contractor",
             "Boat yard", "Supermarket")  # fmt: skip


def maldives_mobile(rnd: random.Random) -> str:
    """``+960 7xx xxxx``, drawn until ``phonenumbers`` calls it a valid Maldivian number."""
    for _ in range(100):
        raw = f"+960 7{rnd.randrange(100):02d} {rnd.randrange(10_000):04d}"
        if phonenumbers.is_valid_number(phonenumbers.parse(raw, None)):
            return raw
    raise RuntimeError("phonenumbers no longer knows +960 7xx xxxx as Maldivian mobiles")


def new_person(rnd: random.Random, site: str) -> Document:
    """One registration body, varied as a registrar's day is: not everyone has everything."""
    country = rnd.choices([c for c, _ in NATIONALITIES], [w for _, w in NATIONALITIES])[0]
    woman = rnd.random() < 0.25
    given = rnd.choice((WOMEN if woman else MEN)[country])
    if country == "BD" and not woman and rnd.random() < 0.5:
        given = f"{rnd.choice(('Md.', 'Mohammad', 'Muhammad'))} {given}"
    if country == "BD" and woman and rnd.random() < 0.5:
        family = rnd.choice(("Begum", "Khatun", "Akter"))
    else:
        family = rnd.choice(SURNAMES[country])
    languages = list(rnd.choice(LANGUAGES[country]))
    body: Document = {
        "full_name": f"{given} {family}",
        "sex": "female" if woman else ("undisclosed" if rnd.random() < 0.02 else "male"),
        "nationality": country,
        "preferred_languages": languages,
        "site": site,
        "consent": {
            "purposes": ["registration"]
            + (["health_vaccination"] if rnd.random() < 0.6 else [])
            + (["partner_referral"] if rnd.random() < 0.15 else []),
            "method": rnd.choice(("verbal", "verbal", "written")),
            "notice_language": languages[0],
        },
        "issue_card": rnd.random() < 0.3,
    }
    if rnd.random() < 0.85:
        born = date(rnd.randint(1966, 2006), rnd.randint(1, 12), rnd.randint(1, 28))
        body["date_of_birth"] = born.isoformat()
    elif rnd.random() < 0.7:
        body["approximate_birth_year"] = rnd.randint(1966, 2006)
    if rnd.random() < 0.9:
        body["phone"] = maldives_mobile(rnd)
    if rnd.random() < 0.1:
        body["other_names"] = [given.split()[-1]]
    if rnd.random() < 0.7:
        body["address"] = f"{rnd.choice(HOUSES)}, {rnd.choice(ISLANDS)}"
    if rnd.random() < 0.7:
        body["employer"] = rnd.choice(EMPLOYERS)
    if rnd.random() < 0.4:
        body["identity_document"] = {
            "type": "passport",
            "number": f"{rnd.choice('ABEN')}{rnd.randrange(10**7):07d}",
            "issuing_country": country,
        }
    if rnd.random() < 0.15:
        body["vulnerabilities"] = rnd.sample(DEFAULT_VULNERABILITIES, rnd.choice((1, 1, 2)))
    return body


@dataclass(frozen=True)
class Registration:
    body: Document
    headers: dict[str, str]


def registrations(rnd: random.Random, count: int, tokens: Mapping[str, str]) -> list[Registration]:
    """Bodies and headers made before the clock starts: a registrar token for the person's site,
    and a fresh ``Idempotency-Key``, as the README's example sends."""
    made = []
    for _ in range(count):
        site = rnd.choice(DEFAULT_SITES)
        headers = {
            "Authorization": f"Bearer {tokens[site]}",
            "Idempotency-Key": str(uuid.UUID(int=rnd.getrandbits(128))),
        }
        made.append(Registration(new_person(rnd, site), headers))
    return made


# --- who was busy ------------------------------------------------------------------------------

OUTSIDE = "outside BenSys"
OUTSIDE_NOTABLE = 0.2
"""Cores used by other processes during a phase above which the report says so."""
PROCESS_GROUPS = (
    "SecantusDB",
    "registry",
    "reporting",
    "Tansu",
    "other services",
    "bench",
    OUTSIDE,
)


def machine_cpu_seconds() -> float:
    """Busy CPU seconds of the whole machine so far, from ``/proc/stat`` (Linux; else 0)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in first[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Busy:
    """One measured phase: wall seconds and the CPU seconds each process group used."""

    seconds: float
    cpu: dict[str, float]

    def share(self, group: str) -> float:
        return self.cpu.get(group, 0.0) / self.seconds if self.seconds > 0 else 0.0


class Meter:
    def __init__(self, pids: Mapping[str, Sequence[int]]) -> None:
        self._pids = pids

    def read(self) -> tuple[float, dict[str, float]]:
        cpu = {
            group: sum(process_cpu_seconds(pid) for pid in pids)
            for group, pids in self._pids.items()
        }
        cpu["bench"] = time.process_time()
        cpu[OUTSIDE] = machine_cpu_seconds() - sum(cpu.values())
        return time.perf_counter(), cpu

    def since(self, before: tuple[float, dict[str, float]]) -> Busy:
        wall, cpu = self.read()
        return Busy(wall - before[0], {g: cpu[g] - before[1].get(g, 0.0) for g in cpu})


def stack_meter(stack: Stack) -> Meter:
    def pid(process: ManagedProcess) -> list[int]:
        return [] if process.process is None else [int(process.process.pid)]

    others = [p for name, s in stack.services.items() if name not in {"registry", "reporting"}
              for p in pid(s)]  # fmt: skip
    return Meter(
        {
            "SecantusDB": pid(stack.database),
            "registry": pid(stack.services["registry"]),
            "reporting": pid(stack.services["reporting"]),
            "Tansu": pid(stack.broker),
            "other services": others,
        }
    )


# --- through the API ---------------------------------------------------------------------------


@dataclass
class ApiRun:
    sent: int
    concurrency: int
    busy: Busy
    latencies_ms: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    with_duplicates: int = 0
    started: float = 0.0
    created_at: list[float] = field(default_factory=list)
    """``perf_counter`` when each 201 arrived, for the rate over the course of the run."""

    @property
    def created(self) -> int:
        return self.statuses["201"]

    @property
    def rate(self) -> float:
        return self.created / self.busy.seconds if self.busy.seconds > 0 else 0.0

    def rates_by_part(self, parts: int) -> list[float]:
        """Registrations/s in each of ``parts`` equal shares of the answers, in order."""
        done = sorted(self.created_at)
        if len(done) < parts:
            return []
        rates, previous = [], self.started
        for part in range(parts):
            chunk = done[len(done) * part // parts : len(done) * (part + 1) // parts]
            rates.append(len(chunk) / (chunk[-1] - previous) if chunk[-1] > previous else 0.0)
            previous = chunk[-1]
        return rates


async def post_all(
    client: httpx.AsyncClient, meter: Meter, batch: Sequence[Registration], concurrency: int
) -> ApiRun:
    """Every registration, ``concurrency`` in flight; every answer's status is kept."""
    pending = iter(batch)
    run = ApiRun(sent=len(batch), concurrency=concurrency, busy=Busy(0.0, {}))

    async def worker() -> None:
        for registration in pending:
            started = time.perf_counter()
            try:
                response = await client.post(
                    "/migrants", json=registration.body, headers=registration.headers
                )
            except httpx.HTTPError as exc:
                run.statuses["no answer"] += 1
                if len(run.failures) < KEPT_FAILURES:
                    run.failures.append(f"no answer: {type(exc).__name__}: {exc}")
                continue
            run.latencies_ms.append((time.perf_counter() - started) * 1000)
            run.statuses[str(response.status_code)] += 1
            if response.status_code != 201:
                if len(run.failures) < KEPT_FAILURES:
                    run.failures.append(f"{response.status_code}: {response.text[:300]}")
            else:
                run.created_at.append(time.perf_counter())
                if response.json().get("likely_duplicates"):
                    run.with_duplicates += 1

    before = meter.read()
    run.started = before[0]
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    run.busy = meter.since(before)
    return run


async def wait_until_counted(stack: Stack, expected: int) -> float | None:
    """Seconds until reporting has projected ``expected`` registrations (relay, Kafka and its
    consumer all caught up), or None if it did not within ``DRAIN_TIMEOUT_SECONDS``."""
    token = mint_token(secret=DEV_JWT_SECRET, role="manager")
    started = time.perf_counter()
    async with httpx.AsyncClient(
        base_url=stack.config.url("reporting"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10.0,
    ) as client:
        while time.perf_counter() - started < DRAIN_TIMEOUT_SECONDS:
            response = await client.get("/reports/registrations")
            if response.status_code == 200 and response.json().get("total") == expected:
                return time.perf_counter() - started
            await asyncio.sleep(0.1)
    return None


# --- the raw limit -----------------------------------------------------------------------------


async def stored_registrations(client: AsyncMongoClient[Document], database: str) -> list[Document]:
    """The registry's own ``MigrantRegistered`` documents, as its event store keeps them."""
    cursor = client[database]["events"].find({"type": MigrantRegistered.ce_type()})
    return [doc async for doc in cursor]


def copies(documents: Sequence[Document], count: int) -> list[Document]:
    """``count`` documents cycling through ``documents``, each under a new ``_id`` made as
    the event store makes them (UUIDv7, so the ``_id`` index grows at one end alike)."""
    return [{**documents[i % len(documents)], "_id": new_event_id()} for i in range(count)]


async def raw_insert_one(
    meter: Meter,
    collection: AsyncCollection[Document],
    documents: Sequence[Document],
    concurrency: int,
) -> tuple[Busy, int]:
    """Returns the timing and how many were inserted: workers stop taking documents after
    ``RAW_ONE_SECONDS``, so a slowed-down server cannot stretch the run."""
    pending = iter(documents)
    inserted = 0
    deadline = time.perf_counter() + RAW_ONE_SECONDS

    async def worker() -> None:
        nonlocal inserted
        for document in pending:
            await collection.insert_one(document)
            inserted += 1
            if time.perf_counter() > deadline:
                return

    before = meter.read()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return meter.since(before), inserted


async def raw_insert_many(
    meter: Meter, collection: AsyncCollection[Document], documents: Sequence[Document]
) -> Busy:
    before = meter.read()
    for i in range(0, len(documents), RAW_INSERT_BATCH):
        await collection.insert_many(documents[i : i + RAW_INSERT_BATCH])
    return meter.since(before)


@dataclass(frozen=True)
class RawLimits:
    one: Busy
    one_count: int
    many: Busy
    many_count: int

    @property
    def one_rate(self) -> float:
        return self.one_count / self.one.seconds

    @property
    def many_rate(self) -> float:
        return self.many_count / self.many.seconds


async def raw_limits(
    meter: Meter,
    client: AsyncMongoClient[Document],
    stored: Sequence[Document],
    count: int,
    concurrency: int,
) -> RawLimits:
    """Both raw writes into a fresh scratch database, dropped afterwards so that what the
    bench wrote never weighs on what is measured next."""
    scratch = client[SCRATCH_DATABASE]
    await client.drop_database(SCRATCH_DATABASE)
    await scratch["warm"].insert_many(copies(stored, 100))
    await asyncio.gather(*(scratch["warm"].insert_one(d) for d in copies(stored, 50)))
    one_docs = copies(stored, max(count, RAW_ONE_AT_LEAST))
    progress(f"raw insert_one: up to {len(one_docs)} documents, {concurrency} in flight ...")
    one, inserted = await raw_insert_one(meter, scratch["one"], one_docs, concurrency)
    many_docs = copies(stored, max(count, RAW_MANY_AT_LEAST))
    progress(f"raw insert_many: {len(many_docs)} documents by {RAW_INSERT_BATCH} ...")
    many = await raw_insert_many(meter, scratch["many"], many_docs)
    await client.drop_database(SCRATCH_DATABASE)
    return RawLimits(one, inserted, many, len(many_docs))


# --- where one registration's time goes --------------------------------------------------------


class CommandCounter(monitoring.CommandListener):
    """Counts the commands a client sends (its round trips) and the transactions it aborts."""

    def __init__(self) -> None:
        self.sent = 0
        self.aborted = 0
        self.failed_by_command: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.sent += 1
        if event.command_name == "abortTransaction":
            self.aborted += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        if event.command_name == "abortTransaction":
            return  # the server had aborted it already; pymongo's abort only tidies up
        self.failed_by_command[f"{event.command_name} ({event.failure.get('codeName')})"] += 1


@dataclass(frozen=True)
class Decided:
    """One registration's events and index entry, ready to append again under a new id."""

    pending: list[PendingEvent]
    metadata: EventMetadata
    keys: PersonKeys


@dataclass
class PhaseRun:
    times_ms: dict[str, list[float]]
    round_trips: dict[str, list[int]]
    decided: list[Decided]


@dataclass(frozen=True)
class Contended:
    """The registration's append transaction alone, ``concurrency`` in flight."""

    appends: int
    concurrency: int
    seconds: float
    aborted: int
    failed_by_command: Counter[str]

    @property
    def rate(self) -> float:
        return self.appends / self.seconds


def index_into(people: PeopleIndex, keys: PersonKeys) -> InlineProjection:
    """What ``register`` passes as ``inline``: the person's index entry, in the transaction."""

    async def index(session: AsyncClientSession, _stored: list[StoredEvent]) -> None:
        await people.put(keys, session=session)

    return index


async def phase_times(url: str, bodies: Sequence[Document]) -> PhaseRun:
    """Milliseconds and round trips per phase for each body, registered one at a time by the
    registry's own functions, as ``services.registry.registration.register`` calls them.

    The duplicate check reads the registry's live people index (everyone registered so far);
    the writes go to scratch databases, so the service's data is left as the API made it.
    """
    counter = CommandCounter()
    client: AsyncMongoClient[Document] = AsyncMongoClient(url, event_listeners=[counter])
    try:
        return await _phase_times(client, counter, bodies)
    finally:
        await client.close()


async def _phase_times(
    client: AsyncMongoClient[Document], counter: CommandCounter, bodies: Sequence[Document]
) -> PhaseRun:
    settings = RegistrySettings()
    indexer = BlindIndexer(blind_index_key(settings.master_key_bytes))
    live_people = PeopleIndex(client, settings.database)
    store = MongoEventStore(client, PHASES_DATABASE)
    people = PeopleIndex(client, PHASES_DATABASE)
    vault = MongoKeyVault(client, PHASES_VAULT, settings.master_key_bytes)
    cipher = PersonalDataCipher(vault)
    in_memory = PersonalDataCipher(InMemoryKeyVault(settings.master_key_bytes))
    await store.ensure_indexes()
    await people.ensure_indexes()
    await vault.ensure_indexes()
    run = PhaseRun(
        times_ms={phase: [] for phase in (*PHASES, SEAL_CRYPTO, PLAIN_APPEND)},
        round_trips={phase: [] for phase in (*PHASES, SEAL_CRYPTO, PLAIN_APPEND)},
        decided=[],
    )
    for raw in bodies:
        clock, sent = time.perf_counter(), counter.sent

        def lap(phase: str) -> None:
            nonlocal clock, sent
            now = time.perf_counter()
            run.times_ms[phase].append((now - clock) * 1000)
            run.round_trips[phase].append(counter.sent - sent)
            clock, sent = now, counter.sent

        body = MigrantCreate.model_validate(raw)
        phone = (
            None
            if body.phone is None
            else validation.e164(body.phone, settings.default_phone_region)
        )
        languages = validation.languages(body.preferred_languages)
        vulnerabilities = validation.vulnerabilities(body.vulnerabilities, settings.vulnerabilities)
        migrant_id = str(uuid_utils.uuid7())
        keys = indexer.keys_for(
            migrant_id=migrant_id,
            names=[body.full_name, *body.other_names],
            birth_year=body.date_of_birth.year
            if body.date_of_birth
            else body.approximate_birth_year,
            nationality=body.nationality,
            phone=phone,
            document_number=None
            if body.identity_document is None
            else validation.document_number(body.identity_document.number),
        )
        lap(VALIDATE)
        command = f"register:{uuid.uuid4()}"
        request_fingerprint = fingerprint(body.model_dump(mode="json"))
        await store.get_command(command)
        lap(IDEMPOTENCY)
        await live_people.likely_duplicates(keys, threshold=settings.duplicate_threshold)
        lap(DUPLICATES)
        personal = {
            "full_name": body.full_name,
            "other_names": body.other_names,
            "date_of_birth": body.date_of_birth.isoformat() if body.date_of_birth else None,
            "approximate_birth_year": body.approximate_birth_year,
            "phone": phone,
            "address": body.address,
            "employer": body.employer,
            "identity_document": None
            if body.identity_document is None
            else body.identity_document.model_dump(),
        }
        sealed = await seal_fields(cipher, migrant_id, personal)
        lap(SEAL)
        await seal_fields(in_memory, migrant_id, personal)
        lap(SEAL_CRYPTO)
        now = utc_now()
        events = decide_register(
            Migrant(migrant_id=migrant_id),
            RegisterMigrant(
                migrant_id=migrant_id,
                born_on=body.date_of_birth,
                sex=body.sex,
                nationality=body.nationality,
                preferred_languages=languages,
                site=body.site,
                consent=ConsentGiven(
                    purposes=tuple(dict.fromkeys(body.consent.purposes)),
                    method=body.consent.method,
                    notice_language=body.consent.notice_language,
                ),
                issue_card=body.issue_card,
                registered_by="registrar",
                registered_at=now,
                vulnerabilities=vulnerabilities,
                **sealed,
            ),
            sites=settings.sites,
        )
        pending = [PendingEvent(type=e.ce_type(), data=e.to_data()) for e in events]
        answer = {"migrant_id": migrant_id, "version": 1, "registered_at": format_time(now)}
        record = CommandRecord(command, request_fingerprint, answer)
        metadata = EventMetadata(actor="registrar", site=body.site)
        lap(DECIDE)
        inline = index_into(people, keys)
        await store.append(migrant_id, 0, pending, metadata, command=record, inline=inline)
        lap(APPEND)
        await store.append(f"plain:{migrant_id}", 0, pending, metadata)
        lap(PLAIN_APPEND)
        run.decided.append(Decided(pending, metadata, keys))
    return run


async def contended_appends(
    url: str, decided: Sequence[Decided], appends: int, concurrency: int
) -> Contended:
    """The registration's append (command record and inline index write included) for new
    people, ``concurrency`` in flight, counting the transactions the server aborted."""
    counter = CommandCounter()
    client: AsyncMongoClient[Document] = AsyncMongoClient(url, event_listeners=[counter])
    try:
        store = MongoEventStore(client, PHASES_DATABASE)
        people = PeopleIndex(client, PHASES_DATABASE)
        pending = iter(range(appends))

        async def worker() -> None:
            for n in pending:
                one = decided[n % len(decided)]
                migrant_id = str(uuid_utils.uuid7())
                keys = replace(one.keys, migrant_id=migrant_id)
                record = CommandRecord(f"register:{uuid.uuid4()}", "", {"migrant_id": migrant_id})
                inline = index_into(people, keys)
                await store.append(
                    migrant_id, 0, one.pending, one.metadata, command=record, inline=inline
                )

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    finally:
        await client.close()
    return Contended(appends, concurrency, seconds, counter.aborted, counter.failed_by_command)


async def http_floor(client: httpx.AsyncClient, count: int) -> list[float]:
    """Milliseconds of ``GET /health`` (no I/O, no token) one at a time: HTTP's own cost."""
    times = []
    for _ in range(count):
        started = time.perf_counter()
        (await client.get("/health")).raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    return times


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Figures:
    registrations: int
    concurrency: int
    api: ApiRun
    alone: ApiRun
    floor_ms: list[float]
    drained_seconds: float | None
    document_bytes: float
    raw_before: RawLimits
    raw_after: RawLimits
    phases: PhaseRun
    contended: Contended


async def run(registrations: int = 2000, concurrency: int = 8) -> str:
    """Start the stack, measure, stop it, and return the Markdown section."""
    concurrency = max(1, concurrency)
    async with running_stack("registration") as stack:
        figures = await measure(stack, registrations, concurrency)
    return render(figures)


async def measure(stack: Stack, count: int, concurrency: int) -> Figures:
    rnd = random.Random(SEED)
    tokens = {
        site: mint_token(secret=DEV_JWT_SECRET, role="registrar", site=site)
        for site in DEFAULT_SITES
    }
    warm_up = registrations(rnd, WARM_UP, tokens)
    batch = registrations(rnd, count, tokens)
    alone_batch = registrations(rnd, ONE_AT_A_TIME, tokens)
    phase_bodies = [new_person(rnd, rnd.choice(DEFAULT_SITES)) for _ in range(PHASE_SAMPLE)]
    meter = stack_meter(stack)
    mongo: AsyncMongoClient[Document] = AsyncMongoClient(stack.config.mongo_url)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    try:
        async with httpx.AsyncClient(
            base_url=stack.config.url("registry"), timeout=60.0, limits=limits
        ) as client:
            progress(f"warming up: {WARM_UP} registrations ...")
            warm = await post_all(client, meter, warm_up, concurrency)
            first = await stored_registrations(mongo, RegistrySettings().database)
            if not first:
                raise RuntimeError("no MigrantRegistered document was stored: nothing to copy")
            progress("the raw limit before the API run ...")
            raw_before = await raw_limits(meter, mongo, first, count, concurrency)
            progress(f"through the API: {count} registrations, {concurrency} in flight ...")
            api = await post_all(client, meter, batch, concurrency)
            counted = warm.created + api.created
            progress(f"waiting for reporting to count {counted} registrations ...")
            drained = await wait_until_counted(stack, counted)
            progress(f"one at a time: {ONE_AT_A_TIME} registrations ...")
            alone = await post_all(client, meter, alone_batch, 1)
            await wait_until_counted(stack, counted + alone.created)
            floor_ms = await http_floor(client, ONE_AT_A_TIME)
        progress(f"phase by phase: {PHASE_SAMPLE} direct registrations ...")
        phases = await phase_times(stack.config.mongo_url, phase_bodies)
        progress(f"contended appends: {CONTENDED_APPENDS}, {concurrency} in flight ...")
        contended = await contended_appends(
            stack.config.mongo_url, phases.decided, CONTENDED_APPENDS, concurrency
        )
        stored = await stored_registrations(mongo, RegistrySettings().database)
        progress("the raw limit after it ...")
        raw_after = await raw_limits(meter, mongo, stored, count, concurrency)
    finally:
        await mongo.close()
    return Figures(
        registrations=count,
        concurrency=concurrency,
        api=api,
        alone=alone,
        floor_ms=floor_ms,
        drained_seconds=drained,
        document_bytes=statistics.fmean(len(bson.encode(d)) for d in stored),
        raw_before=raw_before,
        raw_after=raw_after,
        phases=phases,
        contended=contended,
    )


# --- the report --------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def render(f: Figures) -> str:
    api, alone = f.api, f.alone
    lat = api.latencies_ms
    lines = [
        "## Registrations through the API",
        "",
        f"{f.registrations:,} people registered through `POST /migrants` ({f.concurrency} in "
        "flight, httpx; each request with a registrar token for the person's site and its own "
        "`Idempotency-Key`), on the whole stack as `bensys up` runs it (Tansu, SecantusDB and "
        f"the five services as processes; {WARM_UP} registrations before the clock started). "
        "The people vary as a registrar's day does: Bangladeshi, Indian, Nepali and Sri Lankan "
        "names, a Maldivian mobile (`+960 7xx xxxx`, valid by `phonenumbers`) for most, a "
        "passport for some, the default sites, consent to registration and often more. The "
        "raw limit is the same SecantusDB in the same run writing the registry's own stored "
        f"`MigrantRegistered` documents ({f.document_bytes / 1024:.1f} KB of BSON on average), "
        "under new ids, into a scratch database with only its `_id` index.",
        "",
        "| docs/s | BenSys (`POST /migrants`) | raw limit | ratio |",
        "|---|---:|---:|---:|",
        *_ratio_rows(f),
        "",
        "SecantusDB's raw rates drift as a run goes on (its CPU per `insert_one` went from "
        f"{_db_ms_per_insert(f.raw_before):.2f} ms to {_db_ms_per_insert(f.raw_after):.2f} ms "
        "here), so each is measured twice, bracketing "
        "the API run: just before it (after the warm-up), and after it, by when "
        f"{f.api.created + f.alone.created:,} more registrations had gone through the API and "
        f"{2 * PHASE_SAMPLE + f.contended.appends:,} events had been appended directly. "
        + _drift(f),
        "",
        f"Latency of `POST /migrants` with {f.concurrency} in flight: p50 "
        f"{percentile(lat, 50):.1f} ms, p95 {percentile(lat, 95):.1f} ms, p99 "
        f"{percentile(lat, 99):.1f} ms; one at a time ({alone.sent} more): p50 "
        f"{percentile(alone.latencies_ms, 50):.1f} ms, p95 "
        f"{percentile(alone.latencies_ms, 95):.1f} ms. " + _answers(api, alone) + " " + _drained(f),
        *_failures(api, alone),
        "",
        f"Where one registration's time goes: {PHASE_SAMPLE} more new people registered one at "
        "a time by direct calls of the registry's own functions from the bench process, in the "
        "order `register` calls them (duplicate check against the registry's live index; writes "
        "to scratch databases), each phase timed and its database commands counted. Means, and "
        "their share of one registration through the API one at a time "
        f"({_whole(f):.1f} ms on average):",
        "",
        "| phase | round trips | ms | share |",
        "|---|---:|---:|---:|",
        *_phase_rows(f),
        "",
        _contention(f),
        "",
        "Who was busy, in CPU seconds per wall second (1.00 is one core; the last column is "
        "what other processes on the machine used meanwhile):",
        "",
        "| phase | wall s | SecantusDB | registry | reporting | Tansu | other services | bench "
        "| outside BenSys |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        _busy(f"`POST /migrants`, {f.concurrency} in flight", api.busy),
        _busy("`POST /migrants`, one at a time", alone.busy),
        _busy(f"`insert_one`, {f.concurrency} in flight, before", f.raw_before.one),
        _busy(f"`insert_many`, {RAW_INSERT_BATCH:,} per call, before", f.raw_before.many),
        _busy(f"`insert_one`, {f.concurrency} in flight, after", f.raw_after.one),
        _busy(f"`insert_many`, {RAW_INSERT_BATCH:,} per call, after", f.raw_after.many),
        *_outside_load(f),
        "",
        *_reading(f),
        "",
    ]
    return "\n".join(lines)


def _drift(f: Figures) -> str:
    quarters = f.api.rates_by_part(4)
    if not quarters:
        return ""
    return (
        "Registrations/s in each quarter of the API run, in order: "
        + ", ".join(f"{rate:.1f}" for rate in quarters)
        + "."
    )


def _db_ms_per_insert(raw: RawLimits) -> float:
    return raw.one.cpu.get("SecantusDB", 0.0) / raw.one_count * 1000


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


def _answers(api: ApiRun, alone: ApiRun) -> str:
    sent = api.sent + alone.sent
    created = api.created + alone.created
    flagged = api.with_duplicates + alone.with_duplicates
    if created == sent:
        answered = f"All {sent:,} answered 201"
    else:
        answered = f"{created:,} of {sent:,} answered 201 (the others below)"
    return (
        f"{answered}; {flagged:,} ({flagged / max(created, 1):.0%}) listed likely duplicates, "
        "namesakes being common."
    )


def _drained(f: Figures) -> str:
    if f.drained_seconds is None:
        return (
            f"Reporting had not counted every registration {DRAIN_TIMEOUT_SECONDS:.0f} s after "
            "the last answer."
        )
    return (
        f"Reporting (relay, Kafka, its consumer) had counted every registration "
        f"{f.drained_seconds:.1f} s after the last answer."
    )


def _failures(api: ApiRun, alone: ApiRun) -> list[str]:
    statuses = api.statuses + alone.statuses
    others = {status: n for status, n in statuses.items() if status != "201"}
    if not others:
        return []
    return [
        "",
        "Answers other than 201: "
        + ", ".join(f"{status}: {n:,}" for status, n in sorted(others.items()))
        + ". The first of them:",
        "",
        *(f"- `{failure}`" for failure in (api.failures + alone.failures)[:KEPT_FAILURES]),
    ]


def _whole(f: Figures) -> float:
    return statistics.fmean(f.alone.latencies_ms) if f.alone.latencies_ms else math.nan


def _means(f: Figures) -> dict[str, float]:
    return {phase: statistics.fmean(ms) for phase, ms in f.phases.times_ms.items() if ms}


def _phase_rows(f: Figures) -> list[str]:
    means = _means(f)
    trips = {p: statistics.fmean(n) for p, n in f.phases.round_trips.items() if n}
    whole = _whole(f)
    floor = statistics.fmean(f.floor_ms)
    rest = whole - floor - sum(means[phase] for phase in PHASES)
    return [
        *(
            f"| {phase} | {trips[phase]:.1f} | {means[phase]:.2f} | {means[phase] / whole:.0%} |"
            for phase in PHASES
        ),
        f"| an HTTP round trip to the registry (`GET /health`: no token, no I/O) | 0 | "
        f"{floor:.2f} | {floor / whole:.0%} |",
        "| the rest, by difference: token check, body parsing, telemetry, and the relay "
        f"publishing each registration meanwhile | | {rest:.2f} | {rest / whole:.0%} |",
        f"| *of sealing: the cryptography alone (key, wrap, AES-GCM; on an in-memory vault)* "
        f"| *{trips[SEAL_CRYPTO]:.0f}* | *{means[SEAL_CRYPTO]:.2f}* | "
        f"*{means[SEAL_CRYPTO] / whole:.0%}* |",
        f"| *of the append: the same transaction without the command record and index write* "
        f"| *{trips[PLAIN_APPEND]:.1f}* | *{means[PLAIN_APPEND]:.2f}* | "
        f"*{means[PLAIN_APPEND] / whole:.0%}* |",
    ]


def _contention(f: Figures) -> str:
    c = f.contended
    alone_rate = 1000 / _means(f)[APPEND]
    failed = ", ".join(f"`{name}` {n:,}" for name, n in c.failed_by_command.most_common())
    return (
        f"The same append transaction alone, for {c.appends:,} more new people with "
        f"{c.concurrency} in flight from one client: {c.rate:,.0f}/s, against "
        f"{alone_rate:,.0f}/s one at a time. The server aborted {c.aborted:,} attempts "
        f"({c.aborted / c.appends:.2f} per append; failed commands: {failed or 'none'}), each "
        "retried by pymongo's `with_transaction` after a jittered backoff growing to 0.5 s."
    )


def _outside_load(f: Figures) -> list[str]:
    """Say so when other processes shared the machine: their load lowers the phase it hit."""
    phases = {
        f"`POST /migrants` with {f.concurrency} in flight": f.api.busy,
        "one at a time": f.alone.busy,
        "`insert_one` before": f.raw_before.one,
        "`insert_many` before": f.raw_before.many,
        "`insert_one` after": f.raw_after.one,
        "`insert_many` after": f.raw_after.many,
    }
    loaded = {name: busy.share(OUTSIDE) for name, busy in phases.items()}
    hit = [f"{name} ({share:.2f})" for name, share in loaded.items() if share > OUTSIDE_NOTABLE]
    if not hit:
        return []
    return [
        "",
        f"Other processes on this machine used more than {OUTSIDE_NOTABLE:.2f} of a core "
        f"during {', '.join(hit)}: those rates are lower than a quiet machine would give, and "
        "the ratios built on them move accordingly.",
    ]


def _busy(phase: str, busy: Busy) -> str:
    # Clock ticks are counted per process and for the machine apart: clamp the rounding.
    shares = " | ".join(f"{max(busy.share(group), 0.0):.2f}" for group in PROCESS_GROUPS)
    return f"| {phase} | {busy.seconds:.1f} | {shares} |"


def _reading(f: Figures) -> list[str]:
    """The paragraph's figures come from this run; its claims were checked against them."""
    means = _means(f)
    trips = {p: statistics.fmean(n) for p, n in f.phases.round_trips.items() if n}
    whole = _whole(f)
    api, c = f.api, f.contended
    db_per_registration = api.busy.cpu.get("SecantusDB", 0.0) / max(api.created, 1) * 1000
    registry_per_registration = api.busy.cpu.get("registry", 0.0) / max(api.created, 1) * 1000
    db_per_insert = [_db_ms_per_insert(raw) for raw in (f.raw_before, f.raw_after)]
    one_at_a_time = 1000 / whole
    extra = means[APPEND] - means[PLAIN_APPEND]
    rest = whole - statistics.fmean(f.floor_ms) - sum(means[phase] for phase in PHASES)
    lat = api.latencies_ms
    return [
        f"A registration is {sum(trips[p] for p in PHASES):.0f} database round trips where the "
        f"raw limit is one (idempotency lookup {trips[IDEMPOTENCY]:.0f}, duplicate check "
        f"{trips[DUPLICATES]:.1f}, sealing {trips[SEAL]:.0f} because a newcomer's key is looked "
        f"up, created and read back, the append transaction {trips[APPEND]:.0f}), before the "
        "relay's and the reporting projection's.",
        f"During the API run SecantusDB spent {db_per_registration:.1f} ms of CPU per "
        f"registration and the registry {registry_per_registration:.1f} ms, all of that "
        f"included, against {db_per_insert[0]:.2f} ms (before) to {db_per_insert[1]:.2f} ms "
        "(after) of SecantusDB per raw `insert_one`, while "
        "the cryptography is cheap: the blind keys' HMACs sit inside validation's "
        f"{means[VALIDATE]:.1f} ms, and sealing on an in-memory vault takes "
        f"{means[SEAL_CRYPTO]:.2f} ms of sealing's {means[SEAL]:.1f}.",
        f"Of one registration on its own ({whole:.0f} ms), the largest phases are "
        + ", then ".join(
            f"{_SHORT[phase]} ({means[phase] / whole:.0%})"
            for phase in sorted((APPEND, SEAL, DUPLICATES), key=lambda p: -means[p])
        )
        + f", mostly round trips rather than computation; the command record and inline index "
        f"write add {extra:.1f} ms to the bare append.",
        f"{f.concurrency} in flight gave {api.rate:.0f} registrations/s against "
        f"{one_at_a_time:.0f}/s one at a time ({api.rate / one_at_a_time:.2f}x, not "
        f"{f.concurrency}x), with a p99 of {percentile(lat, 99):,.0f} ms, because every append "
        "increments the one position-counter document: appended directly with "
        f"{c.concurrency} in flight, {c.aborted / c.appends:.2f} attempts per append were "
        "aborted on a write conflict there and retried after pymongo's backoff, so positions "
        "given out without a shared hot document would raise this ratio the most.",
        f"The rest of a lone registration ({rest:.0f} ms, {rest / whole:.0%}) is inferred by "
        "difference, not timed: the token check, FastAPI parsing and validating the body, "
        "tracing and the access log, and the relay waking after each append to read the "
        "outbox, publish to Tansu, mark the event published and save its marks, a handful "
        "more round trips on the same database.",
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.registration_bench", description=__doc__)
    parser.add_argument("--registrations", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    print(asyncio.run(run(registrations=args.registrations, concurrency=args.concurrency)))


if __name__ == "__main__":
    main()
