"""Base45 (RFC 9285): bytes as QR-code alphanumeric text, decoded strictly and fast.

QR codes store the 45 "alphanumeric" characters at 5.5 bits each against 8 for bytes, so
Base45 text makes a smaller code than the raw bytes, as in the EU DCC and MOSIP Claim 169.

Decoding is on the offline verifier's hot path, so it does no per-character Python work:
``bytes.translate`` turns characters into digit values (an unused character becomes 0xFF, found
with one ``in``), then the whole text is read as one big integer with each group of three
digits in a 24-bit slot. Three shifts and masks and two small multiplications compute every
group's value ``c + 45*d + 2025*e`` at once (at most 91,124, so no slot carries into the
next), one mask refuses any group over 65,535 as the RFC requires, and deleting every third
byte leaves the two bytes of each group, in order. Any text that is not exactly an encoding
the RFC allows raises Base45Error; nothing is skipped or repaired.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

_INVALID = 0xFF
_MASKED_GROUPS = 1024
_LOW_BYTES = int.from_bytes(b"\x00\x00\xff" * _MASKED_GROUPS, "big")
"""The lowest byte of each of 1,024 24-bit slots: shifted down, the mask for fewer groups."""
_DIGITS = bytes(
    ALPHABET.index(chr(code)) if chr(code) in ALPHABET else _INVALID for code in range(256)
)


class Base45Error(ValueError):
    """Text that is not Base45 as RFC 9285 defines it."""


def encode(data: bytes) -> str:
    """Two bytes become three characters, least significant first; a last lone byte two."""
    alphabet = ALPHABET
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        rest, c = divmod(data[i] << 8 | data[i + 1], 45)
        e, d = divmod(rest, 45)
        out += (alphabet[c], alphabet[d], alphabet[e])
    if len(data) % 2:
        d, c = divmod(data[-1], 45)
        out += (alphabet[c], alphabet[d])
    return "".join(out)


def decode(text: str) -> bytes:
    """The bytes ``text`` encodes; Base45Error for anything RFC 9285 does not allow."""
    try:
        digits = text.encode("ascii").translate(_DIGITS)
    except UnicodeEncodeError:
        raise Base45Error("Base45 text is ASCII; this text is not") from None
    if _INVALID in digits:
        raise Base45Error("a character outside the Base45 alphabet")
    groups, rest = divmod(len(digits), 3)
    if rest == 1:
        raise Base45Error(f"{len(digits)} characters: a Base45 length is never 3n + 1")
    out = _decode_groups(digits, groups) if groups else b""
    if rest:
        value = digits[-2] + 45 * digits[-1]
        if value > 0xFF:
            raise Base45Error("the last two characters encode more than one byte")
        out += bytes((value,))
    return out


def _decode_groups(digits: bytes, groups: int) -> bytes:
    """All whole groups of three digit values at once; see the module docstring."""
    whole = int.from_bytes(digits[: 3 * groups], "big")
    if groups <= _MASKED_GROUPS:  # a shift is four times cheaper than building the mask
        low = _LOW_BYTES >> 24 * (_MASKED_GROUPS - groups)
    else:
        low = int.from_bytes(b"\x00\x00\xff" * groups, "big")
    values = (whole >> 16 & low) + 45 * (whole >> 8 & low) + 2025 * (whole & low)
    if values >> 16 & low:
        raise Base45Error("a group of three characters encodes more than two bytes")
    slots = bytearray(values.to_bytes(3 * groups, "big"))
    del slots[::3]  # the slots' top bytes, all zero now
    return bytes(slots)
