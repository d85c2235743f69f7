"""The people index on a real MongoDB-wire server: duplicates found, search, removal, rollback.

Each test starts from a registry of 2,000 generated people (fixed seed, South Asian names from
small lists, so namesakes are common, as they are in life) and checks what a registrar relies
on: the person registered again under another spelling comes first, a phone finds exactly its
owner, an erased or merged person cannot be found, and an aborted registration leaves nothing.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from services.registry.matching import (
    BlindIndexer,
    PersonKeys,
    blind_index_key,
    canonical_tokens,
)
from services.registry.people import COLLECTION, PeopleIndex

pytestmark = pytest.mark.integration

Client = AsyncMongoClient[dict[str, Any]]
INDEXER = BlindIndexer(blind_index_key(b"integration test master key, 32b"))
PEOPLE = 500  # enough to find one person among many; larger sizes live in bench/
SEED = 1_729

GIVEN = {
    "BD": ("Karim", "Rahim", "Jamal", "Kamal", "Habib", "Nasir", "Shahid", "Faruk"),
    "IN": ("Ravi", "Suresh", "Anil", "Murugan", "Senthil", "Biju", "Lakshmi", "Priya"),
    "NP": ("Ram", "Hari", "Bishnu", "Dil", "Sita", "Maya"),
    "LK": ("Nimal", "Sunil", "Ruwan", "Kasun", "Chandrika"),
}
FAMILY = {
    "BD": ("Hossain", "Rahman", "Islam", "Uddin", "Sarkar", "Chowdhury", "Talukder", "Miah"),
    "IN": ("Kumar", "Nair", "Pillai", "Reddy", "Das", "Singh"),
    "NP": ("Thapa", "Gurung", "Tamang", "Rai", "Shrestha"),
    "LK": ("Perera", "Fernando", "Silva", "Bandara", "Herath"),
}
BD_WOMEN = (("Rina", "Salma", "Nazma", "Jesmin"), ("Begum", "Akter", "Khatun"))
BD_PREFIXES = ("Md.", "Mohammed", "Mohammad")
SPELLINGS = {
    "Md.": "Muhammad", "Mohammed": "Md", "Mohammad": "MD.", "Hossain": "Hussain",
    "Rahman": "Rehman", "Chowdhury": "Choudhury", "Begum": "Begom", "Akter": "Akhter",
    "Karim": "Kareem", "Rahim": "Raheem", "Kumar": "Kumara", "Pillai": "Pillay",
    "Khatun": "Khatoon",
}  # fmt: skip


@dataclass(frozen=True)
class Registration:
    migrant_id: str
    name: str
    birth_year: int | None
    nationality: str
    phone: str | None
    document: str | None

    def keys(self) -> PersonKeys:
        return INDEXER.keys_for(
            migrant_id=self.migrant_id,
            names=[self.name],
            birth_year=self.birth_year,
            nationality=self.nationality,
            phone=self.phone,
            document_number=self.document,
        )


def generate(count: int, seed: int) -> list[Registration]:
    rnd = random.Random(seed)
    people = []
    for n in range(count):
        nationality = rnd.choice(("BD", "BD", "IN", "NP", "LK"))
        if nationality == "BD" and rnd.random() < 0.3:
            words = [rnd.choice(BD_WOMEN[0]), rnd.choice(BD_WOMEN[1])]
        else:
            words = [rnd.choice(GIVEN[nationality]), rnd.choice(FAMILY[nationality])]
            if nationality == "BD" and rnd.random() < 0.5:
                words.insert(0, rnd.choice(BD_PREFIXES))
        people.append(
            Registration(
                migrant_id=f"m-{n:05d}",
                name=" ".join(words),
                birth_year=None if rnd.random() < 0.1 else rnd.randint(1970, 2004),
                nationality=nationality,
                phone=f"+9607{n:06d}",  # one phone each, so "exactly that person" is checkable
                document=f"P{rnd.randrange(10**7):07d}" if rnd.random() < 0.3 else None,
            )
        )
    return people


def respelled(person: Registration) -> str:
    """The name as another registrar would write it: other spellings, family name first."""
    words = [SPELLINGS.get(w, w) for w in person.name.split()]
    return " ".join([words[-1], *words[:-1]])


def with_unique_name_and_year(people: list[Registration]) -> Registration:
    """The first person whose name and birth year nobody else shares, and whose name another
    registrar could spell differently: the one re-registration a registry can tell apart."""

    def identity(p: Registration) -> tuple[frozenset[str], int | None]:
        return frozenset(canonical_tokens(p.name)), p.birth_year

    def respellable(p: Registration) -> bool:
        return any(word in SPELLINGS for word in p.name.split())

    counts = Counter(identity(p) for p in people)
    return next(
        p
        for p in people
        if counts[identity(p)] == 1 and p.birth_year is not None and respellable(p)
    )


def phone_query(phone: str) -> PersonKeys:
    """What search builds from a query that looks like a phone number."""
    return INDEXER.keys_for(
        migrant_id="",
        names=[],
        birth_year=None,
        nationality=None,
        phone=phone,
        document_number=None,
    )


@pytest.fixture
async def index(mongo_client: Client, db_name: str) -> PeopleIndex:
    index = PeopleIndex(mongo_client, db_name)
    await index.ensure_indexes()
    return index


@pytest.fixture
async def registered(index: PeopleIndex) -> list[Registration]:
    people = generate(PEOPLE, SEED)
    for start in range(0, len(people), 50):  # as registrars at several sites would, at once
        await asyncio.gather(*(index.put(p.keys()) for p in people[start : start + 50]))
    return people


async def test_a_re_registration_under_another_spelling_is_found_first(
    index: PeopleIndex, registered: list[Registration]
) -> None:
    # given someone registered earlier, registered again elsewhere: name re-spelled and in
    # another order, same year and nationality, no phone or document this time
    original = with_unique_name_and_year(registered)
    again = replace(
        original, migrant_id="m-new", name=respelled(original), phone=None, document=None
    )
    # when the registry checks for duplicates
    matches = await index.likely_duplicates(again.keys())
    # then the original comes first, strongly, on name, year and nationality
    assert matches, f"{again.name!r} found nothing; expected {original.name!r}"
    first = matches[0]
    assert first.migrant_id == original.migrant_id
    assert first.score >= 0.7
    assert set(first.matched) >= {"name", "birth_year", "nationality"}
    assert all(m.score >= 0.5 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)
    # and checking the original themselves never lists them as their own duplicate
    own = await index.likely_duplicates(original.keys())
    assert original.migrant_id not in {m.migrant_id for m in own}


async def test_search_finds_a_phone_s_owner_exactly_and_a_name_among_its_namesakes(
    index: PeopleIndex, registered: list[Registration]
) -> None:
    # given a phone number typed into search, keyed as GET /migrants?q= keys it
    owner = registered[PEOPLE // 2]
    assert owner.phone is not None
    [match] = await index.search(phone_query(owner.phone))
    # then exactly its owner comes back, matched on the phone
    assert match.migrant_id == owner.migrant_id
    assert match.matched == ("phone",)
    # and a name typed another way lists that person among their namesakes, best first
    person = with_unique_name_and_year(registered)
    by_name = INDEXER.keys_for(
        migrant_id="",
        names=[respelled(person)],
        birth_year=None,
        nationality=None,
        phone=None,
        document_number=None,
    )
    matches = await index.search(by_name, limit=50)
    assert person.migrant_id in {m.migrant_id for m in matches}
    assert all(m.score >= 0.3 for m in matches)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


async def test_removing_a_person_makes_them_unfindable(
    index: PeopleIndex, registered: list[Registration]
) -> None:
    # given a person found as a duplicate and by phone
    person = with_unique_name_and_year(registered)
    assert person.phone is not None
    again = replace(person, migrant_id="m-new", name=respelled(person)).keys()
    by_phone = phone_query(person.phone)
    assert person.migrant_id in {m.migrant_id for m in await index.likely_duplicates(again)}
    # when they are erased (or absorbed by a merge)
    await index.remove(person.migrant_id)
    # then neither a duplicate check nor a search finds them
    assert person.migrant_id not in {m.migrant_id for m in await index.likely_duplicates(again)}
    assert await index.search(by_phone) == []
    # and removing again is harmless
    await index.remove(person.migrant_id)


async def test_putting_again_replaces_the_entry(index: PeopleIndex) -> None:
    # given a person registered, whose phone is then corrected
    person = generate(1, SEED)[0]
    assert person.phone is not None
    await index.put(person.keys())
    await index.put(replace(person, phone="+9609990000").keys())
    # then the old phone no longer finds them and the new one does
    assert await index.search(phone_query(person.phone)) == []
    [match] = await index.search(phone_query("+9609990000"))
    assert match.migrant_id == person.migrant_id


async def test_a_put_in_an_aborted_transaction_leaves_nothing(
    index: PeopleIndex, mongo_client: Client, db_name: str
) -> None:
    # given a registration whose transaction fails after the index was written
    newcomer = Registration("m-aborted", "Delwar Matubbar", 1988, "BD", "+9607999999", "Z1234567")

    class AppendFailed(Exception):
        pass

    async def register_and_fail() -> None:
        async with mongo_client.start_session() as session, await session.start_transaction():
            await index.put(newcomer.keys(), session=session)
            raise AppendFailed

    with pytest.raises(AppendFailed):
        await register_and_fail()
    # then the index knows nothing of them
    assert await mongo_client[db_name][COLLECTION].count_documents({"_id": "m-aborted"}) == 0
    query = replace(newcomer, migrant_id="m-other").keys()
    assert "m-aborted" not in {m.migrant_id for m in await index.likely_duplicates(query)}
    # while the same put, committed, is found
    async with mongo_client.start_session() as session, await session.start_transaction():
        await index.put(newcomer.keys(), session=session)
    assert "m-aborted" in {m.migrant_id for m in await index.likely_duplicates(query)}


async def test_the_stored_index_holds_nothing_readable(
    registered: list[Registration], mongo_client: Client, db_name: str
) -> None:
    # given every value the index wrote, as a backup would hold it
    documents = await mongo_client[db_name][COLLECTION].find().to_list()
    values = json.dumps([[v for k, v in d.items() if k != "_id"] for d in documents]).casefold()
    # then no name, in any spelling, nor any phone or document number can be read in it
    words = {w.casefold() for p in registered for w in p.name.replace(".", "").split()}
    words |= {t for p in registered for t in canonical_tokens(p.name)}
    for word in words:
        assert word not in values, word
    for p in registered:
        assert p.phone is None or p.phone[1:] not in values
        assert p.document is None or p.document.casefold() not in values
