"""Forged, altered and damaged credentials: more than ten thousand of them, none accepted.

Fifty genuine cards are mutated every way a forger or a scratched QR code could: bit flips
before and after compression, signatures swapped or made by keys nobody trusts, algorithm
confusion, truncation, trailing bytes, foreign characters, zlib bombs, and payloads altered
and re-signed. Every mutation goes through ``read_credential`` and ``OfflineVerifier.verify``;
each must be refused, for a reason its kind allows, and neither may raise anything else.

The mutations are drawn from a seeded ``random.Random`` and the cards' keys are fixed, so a
failure names a mutation that the next run makes again.
"""

from __future__ import annotations

import random
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.bencard import (
    ALPHABET,
    CardClaims,
    CredentialRejected,
    OfflineVerifier,
    SigningKey,
    base45,
    card_number_of,
    issue_credential,
    jwks,
    read_credential,
    sign_revocation_list,
    signing_key_from_bytes,
)
from shared.bencard.numbers import is_canonical_card_number

SEED = 20_260_501
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
LIST_ISSUED = datetime(2020, 1, 1, tzinfo=UTC)
"""The campaign's revocation list predates every instant it checks cards at."""
FORGED = frozenset({"malformed", "unsupported_algorithm", "unknown_key", "bad_signature"})
MALFORMED = frozenset({"malformed"})
TRUSTED = signing_key_from_bytes(bytes(range(32)))
IMPOSTOR = SigningKey(TRUSTED.kid, Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33))))
"""Not trusted, but claims the trusted key's kid."""
STRANGER = signing_key_from_bytes(bytes(range(2, 34)))
"""Not trusted, under its own kid."""
NAMES = [
    "Ayesha Begum",
    "Mohammad Abdur Rahman Chowdhury Talukdar",
    "আয়েশা বেগম",
    "মোহাম্মদ করিম উদ্দিন",
    "Suresh Kumar Sharma",
    "N",
    "Nimal Perera",
    "Pasang Tamang",
]
SEXES: list[Any] = ["female", "male", "other", "undisclosed"]


# --- genuine cards, and the bytes a forger works on ------------------------------------------


@dataclass(frozen=True)
class Genuine:
    claims: CardClaims
    text: str
    compressed: bytes
    cose: bytes
    protected: bytes
    payload: bytes
    signature: bytes

    @property
    def payload_map(self) -> dict[Any, Any]:
        claims: dict[Any, Any] = cbor2.loads(self.payload)
        return claims


def seeded_card_number(rnd: random.Random) -> str:
    """A valid card number drawn from ``rnd``, so that a failing campaign runs again as it was."""
    while True:
        body = "".join(rnd.choices(ALPHABET, k=10))
        for check in ALPHABET:
            if is_canonical_card_number(body + check):
                return body + check


def genuine_card(rnd: random.Random, n: int) -> Genuine:
    claims = CardClaims(
        card_number=seeded_card_number(rnd),
        name=NAMES[n % len(NAMES)],
        sex=SEXES[n % len(SEXES)],
        birth_year=None if n % 5 == 0 else rnd.randint(1950, 2008),
        issued_at=NOW - timedelta(days=rnd.randint(0, 400)),
        expires_at=NOW + timedelta(days=rnd.randint(1, 700)),
        issuer="MRC BenSys",
    )
    text = issue_credential(claims, TRUSTED)
    compressed = base45.decode(text[4:])
    cose = zlib.decompress(compressed)
    protected, _, payload, signature = cbor2.loads(cose).value
    return Genuine(claims, text, compressed, cose, protected, payload, signature)


def qr(cose: bytes) -> str:
    """What a forger prints: the bytes compressed and encoded as the issuer does."""
    return "BC1:" + base45.encode(zlib.compress(cose))


def sign1(protected: Any, payload: Any, signature: Any, unprotected: Any = None) -> bytes:
    value = [protected, {} if unprotected is None else unprotected, payload, signature]
    return cbor2.dumps(cbor2.CBORTag(18, value))


