"""Duplicate-check latency: ``PeopleIndex.likely_duplicates`` at 10,000 and 100,000 people.

A registrar waits for this check on every registration, so its tail latency is what matters,
and it must not grow with the registry. Each size is filled in bulk (``insert_many`` of the
documents ``PeopleIndex.put`` writes), then queried with a mix of true re-registrations,
spelled differently, and people never registered. The raw limit is a ``find_one`` by ``_id``
on the same server in the same run: the ratio says what blocking and scoring cost on top of
one indexed round trip, and travels between machines better than milliseconds.

``python -m bench.duplicates_bench [--sizes 10000,100000]`` prints the Markdown section.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from pymongo import AsyncMongoClient

from bensys.embedded import free_port, mongo_url, secantus
from services.registry.matching import BlindIndexer, PersonKeys, blind_index_key
from services.registry.people import COLLECTION, PeopleIndex, index_document

Document = dict[str, Any]

SEED = 20_240_601
QUERIES = 300
REREGISTERED_SHARE = 0.5
INSERT_BATCH = 1_000
TARGET_P95_MS = 50.0
DATABASE = "bench_registry"
INDEX_KEY = blind_index_key(b"bench master key, not a secret: 32b")

# --- synthetic people ----------------------------------------------------------------------
# Small lists, weighted roughly as names occur among migrant workers in the Maldives, so
# namesakes are as frequent as in life (or more): the index must stay fast when they are.
# fmt: off

BD_PREFIXES = ("Md.", "Mohammed", "Mohammad", "Muhammad", "Md", "Mohd.")
BD_MEN = (
    "Karim",
    "Rahim",
    "Jamal",
    "Kamal",
    "Rafiq",
    "Shafiq",
    "Habib",
    "Nasir",
    "Anwar",
    "Jahangir",
    "Alamgir",
    "Shahid",
    "Faruk",
    "Masud",
    "Mizanur",
    "Rezaul",
    "Saiful",
    "Aminul",
    "Monir",
    "Sohel",
    "Rubel",
    "Shamim",
    "Delwar",
    "Nurul",
    "Harun",
    "Babul",
    "Liton",
    "Jasim",
    "Belal",
    "Selim",
    "Kabir",
    "Mamun",
    "Sumon",
    "Rana",
    "Jewel",
    "Milon",
    "Shahin",
    "Robiul",
    "Tarek",
    "Ashraf",
)
BD_WOMEN = (
    "Rina",
    "Shirin",
    "Nasima",
    "Rokeya",
    "Salma",
    "Fatema",
    "Ayesha",
    "Rahima",
    "Jesmin",
    "Shahnaz",
    "Parveen",
    "Nazma",
    "Hasina",
    "Kulsum",
    "Morium",
)
BD_SURNAMES = (
    "Hossain",
    "Rahman",
    "Islam",
    "Ahmed",
    "Uddin",
    "Miah",
    "Sarkar",
    "Chowdhury",
    "Khan",
    "Ali",
    "Alam",
    "Haque",
    "Sheikh",
    "Mollah",
    "Talukder",
    "Bhuiyan",
    "Mondal",
    "Biswas",
    "Sikder",
    "Howlader",
    "Matubbar",
    "Pramanik",
    "Akanda",
    "Fakir",
    "Gazi",
)
BD_WOMEN_SURNAMES = ("Begum", "Khatun", "Akter")
IN_MEN = (
    "Ravi",
    "Suresh",
    "Ramesh",
    "Rajesh",
    "Anil",
    "Sunil",
    "Vijay",
    "Ajay",
    "Sanjay",
    "Manoj",
    "Arun",
    "Prakash",
    "Ganesh",
    "Murugan",
    "Senthil",
    "Karthik",
    "Biju",
    "Shaji",
    "Anoop",
    "Rahul",
    "Deepak",
    "Santosh",
    "Selvam",
    "Mani",
    "Babu",
    "Joseph",
    "Thomas",
    "Vinod",
)
IN_WOMEN = (
    "Lakshmi", "Priya", "Anitha", "Sunita", "Kavitha", "Meena", "Shanthi", "Deepa", "Bindu",
    "Jincy", "Remya", "Sreeja", "Divya", "Geetha", "Mary", "Latha", "Usha", "Saritha",
)
IN_SURNAMES = (
    "Kumar",
    "Singh",
    "Sharma",
    "Nair",
    "Pillai",
    "Reddy",
    "Das",
    "Yadav",
    "Patel",
    "Menon",
    "Raj",
    "Babu",
    "Varghese",
    "Joseph",
    "Krishnan",
    "Subramanian",
    "Rajan",
    "Naidu",
    "Gowda",
    "Shetty",
)
NP_MEN = (
    "Ram",
    "Hari",
    "Krishna",
    "Bishnu",
    "Shyam",
    "Gopal",
    "Dil",
    "Man",
    "Bir",
    "Prem",
    "Rajendra",
    "Suman",
    "Bikash",
    "Dipak",
    "Santosh",
    "Gokul",
    "Tek",
    "Nabin",
    "Ramesh",
    "Dhan",
)
NP_WOMEN = (
    "Sita", "Gita", "Maya", "Sarita", "Anita", "Kamala", "Radha", "Sabina", "Durga", "Laxmi",
    "Mina", "Parbati", "Sunita", "Bimala", "Goma", "Kopila",
)
NP_SURNAMES = (
    "Thapa",
    "Gurung",
    "Tamang",
    "Rai",
    "Limbu",
    "Magar",
    "Shrestha",
    "Sherpa",
    "BK",
    "Karki",
    "Adhikari",
    "Basnet",
    "Poudel",
    "Khadka",
    "Bhandari",
    "Lama",
    "Pun",
    "Ghale",
    "Chaudhary",
    "Yadav",
)
LK_MEN = (
    "Nimal",
    "Sunil",
    "Kamal",
    "Chaminda",
    "Ruwan",
    "Saman",
    "Pradeep",
    "Nuwan",
    "Kasun",
    "Mahesh",
    "Lasantha",
    "Dinesh",
    "Asanka",
    "Tharindu",
    "Sampath",
    "Selvaraj",
    "Murugesu",
)
LK_WOMEN = (
    "Nirmala", "Kumari", "Chandrika", "Dilani", "Shanika", "Malini", "Anoma", "Damayanthi",
    "Iresha", "Kanchana", "Nadeesha", "Sandya",
)
LK_SURNAMES = (
    "Perera",
    "Fernando",
    "Silva",
    "Jayasuriya",
    "Bandara",
    "Kumara",
    "Dissanayake",
    "Wickramasinghe",
    "Herath",
    "Gunawardena",
    "Rathnayake",
    "Weerasinghe",
    "Jayawardena",
    "Senanayake",
    "Ekanayake",
)
NATIONALITIES = ("BD", "IN", "NP", "LK")
NATIONALITY_SHARES = (0.45, 0.25, 0.20, 0.10)
SPELLINGS = {
    "Md.": ("Mohammed", "Muhammad", "Mohd"),
    "Md": ("Md.", "Mohammad", "Muhammed"),
    "Mohammed": ("Md.", "Muhammad", "Mohamed"),
    "Mohammad": ("Md.", "Mohammed", "Mohd."),
    "Muhammad": ("Md", "Mohammed"),
    "Mohd.": ("Md.", "Mohammad"),
    "Hossain": ("Hussain", "Hosain", "Hossen"),
    "Rahman": ("Rehman", "Rahaman"),
    "Karim": ("Kareem",),
    "Rahim": ("Raheem",),
    "Begum": ("Begom",),
    "Akter": ("Akhter", "Aktar"),
    "Khatun": ("Khatoon",),
    "Chowdhury": ("Choudhury", "Chowdhuri"),
    "Ahmed": ("Ahmad",),
    "Uddin": ("Udin", "Uddeen"),
    "Miah": ("Mia",),
    "Mollah": ("Molla",),
    "Fatema": ("Fatima",),
    "Ayesha": ("Aisha",),
    "Kumar": ("Kumaar",),
    "Lakshmi": ("Laxmi",),
    "Pillai": ("Pillay",),
    "Wickramasinghe": ("Wickremesinghe",),
    "BK": ("Bishwakarma",),
}
# fmt: on


@dataclass(frozen=True)
class Person:
    migrant_id: str
    words: tuple[str, ...]
    birth_year: int | None
    nationality: str
    phone: str | None
    document: str | None

    @property
    def name(self) -> str:
        return " ".join(self.words)


def _words(rnd: random.Random, nationality: str) -> tuple[str, ...]:
    woman = rnd.random() < 0.3
    if nationality == "BD":
        if woman:
            prefix = ["Mst."] if rnd.random() < 0.3 else []
            last = rnd.choice(BD_WOMEN_SURNAMES if rnd.random() < 0.6 else BD_SURNAMES)
            return (*prefix, rnd.choice(BD_WOMEN), last)
        prefix = [rnd.choice(BD_PREFIXES)] if rnd.random() < 0.55 else []
        middle = ["Abdul"] if rnd.random() < 0.1 else []
        return (*prefix, *middle, rnd.choice(BD_MEN), rnd.choice(BD_SURNAMES))
    if nationality == "IN":
        given = rnd.choice(IN_WOMEN if woman else IN_MEN)
        if rnd.random() < 0.15:  # Tamil style: father's initial, then the given name
            return (f"{rnd.choice('ABCDEGKMNPRSTV')}.", given)
        return (given, rnd.choice(IN_SURNAMES))
    if nationality == "NP":
        given = rnd.choice(NP_WOMEN if woman else NP_MEN)
        title = ["Kumari" if woman else "Bahadur"] if rnd.random() < 0.4 else []
        return (given, *title, rnd.choice(NP_SURNAMES))
    return (rnd.choice(LK_WOMEN if woman else LK_MEN), rnd.choice(LK_SURNAMES))


def new_person(rnd: random.Random, migrant_id: str) -> Person:
    """Someone never registered: a tenth without even an approximate birth year, most with a
    Maldivian mobile, fewer with a passport or work permit."""
    [nationality] = rnd.choices(NATIONALITIES, weights=NATIONALITY_SHARES)
    has_phone, has_document = rnd.random() < 0.6, rnd.random() < 0.4
    return Person(
        migrant_id=migrant_id,
        words=_words(rnd, nationality),
        birth_year=None if rnd.random() < 0.1 else rnd.randint(1966, 2006),
        nationality=nationality,
        phone=f"+9607{rnd.randrange(10**6):06d}" if has_phone else None,
        document=f"{rnd.choice('ABEKNP')}{rnd.randrange(10**7):07d}" if has_document else None,
    )


def respell(rnd: random.Random, word: str) -> str:
    spellings = SPELLINGS.get(word)
    return rnd.choice(spellings) if spellings and rnd.random() < 0.7 else word


def reregistration(rnd: random.Random, person: Person, migrant_id: str) -> Person:
    """The same person registered again elsewhere: spelled, ordered and remembered otherwise."""
    words = [respell(rnd, word) for word in person.words]
    if len(words) >= 2 and rnd.random() < 0.3:
        words = [*words[1:], words[0]]  # family name first
    if len(words) >= 3 and rnd.random() < 0.2:
        words[0] = f"{words[0][0]}."
    if rnd.random() < 0.2:
        words = [w.upper() for w in words]
    year = person.birth_year
    if year is not None and rnd.random() < 0.3:
        year += rnd.choice((-1, 1))
    return replace(
        person,
        migrant_id=migrant_id,
        words=tuple(words),
        birth_year=year,
        phone=person.phone if rnd.random() < 0.3 else None,
        document=person.document if rnd.random() < 0.2 else None,
    )


def keys_of(indexer: BlindIndexer, person: Person) -> PersonKeys:
    return indexer.keys_for(
        migrant_id=person.migrant_id,
        names=[person.name],
        birth_year=person.birth_year,
        nationality=person.nationality,
        phone=person.phone,
        document_number=person.document,
    )


# --- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One timed duplicate check and what it found."""

    milliseconds: float
    with_birth_year: bool
    original: str | None
    """The re-registered person's id; None for someone never registered."""
    found: tuple[str, ...]


