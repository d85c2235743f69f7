"""BenCard numbers: ten random characters and a check character, read aloud and typed by hand.

A number is read off a card over the phone, typed at a distribution point and printed in a
large font, so it uses only characters nobody confuses: no 0/O, no 1/I/L and no U (which reads
as V). The ten characters before the check are drawn with ``secrets``: a number says nothing
about its holder or the order of issue, so it can be shown, logged and pseudonymised freely.

The check character follows the ISO 7064 *pure* construction (that of MOD 37-2) with the prime
modulus 31 and radix 3: read as digits of ``ALPHABET``, the number must satisfy
``sum(value[i] * 3 ** (10 - i)) % 31 == 1``. The eleven weights are distinct and non-zero
modulo 31 (3 is a primitive root of 31), so every single substitution *and every swap of two
characters* changes the sum: a mistyped number is always refused, never taken for another
card. The one check value with no character (30) is never issued: a body that would need it
is drawn again. Since 34 = 3 (mod 31), the sum is the number read as a base-34 numeral (each
character's value one digit): ``int(..., 34) % 31``, one C call and no Python loop.

The *hybrid* system MOD 31,30 was considered and rejected: like every ISO 7064 hybrid system
it misses some adjacent swaps (whenever the running sums are 15 and 16: "HJ..." and "JH..."
get the same check character), and a registrar would not notice.
"""

from __future__ import annotations

import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
"""30 characters that survive handwriting, phone calls and cheap printers."""

LENGTH = 11
"""Characters in the canonical form: ten random ones and the check character."""

_BODY = LENGTH - 1
_MODULUS = 31
_RADIX = 3
_VALUES = {character: value for value, character in enumerate(ALPHABET)}
_AS_BASE_34 = bytes.maketrans(ALPHABET.encode("ascii"), b"0123456789abcdefghijklmnopqrst")


class InvalidCardNumber(ValueError):
    """Typed text that is not a BenCard number; the message says what to look at again."""


def _remainder(text: str) -> int:
    """``sum(value * 3 ** position)`` modulo 31, for ALPHABET characters only."""
    return int(text.encode("ascii").translate(_AS_BASE_34), 34) % _MODULUS


def new_card_number() -> str:
    """A fresh number in canonical form: ten random characters, then the check character."""
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(_BODY))
        check = (1 - _RADIX * _remainder(body)) % _MODULUS
        if check < len(ALPHABET):  # 30 has no character: draw again (1 body in 31)
            return body + ALPHABET[check]


def is_canonical_card_number(number: str) -> bool:
    """True for a valid number already in canonical form: the cheap check for machine input."""
    return len(number) == LENGTH and not number.strip(ALPHABET) and _remainder(number) == 1


def normalise_card_number(text: str) -> str:
    """The canonical form of a number as a person typed it: any case, spaces and hyphens.

    Raises InvalidCardNumber with a message that says what to fix, so the screen can show it
    as it is.
    """
    number = "".join(text.upper().split()).replace("-", "")
    unused = sorted({character for character in number if character not in _VALUES})
    if unused:
        shown = ", ".join(repr(character) for character in unused)
        raise InvalidCardNumber(
            f"{shown} never appear{'s' if len(unused) == 1 else ''} on a BenCard: card numbers "
            "use no O/0, no I/1/L and no U, only the characters "
            f"{ALPHABET}; check the card again"
        )
    if len(number) != LENGTH:
        raise InvalidCardNumber(
            f"a card number has {LENGTH} characters, not {len(number)}: check that none is "
            "missing or typed twice"
        )
    if _remainder(number) != 1:
        raise InvalidCardNumber(
            "the check character does not match: a character was mistyped or two were swapped"
        )
    return number


def format_card_number(number: str) -> str:
    """``XXXX-XXXX-XXX``: how a number is printed and shown, in groups a person can hold."""
    canonical = normalise_card_number(number)
    return f"{canonical[:4]}-{canonical[4:8]}-{canonical[8:]}"
