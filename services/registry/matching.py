"""Likely-duplicate matching on a blind index: canonical names, keyed hashes, and a score.

Many of the people we register carry no national id, so duplicates have to be recognised from
what they tell us: a name spelled by whoever wrote it down, an approximate year of birth, a
nationality, perhaps a phone or a passport number. The index must still hold nothing readable,
because erasure has to leave nothing behind, backups included. So the index stores only keyed
hashes (HMAC-SHA-256 under a key derived from the master key, a "blind index"), and fuzziness
has to happen *before* hashing: names are canonicalised so that Mohammed, Muhammad and Md. all
hash alike, and the score compares sets of hashes. Birth year and nationality stay in the clear:
thousands of people share each, so alone they identify no one.

Everything here is pure: no I/O, no clock, no randomness. ``people.py`` stores and queries.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

BLIND_INDEX_INFO = b"bensys registry blind index v1"


@dataclass(frozen=True)
class Weights:
    """Every number the score uses, in one place, with why it has the value it has.

    Identifying evidence (document, phone, name) is combined as a noisy-OR,
    ``1 - prod(1 - e)``: each piece alone can make a likely duplicate, and agreeing pieces
    reinforce each other without the total ever passing 1. Birth year and nationality are
    shared by thousands, so they only *corroborate*: their evidence counts in proportion to
    the identifying evidence (fully from ``support_full`` up) and is worth nothing alone.
    Contradictions (a birth year two or more apart, another nationality) multiply the result.
    """

    document: float = 0.85
    """A document number is issued to one person: alone it makes a strong match (>= 0.8)."""
    phone: float = 0.65
    """Migrants share and pass on phones, so a phone alone is likely (>= 0.6) but not sure."""
    name: float = 0.72
    """Same distinctive name, nothing else known: worth a look (>= 0.7), not a certainty."""
    birth_year_exact: float = 0.25
    birth_year_near: float = 0.10
    """Years are often estimated; one year apart is still weak support."""
    nationality: float = 0.10
    support_full: float = 0.5
    """Identifying evidence from which year and nationality count in full."""
    birth_year_far: float = 0.6
    """Known years two or more apart: a real contradiction, yet estimates can be that wrong."""
    nationality_mismatch: float = 0.6
    """Another nationality: a contradiction, though registrars sometimes pick the wrong one."""
    common_token: float = 0.25
    """"Muhammad", "Begum", "Kumar"... say little about who someone is: a quarter of a token."""
    bare_initial: float = 0.5
    """The same lone initial on both sides ("M. Karim", "M. Karim"): half a token matched."""
    unexplained_initial: float = 0.75
    """A lone initial that fits no word on the other side is nearly as telling as a different
    word: "A. Karim" is probably not "Mohammed Karim"."""
    initial_credit: float = 0.5
    """A lone initial that fits a full name there counts half of what that name would."""
    distinctive_mass: float = 1.0
    """Matched name weight needed for full name evidence: one distinctive token's worth."""
    name_listed: float = 0.5
    """Name strength from which "name" is reported among the matched fields."""


WEIGHTS = Weights()

BLOCKING_FLOOR = round(
    (1 - (1 - WEIGHTS.name) * (1 - WEIGHTS.nationality)) * WEIGHTS.birth_year_far, 3
)
"""The best score a name (with nationality) can reach when known birth years are two or more
apart. ``people.py`` looks people up by name only within a year either side; that loses no
candidate for any threshold above this."""

# --- canonical names -----------------------------------------------------------------------