@dataclass(frozen=True)
class SizeFigures:
    people: int
    fill_seconds: float
    filled: int
    checks: list[Check]
    raw_latencies_ms: list[float]

    @property
    def fill_rate(self) -> float:
        return self.filled / self.fill_seconds if self.fill_seconds > 0 else 0.0

    def p(self, q: float, *, with_birth_year: bool | None = None) -> float:
        return percentile(
            [
                c.milliseconds
                for c in self.checks
                if with_birth_year is None or c.with_birth_year == with_birth_year
            ],
            q,
        )

    def count(self, *, with_birth_year: bool) -> int:
        return sum(c.with_birth_year == with_birth_year for c in self.checks)

    @property
    def raw_p95(self) -> float:
        return percentile(self.raw_latencies_ms, 95)

    @property
    def ratio(self) -> float:
        return self.p(95) / self.raw_p95 if self.raw_p95 > 0 else 0.0

    @property
    def reregistrations(self) -> list[Check]:
        return [c for c in self.checks if c.original is not None]

    @property
    def found_first(self) -> int:
        return sum(bool(c.found) and c.found[0] == c.original for c in self.reregistrations)

    @property
    def found(self) -> int:
        return sum(c.original in c.found for c in self.reregistrations)

    @property
    def flagged_per_new_person(self) -> float:
        new = [c for c in self.checks if c.original is None]
        return sum(len(c.found) for c in new) / len(new) if new else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[min(max(int(q) - 1, 0), 98)]


