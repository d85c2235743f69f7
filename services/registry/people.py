"""The people index: one document of blind keys per registered person, for duplicates and search.

It holds no plaintext: hashes of names, initials, phone and document, and birth year and
nationality in the clear (see ``matching``). Erasing or merging a person deletes their document,
and nothing readable was ever in it.

How people are looked up matters more than how they are scored. Everyone who shares a name
token is far too many: a tenth of a registry may share "muhammad", and "karim" alone is
thousands of people at 100,000, each costing the server a document read. So people are found
through their name blocks (``matching.NameBlocks``: pairs of words, a word with another's
initial, the one distinctive word of a name), most selective first, within a budget:

* ``near`` holds the blocks bound to the birth year. A duplicate check with a year looks
  within a year either side (and among people whose year is unknown): a name match with known
  years further apart scores below ``matching.BLOCKING_FLOOR``, so above it nothing is lost.
* ``block`` holds them as they are, for checks without a year, thresholds below the floor and
  search. Two fields rather than one because the server compares every probe with every
  element of a candidate's array: short arrays keep each lookup cheap.

Phone and document are looked up on their own fields first, so a crowd of namesakes can never
push a person sharing the phone out of the candidates. Every lookup is an equality or ``$in`` on
one indexed field, which the server answers from its index; an ``$or`` would scan everything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from enum import Enum
from typing import Any

from pymongo import ASCENDING, AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.collection import AsyncCollection

from services.registry.matching import BLOCKING_FLOOR, DuplicateMatch, PersonKeys, score

COLLECTION = "people_index"
CANDIDATE_LIMIT = 500
"""Most people the name lookups of one check may read: bounds the work, whatever the names."""
STRONG_LIMIT = 50
"""Most people sharing one phone or document: a household phone is shared, not a village's."""
SEARCH_THRESHOLD = 0.3
NO_YEAR_FLOOR = 0.5
"""Threshold from which a check without a birth year may skip ``alone`` (see ``Reach``)."""
UNKNOWN_YEAR = "?"

Document = dict[str, Any]
_SCORED_FIELDS = {
    "name_tokens": 1,
    "name_initials": 1,
    "initials_only": 1,
    "common_tokens": 1,
    "birth_year": 1,
    "nationality": 1,
    "phone": 1,
    "document": 1,
}


def _bound(block: str, year: int | str) -> str:
    """A name block tied to a birth year. ``block`` is already an HMAC, so hashing it with the
    year needs no secret of its own: without the index key nobody can compute either."""
    return hashlib.sha256(f"{block}\x1f{year}".encode()).hexdigest()


def _year_of(keys: PersonKeys) -> int | str:
    return UNKNOWN_YEAR if keys.birth_year is None else keys.birth_year


def index_document(keys: PersonKeys) -> Document:
    """The document ``PeopleIndex.put`` writes for ``keys`` (bulk loaders write the same).

    ``block`` holds the name blocks as they are, for lookups across all years; ``near`` the
    same bound to the birth year, for duplicate checks. Two fields rather than one, because
    the server compares every probe with every element of a candidate's array: short arrays
    keep each lookup cheap.
    """
    year = _year_of(keys)
    blocks = keys.blocks
    return {
        "_id": keys.migrant_id,
        "name_tokens": sorted(keys.name_tokens),
        "name_initials": sorted(keys.name_initials),
        "initials_only": sorted(keys.initials_only),
        "common_tokens": sorted(keys.common_tokens),
        "block": sorted(blocks.stored),
        "near": sorted(_bound(b, year) for b in blocks.stored | blocks.stored_in_year),
        "birth_year": keys.birth_year,
        "nationality": keys.nationality,
        "phone": keys.phone,
        "document": keys.document,
    }


def _keys_from(document: Document) -> PersonKeys:
    return PersonKeys(
        migrant_id=str(document["_id"]),
        name_tokens=frozenset(document.get("name_tokens") or ()),
        name_initials=frozenset(document.get("name_initials") or ()),
        initials_only=frozenset(document.get("initials_only") or ()),
        common_tokens=frozenset(document.get("common_tokens") or ()),
        birth_year=document.get("birth_year"),
        nationality=document.get("nationality"),
        phone=document.get("phone"),
        document=document.get("document"),
    )


class Reach(Enum):
    """How widely to look for namesakes."""

    NEAR_YEARS = "near years"
    """A year either side, or no year recorded: duplicate checks with a birth year."""
    NO_YEAR = "no year"
    """Duplicate checks without a birth year, at 0.5 or above: all years, but not ``alone``
    for a name with two distinctive words. Without a year, someone sharing only one of them
    stays under 0.5 on the name (unless three common words match as well, as in "Md. Abdul
    Jamal Uddin" for "Md. Abdul Jamal Uddin Biswas"), and reading every Jamal costs the most."""
    ALL_YEARS = "all years"
    """Duplicate checks with a threshold below the above: every block across all years."""
    SEARCH = "search"
    """All years, and a one-word name among every name token: "Karim" lists the Karims."""