TRANSLITERATIONS: dict[str, tuple[str, ...]] = {
    # Arabic-origin names as written in Bangladesh, India, Sri Lanka and the Maldives
    "muhammad": (
        "mohammed", "mohammad", "mohamed", "mohamad", "muhammed", "muhamad", "muhamed",
        "mohammod", "muhammod", "mohammud", "mahammad", "mohmmad", "mohmed", "mohd", "md",
        "mhd", "muhd",
    ),
    "abdul": ("abdool", "abdur", "abdus", "abdel", "abd", "abdal"),
    "ahmed": ("ahmad", "ahamed", "ahammed", "ahmod", "ahamad", "ahmet"),
    "hussain": (
        "hossain", "hosain", "husain", "hossen", "hussein", "hosen", "husein", "hossein",
        "hussen", "hosein", "husen",
    ),
    "hasan": ("hassan", "hasaan"),
    "rahman": ("rehman", "rahaman", "rohman", "rahmaan"),
    "islam": ("eslam", "islaam"),
    "uddin": ("udin", "uddeen", "uddine"),
    "alam": ("alom",),
    "haque": ("hoque", "haq", "huq", "hoq", "haque"),
    "miah": ("mia", "mea", "meah", "miya", "miyah"),
    "sheikh": ("shaikh", "shaik", "sheik", "shekh", "sk"),
    "syed": ("sayed", "sayeed", "saiyed", "sayyid", "seyed"),
    "chowdhury": (
        "chowdhuri", "choudhury", "chaudhry", "chaudhary", "choudhary", "chowdury",
        "chaudhuri", "chowdhry", "choudhry",
    ),
    "sarkar": ("sarker", "sircar"),
    "talukder": ("talukdar",),
    "bhuiyan": ("bhuyan", "bhuiya", "bhuian", "bhuiyaan"),
    "mollah": ("molla", "mulla", "mullah"),
    "yusuf": ("yousuf", "yousef", "yousaf", "yusof", "yosuf"),
    "abu": ("abou",),
    "ali": ("aly",),
    "fatima": ("fatema", "fathima", "fatma"),
    "ayesha": ("aisha", "aysha", "ayisha", "ayesa"),
    # women's names and titles
    "begum": ("begom", "begam", "bagum"),
    "khatun": ("khatoon", "khaton"),
    "akter": ("akhter", "akhtar", "aktar", "akther"),
    "mosammat": (
        "mst", "most", "mosammet", "mossammat", "musammat", "mosamat", "mosammot", "mosamot",
    ),
    "nessa": ("nesa", "nisa", "nissa"),
    # Indian, Nepali and Sri Lankan
    "kumar": ("kumara",),
    "sharma": ("sarma",),
    "bahadur": ("bahdur", "bahadar"),
    "bishwakarma": ("bk", "biswakarma", "vishwakarma", "bishwokarma", "vishvakarma"),
    "shrestha": ("srestha", "shresta"),
    "lakshmi": ("laxmi", "luxmi"),
    "devi": ("debi",),
    "pillai": ("pillay",),
    "reddy": ("reddi",),
    "perera": ("pereira",),
    "wickramasinghe": (
        "wickremesinghe", "wikramasinghe", "wickramasingha", "wickremasinghe",
        "wickramasinha",
    ),
}  # fmt: skip
"""Spellings of one name, by its canonical form. Spellings that differ only in doubled letters,
ee/i, oo/u, ph/f or a final h after a vowel need no entry: ``_fold`` already merges them."""

COMMON_TOKENS = frozenset(
    {
        "muhammad", "abdul", "abu", "syed", "sheikh", "mosammat", "uddin", "hussain", "rahman",
        "islam", "ahmed", "ali", "khan", "miah", "alam", "haque", "begum", "khatun", "akter",
        "nessa", "bibi", "kumar", "kumari", "singh", "devi", "bahadur", "lal", "prasad", "das",
        "perera", "fernando", "silva",
    }
)  # fmt: skip
"""Canonical tokens so frequent among the people we serve that sharing one says little."""

HONORIFICS = frozenset({"mr", "mrs", "ms", "miss", "dr", "shri", "smt"})
"""Dropped: they describe the registration, not the person."""

PARTICLES = frozenset({"al", "el", "ul", "ur", "us", "ud", "bin", "binti", "bint", "de", "da"})
"""Dropped: "Abd-ur-Rahman" and "Abdur Rahman", "de Silva" and "Silva" are the same names."""

