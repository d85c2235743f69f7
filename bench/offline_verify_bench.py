"""Offline BenCard checks: ``OfflineVerifier.verify`` against the bare Ed25519 verification.

A health centre's device checks each card it is shown with ``OfflineVerifier.verify``: Base45,
zlib, COSE and claims parsing, the signature, the dates and the revocation list. The raw limit
is ``Ed25519PublicKey.verify`` of the same signatures over the same Sig_structure bytes,
prepared beforehand, in the same process and run: the ratio says what everything but the
signature costs, and travels between machines far better than checks per second. The target
is 0.8 or more. Nothing is cached between credentials; every round checks every credential.

Both are timed alternately, a hundred credentials one way then the same hundred the other
(this machine is shared, so its speed drifts within seconds); each rate is the best round's,
and the ratio is the median of the rounds' own ratios.

``python -m bench.offline_verify_bench [--credentials N] [--rounds R]`` prints the Markdown
section.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from shared.bencard import (
    CardClaims,
    OfflineVerifier,
    SigningKey,
    base45,
    issue_credential,
    jwks,
    new_card_number,
    new_signing_key,
    read_credential,
    sign_revocation_list,
)
from shared.bencard.credential import PREFIX

SEED = 20_260_501
NOW = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)
MAX_LIST_AGE = timedelta(days=7)
CHUNK = 100
"""Credentials timed one way, then the same ones the other way: both see the machine alike."""
REVOKED = 2_000
"""Cards on the revocation list: more than a programme revokes in its first years."""
GIVEN = ("Mohammad", "Abdul", "Ayesha", "Fatema", "Rahim", "Suresh", "Anjali", "Kamal", "Nasrin")
FAMILY = ("Rahman", "Hossain", "Begum", "Chowdhury", "Khatun", "Sharma", "Perera", "Tamang")
BENGALI = ("মোহাম্মদ করিম", "আয়েশা বেগম", "রহিম উদ্দিন")


def genuine_credentials(rnd: random.Random, count: int, key: SigningKey) -> list[str]:
    """Credentials as the cards service issues them: names of 10 to 40 characters, some in
    Bengali script, every sex, some without a year of birth."""
    credentials: list[str] = []
    for n in range(count):
        if n % 10 == 0:
            name = rnd.choice(BENGALI)
        else:
            name = " ".join(rnd.choice(GIVEN + FAMILY) for _ in range(rnd.randint(2, 4)))
        claims = CardClaims(
            card_number=new_card_number(),
            name=name[:40],
            sex=rnd.choice(("female", "male", "other", "undisclosed")),
            birth_year=None if n % 7 == 0 else rnd.randint(1960, 2008),
            issued_at=NOW - timedelta(days=rnd.randint(1, 300)),
            expires_at=NOW + timedelta(days=rnd.randint(30, 700)),
            issuer="MRC BenSys",
        )
        credentials.append(issue_credential(claims, key))
    return credentials


@dataclass(frozen=True)
class Signed:
    """What the raw limit verifies: one credential's signature and Sig_structure bytes."""

    signature: bytes
    message: bytes


def signed_parts(credentials: Sequence[str]) -> list[Signed]:
    """Unpacked with cbor2 and zlib directly, not with the verifier's own code."""
    parts = []
    for credential in credentials:
        cose = cbor2.loads(zlib.decompress(base45.decode(credential[len(PREFIX) :])))
        protected, _, payload, signature = cose.value
        message = cbor2.dumps(["Signature1", protected, b"", payload])
        parts.append(Signed(signature, message))
    return parts


@dataclass(frozen=True)
class VerifyFigures:
    credentials: int
    rounds: int
    average_chars: float
    verify_seconds: list[float]
    raw_seconds: list[float]
    steps_seconds: dict[str, float]
    """Best round of each step alone, over all credentials."""

    @property
    def verify_rate(self) -> float:
        return self.credentials / min(self.verify_seconds)

    @property
    def raw_rate(self) -> float:
        return self.credentials / min(self.raw_seconds)

    @property
    def ratio(self) -> float:
        """Median over rounds of raw seconds / verify seconds (1.0: parsing is free)."""
        return statistics.median(
            raw / verify for raw, verify in zip(self.raw_seconds, self.verify_seconds, strict=True)
        )

    def microseconds(self, seconds: float) -> float:
        return seconds / self.credentials * 1e6


def best_of(rounds: int, work: Callable[[], object]) -> float:
    seconds = []
    for _ in range(rounds):
        gc.collect()
        started = time.perf_counter()
        work()
        seconds.append(time.perf_counter() - started)
    return min(seconds)