async def fill(
    client: AsyncMongoClient[Document], indexer: BlindIndexer, people: Sequence[Person]
) -> float:
    """Insert ``people`` as ``put`` would store them, in batches; the seconds it took."""
    collection = client[DATABASE][COLLECTION]
    started = time.perf_counter()
    in_flight: asyncio.Task[Any] | None = None
    for start in range(0, len(people), INSERT_BATCH):
        # hash the next batch while the server stores the previous one
        batch = [index_document(keys_of(indexer, p)) for p in people[start : start + INSERT_BATCH]]
        if in_flight is not None:
            await in_flight
        in_flight = asyncio.create_task(collection.insert_many(batch, ordered=False))
    if in_flight is not None:
        await in_flight
    return time.perf_counter() - started


async def measure(
    index: PeopleIndex, indexer: BlindIndexer, registered: Sequence[Person], rnd: random.Random
) -> list[Check]:
    """Time ``QUERIES`` duplicate checks, re-registrations and newcomers mixed."""
    checks: list[Check] = []
    for n in range(QUERIES):
        migrant_id = f"query-{len(registered)}-{n}"
        original: Person | None = None
        if rnd.random() < REREGISTERED_SHARE:
            original = rnd.choice(registered)
            person = reregistration(rnd, original, migrant_id)
        else:
            person = new_person(rnd, migrant_id)
        keys = keys_of(indexer, person)
        started = time.perf_counter()
        matches = await index.likely_duplicates(keys)
        elapsed = (time.perf_counter() - started) * 1000
        checks.append(
            Check(
                milliseconds=elapsed,
                with_birth_year=person.birth_year is not None,
                original=None if original is None else original.migrant_id,
                found=tuple(m.migrant_id for m in matches),
            )
        )
    return checks