_APOSTROPHES = re.compile(r"['\u2019\u02bc`\u00b4]")
_VOWELS = frozenset("aeiou")


def _fold(word: str) -> str:
    """Merge Latin spellings that differ only in how a sound was written down."""
    folded = word.replace("ee", "i").replace("oo", "u").replace("ph", "f")
    folded = re.sub(r"(.)\1+", r"\1", folded)
    if len(folded) > 2 and folded[-1] == "h" and folded[-2] in _VOWELS:
        folded = folded[:-1]
    return folded


def _variant_table() -> dict[str, str]:
    table: dict[str, str] = {}
    for canonical, variants in TRANSLITERATIONS.items():
        for spelling in (canonical, *variants):
            key = _fold(spelling)
            if table.setdefault(key, canonical) != canonical:
                raise ValueError(f"{spelling!r} folds into both {table[key]!r} and {canonical!r}")
    return table


_VARIANTS = _variant_table()
_FOLDED_HONORIFICS = frozenset(_fold(h) for h in HONORIFICS) | HONORIFICS
_FOLDED_PARTICLES = frozenset(_fold(p) for p in PARTICLES) | PARTICLES


def _strip_latin_accents(word: str) -> str:
    """Drop accents on Latin letters only: in Bengali, Devanagari, Tamil, Sinhala or Thaana
    the combining marks are vowels, and removing them would change the name."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKD", word):
        if unicodedata.combining(ch) and out and out[-1].isascii():
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def _words(name: str) -> list[str]:
    """Lower-cased words: NFKC, casefold, no joiners, split on anything but letters, marks and
    digits (so "Md.", "M.Karim", "Abdul-Karim" and extra spaces all split alike)."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = _APOSTROPHES.sub("", text)
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        category = unicodedata.category(ch)
        if category == "Cf":  # zero-width joiners vary by keyboard, not by name
            continue
        if category[0] in "LMN":
            current.append(ch)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    return [_strip_latin_accents(w) for w in words]


@dataclass(frozen=True)
class NamePart:
    """One word of a name: its canonical form, the initials it answers to, and whether it was
    given as a bare initial ("M." in "M. Karim")."""

    canonical: str
    initials: frozenset[str]
    bare: bool


def name_parts(name: str) -> list[NamePart]:
    """The words of ``name``, canonicalised, in the order given, without titles or particles."""
    words = _words(name)
    joined: list[str] = []
    for word in words:  # "Salah ud Din" and "Salahuddin" share "uddin"
        if joined and joined[-1] == "ud" and word in {"din", "deen", "dein"}:
            joined[-1] = "uddin"
        else:
            joined.append(word)
    parts: list[NamePart] = []
    for word in joined:
        written = _fold(word) if word.isascii() else word
        if written in _FOLDED_HONORIFICS or written in _FOLDED_PARTICLES:
            continue
        canonical = _VARIANTS.get(written, written)
        if len(canonical) == 1:
            parts.append(NamePart(canonical, frozenset({canonical}), bare=True))
        else:
            parts.append(NamePart(canonical, frozenset({canonical[0], written[0]}), bare=False))
    return parts


def canonical_tokens(name: str) -> list[str]:
    """The full words of ``name`` in canonical form, in order, without bare initials.

    >>> canonical_tokens("Md. Abdul-Kareem  HOSSAIN")
    ['muhammad', 'abdul', 'karim', 'hussain']
    """
    return [p.canonical for p in name_parts(name) if not p.bare]


def initials(name: str) -> frozenset[str]:
    """Every initial ``name`` answers to: the first letter of each word, canonical and as
    written ("Eslam" answers to E and I), and every bare initial given."""
    return frozenset(letter for part in name_parts(name) for letter in part.initials)


