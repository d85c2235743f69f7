"""Checks on what a registrar typed that need more than a schema: phone numbers, codes."""

from __future__ import annotations

import re
from collections.abc import Iterable

import phonenumbers

from shared.errors import Invalid

LANGUAGE = re.compile(r"^[a-z]{2,3}$")


def e164(raw: str, default_region: str) -> str:
    """Normalise to E.164, so one phone number has one spelling for matching and search."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException as exc:
        raise Invalid(
            f"phone {raw!r} is not a phone number: give it as +<country code> <number>",
            details={"field": "phone"},
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise Invalid(
            f"phone {raw!r} is not a valid number: check the digits and the country code",
            details={"field": "phone"},
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def languages(codes: Iterable[str]) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(codes))
    bad = [code for code in codes if not LANGUAGE.match(code)]
    if bad:
        raise Invalid(
            f"preferred_languages must be ISO 639-1 codes such as 'bn', 'hi', 'ta', 'ne', "
            f"'si', 'dv', 'en'; not {bad}",
            details={"field": "preferred_languages"},
        )
    return codes


def vulnerabilities(codes: Iterable[str], catalogue: tuple[str, ...]) -> tuple[str, ...]:
    codes = tuple(dict.fromkeys(codes))
    unknown = [code for code in codes if code not in catalogue]
    if unknown:
        raise Invalid(
            f"unknown vulnerabilities {unknown}: use codes from {', '.join(catalogue)}",
            details={"field": "vulnerabilities", "allowed": list(catalogue)},
        )
    return codes


def document_number(raw: str) -> str:
    return re.sub(r"[\s\-./]", "", raw).upper()