async def raw_find_one(
    client: AsyncMongoClient[Document], registered: Sequence[Person], rnd: random.Random
) -> list[float]:
    collection = client[DATABASE][COLLECTION]
    latencies: list[float] = []
    for _ in range(QUERIES):
        migrant_id = rnd.choice(registered).migrant_id
        started = time.perf_counter()
        await collection.find_one({"_id": migrant_id})
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def bench_sizes(url: str, sizes: Sequence[int]) -> list[SizeFigures]:
    """Grow one index through ``sizes`` (each fill adds the difference) and measure at each."""
    rnd = random.Random(SEED)
    indexer = BlindIndexer(INDEX_KEY)
    client: AsyncMongoClient[Document] = AsyncMongoClient(url)
    figures: list[SizeFigures] = []
    try:
        index = PeopleIndex(client, DATABASE)
        await index.ensure_indexes()
        registered: list[Person] = []
        for size in sorted(sizes):
            more = [new_person(rnd, f"person-{n:07d}") for n in range(len(registered), size)]
            print(f"duplicates bench: filling to {size:,} people", file=sys.stderr, flush=True)
            seconds = await fill(client, indexer, more)
            registered.extend(more)
            await raw_find_one(client, registered, rnd)  # warm up connection and caches
            checks = await measure(index, indexer, registered, rnd)
            raw = await raw_find_one(client, registered, rnd)
            figures.append(SizeFigures(size, seconds, len(more), checks, raw))
    finally:
        await client.close()
    return figures