def bare_initials(name: str) -> list[str]:
    """The initials given on their own, as in "M. Karim" -> ["m"]."""
    return [p.canonical for p in name_parts(name) if p.bare]


# --- keyed hashes --------------------------------------------------------------------------


def blind_index_key(master_key: bytes) -> bytes:
    """The index key, derived (HKDF-SHA-256) from the master key so the deployment has one
    secret to keep, while index hashes can never be confused with any other use of it."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=BLIND_INDEX_INFO).derive(
        master_key
    )


@dataclass(frozen=True)
class NameBlocks:
    """Keys for *finding* namesakes without reading everyone who shares a word with them.

    Sharing "muhammad" says nothing and sharing "karim" little, but two words given together
    in one name are rare. So people are found by pairs of words, by a distinctive word with
    the initial of another full word (so "M. Karim" finds "Mohammed Karim"), and, when their
    name has a single distinctive word, by that word ("alone"). All are hex HMACs.

    ``stored`` is what a person is found by. A query looks up, most selective first:
    ``pairs`` (only its most selective kind: two distinctive words if it has them, else a
    distinctive word with a common word or with an initial it was given, else two common
    words), then ``alone`` (people whose one distinctive word is one of ours: they have no
    pair to share), then, for a name of one word, ``one_word`` (everyone with that word, which
    only works within birth years, from ``stored_in_year``). Search also looks a one-word name's
    ``lone_tokens`` up among all name tokens. ``specific`` says the name has two distinctive
    words: without a birth year, someone sharing only one of them cannot reach the usual
    threshold on the name alone, so ``alone`` need not be read across all years.
    """

    stored: frozenset[str] = frozenset()
    stored_in_year: frozenset[str] = frozenset()
    pairs: frozenset[str] = frozenset()
    alone: frozenset[str] = frozenset()
    one_word: frozenset[str] = frozenset()
    lone_tokens: frozenset[str] = frozenset()
    specific: bool = False


@dataclass(frozen=True)
class PersonKeys:
    """What the index knows about one person: keyed hashes, birth year and nationality.

    All strings but ``nationality`` are hex HMACs. ``common_tokens`` marks which
    ``name_tokens`` are very common names, so the score can weigh them down (their frequency
    in the index would reveal as much anyway). ``blocks`` are the lookup keys (``NameBlocks``).
    """

    migrant_id: str
    name_tokens: frozenset[str]
    name_initials: frozenset[str]
    initials_only: frozenset[str]
    birth_year: int | None
    nationality: str | None
    phone: str | None
    document: str | None
    common_tokens: frozenset[str] = frozenset()
    blocks: NameBlocks = NameBlocks()


class BlindIndexer:
    """Turns a person's details into ``PersonKeys``: the only place plaintext meets the key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the blind index key must be at least 16 bytes")
        self._key = key

    def _mac(self, kind: str, value: str) -> str:
        # the kind separates domains: a name token can never collide with a phone number
        message = f"{kind}\x1f{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def _blocks(self, blocks: Iterable[str]) -> frozenset[str]:
        return frozenset(self._mac("block", b) for b in blocks)

    def keys_for(
        self,
        *,
        migrant_id: str,
        names: Sequence[str],
        birth_year: int | None,
        nationality: str | None,
        phone: str | None,
        document_number: str | None,
    ) -> PersonKeys:
        tokens: set[str] = set()
        name_initials: set[str] = set()
        given_bare: set[str] = set()
        blocks = _Blocks()
        for name in names:
            parts = name_parts(name)
            tokens.update(p.canonical for p in parts if not p.bare)
            given_bare.update(p.canonical for p in parts if p.bare)
            for part in parts:
                name_initials.update(part.initials)
            blocks.add_name(parts)
        document = _document(document_number)
        return PersonKeys(
            migrant_id=migrant_id,
            name_tokens=frozenset(self._mac("token", t) for t in tokens),
            name_initials=frozenset(self._mac("initial", i) for i in name_initials),
            initials_only=frozenset(self._mac("initial", i) for i in given_bare),
            birth_year=birth_year,
            nationality=nationality.strip().upper() if nationality else None,
            phone=self._mac("phone", phone.strip()) if phone and phone.strip() else None,
            document=self._mac("document", document) if document else None,
            common_tokens=frozenset(self._mac("token", t) for t in tokens & COMMON_TOKENS),
            blocks=NameBlocks(
                stored=self._blocks(blocks.stored),
                stored_in_year=self._blocks(blocks.stored_in_year),
                pairs=self._blocks(blocks.pairs()),
                alone=self._blocks(blocks.alone),
                one_word=self._blocks(blocks.one_word),
                lone_tokens=frozenset(self._mac("token", t) for t in blocks.lone_tokens),
                specific=blocks.specific,
            ),
        )


