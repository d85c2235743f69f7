"""Sealing a person's fields with their own key, and opening them for a reader."""

from __future__ import annotations

from typing import Any

from shared.contracts.base import Sealed
from shared.contracts.registry import IdentityDocument
from shared.crypto import PersonalDataCipher


async def seal_fields(
    cipher: PersonalDataCipher, migrant_id: str, values: dict[str, Any]
) -> dict[str, Any]:
    """Plain personal values in, event-ready sealed values out (lists and documents too)."""
    flat: dict[str, str | None] = {}
    for name, value in values.items():
        if name == "other_names":
            flat.update({f"other_names.{i}": v for i, v in enumerate(value or [])})
        elif name == "identity_document":
            flat["identity_document.number"] = None if value is None else value["number"]
        else:
            flat[name] = None if value is None else str(value)
    sealed = await cipher.seal_many(migrant_id, flat)
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name == "other_names":
            out[name] = tuple(sealed[f"other_names.{i}"] for i in range(len(value or [])))
        elif name == "identity_document":
            number = sealed["identity_document.number"]
            out[name] = (
                None
                if value is None or number is None
                else IdentityDocument(
                    type=value["type"], number=number, issuing_country=value.get("issuing_country")
                )
            )
        else:
            out[name] = sealed[name]
    return out


async def open_fields(cipher: PersonalDataCipher, sealed: dict[str, Any]) -> dict[str, Any]:
    """The readable values of a person's sealed fields; None for anything unreadable."""
    opened: dict[str, Any] = {}
    for name, value in sealed.items():
        if isinstance(value, Sealed):
            opened[name] = await cipher.open(value)
        elif isinstance(value, IdentityDocument):
            opened[name] = {
                "type": value.type,
                "number": await cipher.open(value.number),
                "issuing_country": value.issuing_country,
            }
        elif isinstance(value, tuple):
            opened[name] = [await cipher.open(item) for item in value]
        else:
            opened[name] = None
    return opened