def measure(credentials: int = 2_000, rounds: int = 7) -> VerifyFigures:
    """Issue ``credentials`` genuine cards, then time both ways in alternating rounds."""
    rnd = random.Random(SEED)
    key = new_signing_key()
    texts = genuine_credentials(rnd, credentials, key)
    revocations = sign_revocation_list(
        (new_card_number() for _ in range(REVOKED)), key, issued_at=NOW
    )
    verifier = OfflineVerifier(
        jwks([key.public_key]), revocations, max_list_age=MAX_LIST_AGE, now=lambda: NOW
    )
    if not all(verifier.verify(text).valid for text in texts):
        raise RuntimeError("a genuine credential was refused: the bench would time rejections")
    public_key: Ed25519PublicKey = key.public_key
    parts = signed_parts(texts)
    keys = {key.kid: public_key}

    verify_seconds: list[float] = []
    raw_seconds: list[float] = []
    for n in range(rounds):
        print(f"offline verify bench: round {n + 1} of {rounds}", file=sys.stderr, flush=True)
        verify_round = raw_round = 0.0
        gc.collect()
        for start in range(0, credentials, CHUNK):
            chunk_texts, chunk_parts = texts[start : start + CHUNK], parts[start : start + CHUNK]
            started = time.perf_counter()
            for text in chunk_texts:
                verifier.verify(text)
            between = time.perf_counter()
            for part in chunk_parts:
                public_key.verify(part.signature, part.message)
            verify_round += between - started
            raw_round += time.perf_counter() - between
        verify_seconds.append(verify_round)
        raw_seconds.append(raw_round)
    bodies = [text[len(PREFIX) :] for text in texts]
    compressed = [base45.decode(body) for body in bodies]
    steps = {
        "Base45 decode": best_of(rounds, lambda: [base45.decode(body) for body in bodies]),
        "zlib inflate": best_of(rounds, lambda: [zlib.decompress(data) for data in compressed]),
        "`read_credential` (all of it)": best_of(
            rounds, lambda: [read_credential(text, keys, now=NOW) for text in texts]
        ),
    }
    return VerifyFigures(
        credentials=credentials,
        rounds=rounds,
        average_chars=sum(map(len, texts)) / len(texts),
        verify_seconds=verify_seconds,
        raw_seconds=raw_seconds,
        steps_seconds=steps,
    )


def run(credentials: int = 2_000, rounds: int = 7) -> str:
    """Measure, and return the Markdown section."""
    return render(measure(credentials, rounds))


def render(f: VerifyFigures) -> str:
    raw_us = f.microseconds(min(f.raw_seconds))
    verify_us = f.microseconds(min(f.verify_seconds))
    lines = [
        "## Offline card checks",
        "",
        f"`OfflineVerifier.verify` on {f.credentials:,} genuine credentials (QR text of "
        f"{f.average_chars:.0f} characters on average; names up to 40 characters, a tenth in "
        f"Bengali script), with a revocation list of {REVOKED:,} cards. Raw limit: "
        "`Ed25519PublicKey.verify` of the same signatures over the same Sig_structure bytes, "
        f"prepared beforehand. Timed alternately by a hundred credentials, in {f.rounds} rounds; "
        "rates from the best round, the ratio is the median of the rounds' ratios. Target: "
        "ratio 0.8 or more.",
        "",
        "| checks/s | BenSys (`OfflineVerifier.verify`) | raw (`Ed25519PublicKey.verify`) "
        "| ratio |",
        "|---|---:|---:|---:|",
        f"| {f.credentials:,} credentials | {f.verify_rate:,.0f} | {f.raw_rate:,.0f} | "
        f"{f.ratio:.3f} |",
        "",
        "Per credential, each step timed alone (best round):",
        "",
        "| step | µs |",
        "|---|---:|",
        f"| Ed25519 verify (raw) | {raw_us:.1f} |",
        *(
            f"| {step} | {f.microseconds(seconds):.1f} |"
            for step, seconds in f.steps_seconds.items()
        ),
        f"| `OfflineVerifier.verify` (all of it) | {verify_us:.1f} |",
        f"| everything but the signature | {verify_us - raw_us:.1f} |",
        "",
    ]
    return "\n".join(lines)


def parse_options(argv: Sequence[str]) -> tuple[int, int]:
    parser = argparse.ArgumentParser(
        prog="python -m bench.offline_verify_bench", description=__doc__
    )
    parser.add_argument("--credentials", type=int, default=2_000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    return max(1, int(args.credentials)), max(1, int(args.rounds))


def main(argv: Sequence[str] | None = None) -> None:
    credentials, rounds = parse_options(sys.argv[1:] if argv is None else argv)
    print(run(credentials, rounds))


if __name__ == "__main__":
    main()