class _Blocks:
    """The plaintext lookup keys of a person's names, before hashing (see ``NameBlocks``)."""

    def __init__(self) -> None:
        self.stored: set[str] = set()
        self.stored_in_year: set[str] = set()
        self.alone: set[str] = set()
        self.one_word: set[str] = set()
        self.lone_tokens: set[str] = set()
        # from most to least selective: two distinctive words; one with a common word or with
        # an initial we were given; two common words ("Md. Hossain")
        self._tiers: tuple[set[str], set[str], set[str]] = (set(), set(), set())

    def add_name(self, parts: Sequence[NamePart]) -> None:
        full = sorted({p.canonical for p in parts if not p.bare})
        distinctive = [t for t in full if t not in COMMON_TOKENS]
        common = [t for t in full if t in COMMON_TOKENS]
        given_initials = sorted({p.canonical for p in parts if p.bare})
        both_distinctive = {_pair(a, b) for a, b in combinations(distinctive, 2)}
        with_common = {_pair(d, c) for d in distinctive for c in common}
        only_common = set() if distinctive else {_pair(a, b) for a, b in combinations(common, 2)}
        word_initials = {  # a distinctive word with another full word's initial
            _initial(word, letter)
            for word in distinctive
            for other in parts
            if not other.bare and other.canonical != word
            for letter in other.initials
        }
        initial_probes = {  # our "M." may stand for any of their words starting with M
            _initial(word, letter) for word in distinctive for letter in given_initials
        }
        self.stored |= both_distinctive | with_common | only_common | word_initials
        self.stored_in_year.update(_has(word) for word in distinctive)
        self.alone.update(_alone(word) for word in distinctive)
        self._tiers[0].update(both_distinctive)
        self._tiers[1].update(with_common | initial_probes)
        self._tiers[2].update(only_common)
        if len(distinctive) == 1:
            # the one distinctive word stands for the person: "Karim", "M. Karim", "Md. Karim
            # Hossain" are found by anyone with a Karim in their name
            self.stored.add(_alone(distinctive[0]))
            self.lone_tokens.add(distinctive[0])
            if len(parts) == 1:  # "Karim" and nothing else: every Karim of those years
                self.one_word.add(_has(distinctive[0]))

    def pairs(self) -> set[str]:
        return next((tier for tier in self._tiers if tier), set())

    @property
    def specific(self) -> bool:
        return bool(self._tiers[0])


def _has(word: str) -> str:
    return f"has\x1e{word}"


def _alone(word: str) -> str:
    return f"alone\x1e{word}"


def _initial(word: str, letter: str) -> str:
    return f"initial\x1e{word}\x1e{letter}"


def _pair(a: str, b: str) -> str:
    first, second = sorted((a, b))
    return f"pair\x1e{first}\x1e{second}"


def _document(number: str | None) -> str | None:
    if number is None:
        return None
    return "".join(ch for ch in number.upper() if ch.isalnum()) or None


# --- the score -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DuplicateMatch:
    migrant_id: str
    score: float
    matched: tuple[str, ...]
    """Among "name", "initials", "birth_year", "nationality", "phone", "document"."""