def name_lookups(keys: PersonKeys, reach: Reach) -> list[Document]:
    """The queries that find ``keys``'s namesakes, most selective first.

    Across all years only the name blocks as they are can be used (``block``); within birth
    years the same bound to each year (``near``), which also allows looking up a one-word name
    by its word.
    """
    blocks = keys.blocks
    if reach is Reach.NEAR_YEARS and keys.birth_year is not None:
        years: list[int | str] = [keys.birth_year + d for d in (-1, 0, 1)]
        years.append(UNKNOWN_YEAR)
        groups = (blocks.pairs, blocks.alone, blocks.one_word)
        return [
            {"near": {"$in": sorted(_bound(probe, year) for probe in group for year in years)}}
            for group in groups
            if group
        ]
    narrow = reach in (Reach.NEAR_YEARS, Reach.NO_YEAR) and blocks.specific
    across: list[frozenset[str]] = [blocks.pairs] if narrow else [blocks.pairs, blocks.alone]
    lookups = [{"block": {"$in": sorted(group)}} for group in across if group]
    if reach is Reach.SEARCH and blocks.lone_tokens:
        lookups.append({"name_tokens": {"$in": sorted(blocks.lone_tokens)}})
    return lookups


class PeopleIndex:
    """Blind keys of every registered person, on ``people_index`` in the registry's database."""

    def __init__(self, client: AsyncMongoClient[Document], database: str) -> None:
        self._people: AsyncCollection[Document] = client[database][COLLECTION]

    async def ensure_indexes(self) -> None:
        # Only what lookups use: every index entry costs every registration. Initials alone
        # would match thousands; they are reached through the name blocks.
        for field in ("near", "block", "name_tokens", "phone", "document"):
            await self._people.create_index([(field, ASCENDING)])

    async def put(self, keys: PersonKeys, *, session: AsyncClientSession | None = None) -> None:
        """Add or replace a person's entry; inside the registration's transaction when given."""
        await self._people.replace_one(
            {"_id": keys.migrant_id}, index_document(keys), upsert=True, session=session
        )

    async def remove(self, migrant_id: str, *, session: AsyncClientSession | None = None) -> None:
        """Take a person out (erasure, or absorbed by a merge): they can no longer be found."""
        await self._people.delete_one({"_id": migrant_id}, session=session)

    async def likely_duplicates(
        self, keys: PersonKeys, *, threshold: float = 0.5, limit: int = 10
    ) -> list[DuplicateMatch]:
        """People who may be ``keys``'s person, best first, scoring at least ``threshold``."""
        if keys.birth_year is not None and threshold >= BLOCKING_FLOOR:
            reach = Reach.NEAR_YEARS
        elif keys.birth_year is None and threshold >= NO_YEAR_FLOOR:
            reach = Reach.NO_YEAR
        else:
            reach = Reach.ALL_YEARS
        candidates = await self._candidates(keys, reach)
        return _ranked(keys, candidates, threshold=threshold, limit=limit)

    async def search(self, keys: PersonKeys, *, limit: int = 20) -> list[DuplicateMatch]:
        """``GET /migrants?q=``: people matching a name, phone or document, best first."""
        candidates = await self._candidates(keys, Reach.SEARCH)
        return _ranked(keys, candidates, threshold=SEARCH_THRESHOLD, limit=limit)

    async def _candidates(self, keys: PersonKeys, reach: Reach) -> list[PersonKeys]:
        found: dict[str, Document] = {}
        for field, value in (("phone", keys.phone), ("document", keys.document)):
            if value:
                await self._collect(found, {field: value}, STRONG_LIMIT)
        budget = CANDIDATE_LIMIT
        for lookup in name_lookups(keys, reach):
            if budget <= 0:
                break  # the broader lookups are the ones left out
            budget -= await self._collect(found, lookup, budget)
        found.pop(keys.migrant_id, None)
        return [_keys_from(document) for document in found.values()]

    async def _collect(self, found: dict[str, Document], query: Document, limit: int) -> int:
        """Add what ``query`` finds to ``found``; how many documents it read."""
        read = 0
        # +1: the person asking may be among them and is dropped afterwards
        async for document in self._people.find(query, _SCORED_FIELDS, limit=limit + 1):
            found.setdefault(str(document["_id"]), document)
            read += 1
        return read


def _ranked(
    keys: PersonKeys, candidates: Iterable[PersonKeys], *, threshold: float, limit: int
) -> list[DuplicateMatch]:
    matches = [m for m in (score(keys, c) for c in candidates) if m.score >= threshold]
    matches.sort(key=lambda m: (-m.score, m.migrant_id))
    return matches[:limit]