async def run(sizes: Sequence[int] = (10_000, 100_000)) -> str:
    """Start a fresh SecantusDB, measure at each size, return the Markdown section."""
    with tempfile.TemporaryDirectory(prefix="bensys-duplicates-bench-") as tmp:
        base = Path(tmp)
        database = secantus(free_port(), base / "mongo", base / "logs")
        await asyncio.to_thread(database.start)
        try:
            figures = await bench_sizes(mongo_url(database.port), sizes)
        finally:
            await asyncio.to_thread(database.stop)
    return render(figures)


def render(figures: Sequence[SizeFigures]) -> str:
    lines = [
        "## Duplicate checks",
        "",
        f"`PeopleIndex.likely_duplicates` (threshold 0.5) at each size, {QUERIES} checks: "
        f"{REREGISTERED_SHARE:.0%} re-registrations of someone already in the index (other "
        "spellings, family name first, an initial, a year off by one, phone and document often "
        "missing), the rest people never registered; a tenth of both without a birth year. "
        "Synthetic Bangladeshi, Indian, Nepali and Sri Lankan names from small lists, so "
        "namesakes are common. One index grows from size to size, filled by `insert_many` of "
        "the documents `put` writes. Raw limit: `find_one` by `_id` on the same server in the "
        f"same run. Target: p95 under {TARGET_P95_MS:.0f} ms at 100,000 people.",
        "",
        "| people | p50 ms | p95 ms | p99 ms | raw `find_one` p95 ms | ratio (p95) |",
        "|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {f.people:,} | {f.p(50):.1f} | {f.p(95):.1f} | {f.p(99):.1f} | "
            f"{f.raw_p95:.2f} | {f.ratio:.0f} |"
            for f in figures
        ),
        "",
        "Checks with and without a birth year (without one, namesakes of every year are read):",
        "",
        "| people | with: checks | p50 ms | p95 ms | without: checks | p50 ms | p95 ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {f.people:,} | {f.count(with_birth_year=True)} | "
            f"{f.p(50, with_birth_year=True):.1f} | {f.p(95, with_birth_year=True):.1f} | "
            f"{f.count(with_birth_year=False)} | {f.p(50, with_birth_year=False):.1f} | "
            f"{f.p(95, with_birth_year=False):.1f} |"
            for f in figures
        ),
        "",
        "What the checks found (a re-registration's original among the results; identical "
        "namesakes with no year to tell them apart tie, so first place is not always possible):",
        "",
        "| people | original first | original found | flagged per newcomer |",
        "|---:|---:|---:|---:|",
        *(
            f"| {f.people:,} | {f.found_first}/{len(f.reregistrations)} | "
            f"{f.found}/{len(f.reregistrations)} | {f.flagged_per_new_person:.2f} |"
            for f in figures
        ),
        "",
        f"Filling ({INSERT_BATCH:,} per `insert_many`): "
        + ", ".join(f"{f.filled:,} people at {f.fill_rate:,.0f}/s" for f in figures)
        + ".",
        "",
    ]
    return "\n".join(lines)


def parse_sizes(argv: Sequence[str]) -> tuple[int, ...]:
    parser = argparse.ArgumentParser(prog="python -m bench.duplicates_bench", description=__doc__)
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated index sizes")
    args = parser.parse_args(argv)
    return tuple(int(s.replace("_", "")) for s in str(args.sizes).split(",") if s.strip())


def main(argv: Sequence[str] | None = None) -> None:
    sizes = parse_sizes(sys.argv[1:] if argv is None else argv)
    print(asyncio.run(run(sizes)))


if __name__ == "__main__":
    main()