@dataclass(frozen=True)
class _NameOverlap:
    similarity: float
    matched_mass: float
    initials_used: bool

    @property
    def strength(self) -> float:
        """Similarity, scaled down when what matched is only common names."""
        return self.similarity * min(1.0, self.matched_mass / WEIGHTS.distinctive_mass)


def _name_overlap(a: PersonKeys, b: PersonKeys, w: Weights = WEIGHTS) -> _NameOverlap:
    """A weighted Jaccard of the two names' tokens in which lone initials count partially.

    Sets, so word order never matters. A bare initial on one side is aligned with an
    unmatched full token on the other that answers to it; since hashes hide which token that
    is, it is credited at the mean weight of the other side's unmatched tokens.
    """
    common = a.common_tokens | b.common_tokens

    def weight(token: str) -> float:
        return w.common_token if token in common else 1.0

    shared = a.name_tokens & b.name_tokens
    only_a, only_b = a.name_tokens - shared, b.name_tokens - shared
    both_bare = a.initials_only & b.initials_only
    matched = sum(weight(t) for t in shared) + w.bare_initial * len(both_bare)
    union = (
        matched + sum(weight(t) for t in only_a) + sum(weight(t) for t in only_b)
    )  # aligned pairs are counted once, through the full token's weight
    aligned_total = 0
    for bare, other_initials, unmatched in (
        (a.initials_only - both_bare, b.name_initials, only_b),
        (b.initials_only - both_bare, a.name_initials, only_a),
    ):
        aligned = min(len(bare & other_initials), len(unmatched))
        if aligned:
            mean = sum(weight(t) for t in unmatched) / len(unmatched)
            matched += w.initial_credit * mean * aligned
        union += w.unexplained_initial * (len(bare) - aligned)
        aligned_total += aligned
    if union <= 0:
        return _NameOverlap(0.0, 0.0, initials_used=False)
    return _NameOverlap(
        similarity=min(1.0, matched / union),
        matched_mass=matched,
        initials_used=bool(both_bare) or aligned_total > 0,
    )


def score(  # noqa: PLR0912 - one branch per kind of evidence reads best
    candidate: PersonKeys, other: PersonKeys, weights: Weights = WEIGHTS
) -> DuplicateMatch:
    """How likely ``other`` is the same person as ``candidate``, in [0, 1], and why."""
    w = weights
    matched: list[str] = []
    identity: list[float] = []
    name = _name_overlap(candidate, other, w)
    if name.strength > 0:
        identity.append(w.name * name.strength)
        if name.strength >= w.name_listed:
            matched.append("name")
        if name.initials_used:
            matched.append("initials")
    if candidate.document and candidate.document == other.document:
        identity.append(w.document)
    if candidate.phone and candidate.phone == other.phone:
        identity.append(w.phone)
    identified = _noisy_or(identity)

    support: list[float] = []
    factor = 1.0
    if candidate.birth_year is not None and other.birth_year is not None:
        apart = abs(candidate.birth_year - other.birth_year)
        if apart <= 1:
            support.append(w.birth_year_exact if apart == 0 else w.birth_year_near)
            matched.append("birth_year")
        else:
            factor *= w.birth_year_far
    if candidate.nationality and other.nationality:
        if candidate.nationality == other.nationality:
            support.append(w.nationality)
            matched.append("nationality")
        else:
            factor *= w.nationality_mismatch
    if candidate.phone and candidate.phone == other.phone:
        matched.append("phone")
    if candidate.document and candidate.document == other.document:
        matched.append("document")

    corroboration = _noisy_or(support) * min(1.0, identified / w.support_full)
    total = factor * _noisy_or([identified, corroboration])
    return DuplicateMatch(other.migrant_id, min(1.0, max(0.0, total)), tuple(matched))


def _noisy_or(evidence: Iterable[float]) -> float:
    doubt = 1.0
    for e in evidence:
        doubt *= 1.0 - e
    return 1.0 - doubt