def signature_by(key: SigningKey, protected: bytes, payload: bytes) -> bytes:
    return key.private_key.sign(cbor2.dumps(["Signature1", protected, b"", payload]))


def signed(key: SigningKey, header: dict[Any, Any], claims: Any, unprotected: Any = None) -> str:
    """A credential with this header and these claims, properly signed by ``key``."""
    protected, payload = cbor2.dumps(header), cbor2.dumps(claims)
    return qr(sign1(protected, payload, signature_by(key, protected, payload), unprotected))


def header(key: SigningKey = TRUSTED) -> dict[Any, Any]:
    return {1: -8, 4: key.kid.encode()}


# --- mutations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mutation:
    kind: str
    text: str
    allowed: frozenset[str]
    now: datetime = NOW
    only_offline: bool = False
    """A genuine card the list revokes: ``read_credential`` rightly accepts it."""


Forge = Callable[[random.Random, list[Genuine]], Iterator[Mutation]]


def bit_flips_in_compressed_bytes(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    for card in cards:
        for _ in range(60):
            flipped = flip_a_bit(rnd, card.compressed)
            if inflates_to(flipped, card.cose):
                continue  # a padding bit zlib ignores: the same signed bytes, no forgery
            yield Mutation("bit flip, compressed", "BC1:" + base45.encode(flipped), FORGED)


def bit_flips_in_cose_bytes(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    for card in cards:
        for _ in range(60):
            yield Mutation("bit flip, COSE", qr(flip_a_bit(rnd, card.cose)), FORGED)


def flip_a_bit(rnd: random.Random, data: bytes) -> bytes:
    bit = rnd.randrange(len(data) * 8)
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << bit % 8
    return bytes(flipped)


def inflates_to(data: bytes, expected: bytes) -> bool:
    inflater = zlib.decompressobj()
    try:
        out = inflater.decompress(data)
    except zlib.error:
        return False
    return out == expected and inflater.eof and not inflater.unused_data


def other_signatures(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    bad = frozenset({"bad_signature"})
    for card in cards:
        for other in rnd.sample([c for c in cards if c is not card], 20):
            swapped = sign1(card.protected, card.payload, other.signature)
            yield Mutation("signature of another card", qr(swapped), bad)
        yield Mutation("impostor key, same kid", issue_credential(card.claims, IMPOSTOR), bad)
        yield Mutation("signature cut short", qr(sign1(card.protected, card.payload, b"")), bad)


def algorithm_confusion(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    unsupported = frozenset({"unsupported_algorithm"})
    kid = TRUSTED.kid.encode()
    for card in cards:
        claims = card.payload_map
        # signed by the trusted key itself: the header alone must make these fail
        for alg in (-7, 5, "none", "EdDSA", 0, -8.0, True, None):
            bad_header = {4: kid} if alg is None else {1: alg, 4: kid}
            yield Mutation(f"alg {alg!r}", signed(TRUSTED, bad_header, claims), unsupported)
        yield Mutation("alg only unprotected", signed(TRUSTED, {4: kid}, claims, {1: -8}), FORGED)
        yield Mutation("kid unprotected", signed(TRUSTED, {1: -8}, claims, {4: kid}), MALFORMED)
        yield Mutation("kid in both", signed(TRUSTED, header(), claims, {4: kid}), MALFORMED)


def unknown_keys(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    unknown = frozenset({"unknown_key"})
    for card in cards:
        yield Mutation("stranger's key", issue_credential(card.claims, STRANGER), unknown)
        made_up = {1: -8, 4: rnd.randbytes(12).hex().encode()}
        yield Mutation("made-up kid", signed(TRUSTED, made_up, card.payload_map), unknown)


def out_of_date(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    expired, early = frozenset({"expired"}), frozenset({"not_yet_valid"})
    for card in cards:
        issued, expires = card.claims.issued_at, card.claims.expires_at
        later = timedelta(seconds=rnd.randint(1, 10**8))
        yield Mutation("expired", card.text, expired, now=expires)
        yield Mutation("expired long ago", card.text, expired, now=expires + later)
        yield Mutation("not yet valid", card.text, early, now=issued - timedelta(seconds=1))


def truncations(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    for card in rnd.sample(cards, 10):
        for size in range(len(card.text)):
            yield Mutation("truncated text", card.text[:size], MALFORMED)
        for size in range(len(card.compressed)):
            cut = "BC1:" + base45.encode(card.compressed[:size])
            yield Mutation("truncated compressed bytes", cut, MALFORMED)
        for size in range(len(card.cose)):
            yield Mutation("truncated COSE", qr(card.cose[:size]), MALFORMED)


def trailing_bytes(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    for card in cards:
        extra = rnd.randbytes(rnd.randint(1, 5))
        yield Mutation("trailing characters", card.text + "00", MALFORMED)
        yield Mutation("trailing characters", card.text + "000", MALFORMED)
        yield Mutation(
            "bytes after the zlib stream",
            "BC1:" + base45.encode(card.compressed + extra),
            MALFORMED,
        )
        yield Mutation("bytes after the COSE", qr(card.cose + extra), MALFORMED)
        yield Mutation("CBOR item after the COSE", qr(card.cose + cbor2.dumps(0)), MALFORMED)


def foreign_characters(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    foreign = "abcxyz#&_~!?\n\t\x00\u00e9\u20ac\u30a2\u09ac"
    for card in cards:
        for _ in range(10):
            at = rnd.randrange(4, len(card.text))
            text = card.text[:at] + rnd.choice(foreign) + card.text[at + 1 :]
            yield Mutation("character outside Base45", text, MALFORMED)


def wrong_prefixes(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    for card in rnd.sample(cards, 25):
        rest = card.text[4:]
        for prefix in ("HC1:", "bc1:", "BC2:", "", "BC1", " BC1:", "BC1:BC1:"):
            yield Mutation("wrong prefix", prefix + rest, MALFORMED)


def bombs(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    card = rnd.choice(cards)
    yield Mutation("zlib bomb, 10 MB", zlib_bomb(10_000_000), MALFORMED)
    yield Mutation("zlib bomb, 1 MB", zlib_bomb(1_000_000), MALFORMED)
    padded = "BC1:" + base45.encode(zlib.compress(card.cose + bytes(3_000_000), 9))
    yield Mutation("genuine COSE, 3 MB of zeros after", padded, MALFORMED)
    huge_payload = sign1(card.protected, bytes(1_000_000), card.signature)
    yield Mutation("1 MB payload", "BC1:" + base45.encode(zlib.compress(huge_payload, 9)), FORGED)


def zlib_bomb(size: int) -> str:
    return "BC1:" + base45.encode(zlib.compress(bytes(size), 9))


def tampered_and_resigned(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    bad, unknown = frozenset({"bad_signature"}), frozenset({"unknown_key"})
    for card in cards:
        claims = card.payload_map
        changes: list[dict[Any, Any]] = [
            claims | {4: claims[4] + 10 * 365 * 86400},
            claims | {169: claims[169] | {4: "Someone Else"}},
            claims | {169: claims[169] | {1: seeded_card_number(rnd)}},
            claims | {169: claims[169] | {8: "1930"}},  # genuine cards are born 1950 or later
        ]
        for tampered in changes:
            yield Mutation("tampered, impostor", signed(IMPOSTOR, header(), tampered), bad)
            yield Mutation(
                "tampered, stranger", signed(STRANGER, header(STRANGER), tampered), unknown
            )
            bare = cbor2.dumps(tampered)
            yield Mutation(
                "tampered, old signature", qr(sign1(card.protected, bare, card.signature)), bad
            )


def structure(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    """COSE_Sign1 shapes the reader must refuse, most of them validly signed."""
    kid = TRUSTED.kid.encode()
    for card in rnd.sample(cards, 30):
        p, m, s = card.protected, card.payload, card.signature
        shapes = [
            cbor2.dumps(cbor2.CBORTag(17, [p, {}, m, s])),
            cbor2.dumps([p, {}, m, s]),
            cbor2.dumps(cbor2.CBORTag(18, [p, m, s])),
            cbor2.dumps(cbor2.CBORTag(18, [p, {}, m, s, b""])),
            cbor2.dumps(cbor2.CBORTag(61, cbor2.CBORTag(18, [p, {}, m, s]))),
            cbor2.dumps(cbor2.CBORTag(55799, cbor2.CBORTag(18, [p, {}, m, s]))),
            sign1(p.decode("latin-1"), m, s),
            sign1(p, m, s, []),
            sign1(p, m, s, {4: kid}),
            sign1(p, cbor2.loads(m), s),
            sign1(p, m, s.hex()),
            sign1(cbor2.loads(p), m, s),
            b"\xd8\x12" + card.cose[1:],  # tag 18 in a long form
            b"\xd2\x98\x04" + card.cose[2:],  # four elements, in a long form
            long_form_signature(card),
            b"\xd2\x9f" + card.cose[2:] + b"\xff",  # an indefinite-length array
        ]
        for shape in shapes:
            yield Mutation("COSE_Sign1 shape", qr(shape), MALFORMED)
        protected_headers = [
            cbor2.dumps([1, -8, 4, kid]),
            b"\xff\x00",
            b"",
            cbor2.dumps({1: -8, 4: kid, 2: [1]}),
            cbor2.dumps({4: kid, 1: -8}),
            cbor2.dumps({True: -8, 4: kid}),
            cbor2.dumps({1: -8, 4: kid.decode()}),
            b"\xa2\x01\x38\x07\x04" + cbor2.dumps(kid),  # -8 in a long form
            cbor2.dumps({1: -8, 4: kid}) + b"\x00",
        ]
        for protected in protected_headers:
            resigned = sign1(protected, m, signature_by(TRUSTED, protected, m))
            yield Mutation("protected header shape", qr(resigned), FORGED)


def long_form_signature(card: Genuine) -> bytes:
    """The genuine COSE with the signature's length written in two bytes instead of one."""
    cut = len(card.cose) - 64 - 2
    assert card.cose[cut : cut + 2] == b"\x58\x40"
    return card.cose[:cut] + b"\x59\x00\x40" + card.signature


def issuer_mistakes(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    """Claims our issuer never writes, signed by the trusted key: refused all the same."""
    for card in rnd.sample(cards, 40):
        c, i = card.payload_map, card.payload_map[169]
        wrong_claims: list[Any] = [
            c | {7: b"cti"},
            {k: v for k, v in c.items() if k != 4},
            c | {6: str(c[6])},
            c | {4: float(c[4])},
            c | {5: c[5] + 1},
            c | {4: c[6]},
            c | {1: b"MRC"},
            c | {169: i | {4: ""}},
            c | {169: i | {4: b"name"}},
            c | {169: i | {8: 1990}},
            c | {169: i | {8: "199O"}},
            c | {169: i | {8: "\u0661\u0669\u0669\u0660"}},
            c | {169: i | {9: 4}},
            c | {169: i | {9: True}},
            c | {169: i | {2: "extra"}},
            c | {169: {k: v for k, v in i.items() if k != 4}},
            c | {169: i | {1: i[1].lower()}},
            c | {169: i | {1: i[1][:-1] + ("2" if i[1][-1] != "2" else "3")}},
            c | {169: [i[1], i[4]]},
            [c[1], c[4]],
            {True if k == 1 else k: v for k, v in c.items()},
        ]
        for claims in wrong_claims:
            yield Mutation("issuer mistake", signed(TRUSTED, header(), claims), MALFORMED)


def garbage(rnd: random.Random, cards: list[Genuine]) -> Iterator[Mutation]:
    for _ in range(1_000):
        size = rnd.choice([0, 1, 2, 3]) + 3 * rnd.randint(0, 200)
        text = "".join(rnd.choice(base45.ALPHABET) for _ in range(size))
        yield Mutation("random Base45", "BC1:" + text, MALFORMED)
    for _ in range(300):
        yield Mutation("random compressed bytes", qr(rnd.randbytes(rnd.randint(0, 400))), FORGED)
    for _ in range(300):
        yield Mutation("random CBOR", qr(cbor2.dumps(random_value(rnd, 3))), MALFORMED)


TAGS = [18, 18, 17, 24, 61, 0, 1, 2, 4, 5, 25, 28, 29, 30, 35, 256, 258, 55799]
"""COSE_Sign1 and its neighbours, and tags that cbor2 turns into dates, big numbers, fractions,
regular expressions, sets and shared references: all decoded before anything is checked."""


def random_value(rnd: random.Random, depth: int) -> Any:
    simple = [rnd.randint(-(2**70), 2**70), rnd.randbytes(rnd.randint(0, 70)), "text", None]
    if depth == 0:
        return rnd.choice(simple)
    nested = [
        [random_value(rnd, depth - 1) for _ in range(rnd.randint(0, 5))],
        {rnd.randint(-10, 200): random_value(rnd, depth - 1) for _ in range(rnd.randint(0, 5))},
        cbor2.CBORTag(rnd.choice(TAGS), random_value(rnd, depth - 1)),
    ]
    return rnd.choice(simple + nested)


FORGES: list[Forge] = [
    bit_flips_in_compressed_bytes,
    bit_flips_in_cose_bytes,
    other_signatures,
    algorithm_confusion,
    unknown_keys,
    out_of_date,
    truncations,
    trailing_bytes,
    foreign_characters,
    wrong_prefixes,
    bombs,
    tampered_and_resigned,
    structure,
    issuer_mistakes,
    garbage,
]


# --- the campaign ----------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Campaign:
    genuine: list[Genuine]
    revoked: list[Genuine]
    tried: Counter[str] = field(default_factory=Counter)
    """Mutations tried, by kind."""
    forged: Counter[str] = field(default_factory=Counter)
    """Mutations tried, by the forge that made them."""
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0


def refusal_of(mutation: Mutation, verifier: OfflineVerifier, clock: Clock) -> str | None:
    """None when both readers refuse the mutation as its kind allows; else what went wrong."""
    keys = {TRUSTED.kid: TRUSTED.public_key}
    if not mutation.only_offline:
        try:
            read_credential(mutation.text, keys, now=mutation.now)
        except CredentialRejected as rejected:
            if rejected.reason not in mutation.allowed:
                return f"read_credential refused it as {rejected.reason}"
        except Exception as error:  # the failure this campaign looks for
            return f"read_credential raised {error!r}"
        else:
            return "read_credential ACCEPTED it"
    clock.now = mutation.now
    try:
        result = verifier.verify(mutation.text)
    except Exception as error:  # the failure this campaign looks for
        return f"OfflineVerifier.verify raised {error!r}"
    if result.valid or result.status not in mutation.allowed or result.claims is not None:
        return f"OfflineVerifier.verify answered {result}"
    return None


@pytest.fixture(scope="module")
def campaign() -> Campaign:
    rnd = random.Random(SEED)
    cards = [genuine_card(rnd, n) for n in range(50)]
    revoked = [genuine_card(rnd, n) for n in range(20)]
    clock = Clock()
    document = sign_revocation_list(
        [card.claims.card_number for card in revoked], TRUSTED, issued_at=LIST_ISSUED
    )
    verifier = OfflineVerifier(
        jwks([TRUSTED.public_key]), document, max_list_age=timedelta(days=3650 * 3), now=clock
    )
    result = Campaign(cards, revoked)
    mutations = [(forge.__name__, m) for forge in FORGES for m in forge(rnd, cards)]
    mutations += [
        ("revocations", Mutation("revoked", card.text, frozenset({"revoked"}), only_offline=True))
        for card in revoked
    ]
    started = time.perf_counter()
    for forge, mutation in mutations:
        result.tried[mutation.kind] += 1
        result.forged[forge] += 1
        failure = refusal_of(mutation, verifier, clock)
        if failure is not None:
            result.failures.append(f"{mutation.kind}: {failure}\n    {mutation.text[:300]!r}")
    result.seconds = time.perf_counter() - started
    # the genuine cards, through the same verifier, at the same instant
    clock.now = NOW
    result.tried["genuine, accepted"] = sum(verifier.verify(c.text).valid for c in cards)
    return result


def test_every_genuine_card_is_accepted(campaign: Campaign) -> None:
    # given fifty genuine cards of every sex, with and without a year, some names in Bengali
    keys = {TRUSTED.kid: TRUSTED.public_key}
    # then each reads back as issued, and the offline verifier accepts every one
    for card in campaign.genuine:
        assert read_credential(card.text, keys, now=NOW) == card.claims
    assert campaign.tried["genuine, accepted"] == len(campaign.genuine) == 50


def test_no_mutated_credential_is_accepted_and_none_raises_anything_else(
    campaign: Campaign,
) -> None:
    # when every mutation is read by read_credential and by OfflineVerifier.verify
    # then each is refused, for a reason its kind allows, and nothing else is ever raised
    assert not campaign.failures, "\n".join(campaign.failures[:20])


def test_the_campaign_tries_more_than_ten_thousand_mutations_of_every_kind(
    campaign: Campaign,
) -> None:
    tried = {kind: n for kind, n in campaign.tried.items() if kind != "genuine, accepted"}
    assert sum(tried.values()) == campaign.forged.total() >= 10_000, tried
    for forge in FORGES:
        assert campaign.forged[forge.__name__] > 0, forge.__name__
    for kind in (
        "bit flip, compressed",
        "bit flip, COSE",
        "signature of another card",
        "impostor key, same kid",
        "alg -7",
        "alg 5",
        "alg 'none'",
        "alg None",
        "kid unprotected",
        "made-up kid",
        "expired",
        "not yet valid",
        "revoked",
        "truncated text",
        "trailing characters",
        "character outside Base45",
        "wrong prefix",
        "zlib bomb, 10 MB",
        "tampered, impostor",
        "COSE_Sign1 shape",
        "issuer mistake",
    ):
        assert tried.get(kind, 0) > 0, kind
    assert tried["bit flip, compressed"] + tried["bit flip, COSE"] > 5_000


@pytest.mark.parametrize("size", [10_000_000, 1_000_000])
def test_a_zlib_bomb_is_refused_without_being_inflated(size: int) -> None:
    # given a QR text whose compressed bytes inflate to megabytes of zeros
    bomb = zlib_bomb(size)
    # when it is read, with memory allocations traced
    tracemalloc.start()
    try:
        with pytest.raises(CredentialRejected) as rejected:
            read_credential(bomb, {TRUSTED.kid: TRUSTED.public_key}, now=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # then it is refused as malformed having held a few kilobytes, never the bomb
    assert rejected.value.reason == "malformed"
    assert peak < 200_000


def test_a_forged_card_still_names_the_card_it_pretends_to_be(campaign: Campaign) -> None:
    # given a card re-signed with an impostor key, so that it will not verify
    card = campaign.genuine[0]
    forged = issue_credential(card.claims, IMPOSTOR)
    # then the number it claims can be logged, unverified, to follow up the forgery
    assert card_number_of(forged) == card.claims.card_number
