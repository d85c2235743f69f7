"""The service catalogue: what the programme delivers, in whose words, and how often.

Field staff pick a service from this list when they record a delivery, so each entry carries its
label in English and in the languages beneficiaries read (a worker at the counter can point at
the words), the unit it is counted in, and the entitlement rule checked before recording it.
Programmes differ, so the list is a settings file (``BENSYS_SERVICE_CATALOGUE_FILE``); without
one the packaged ``services.json`` applies. Its defaults limit goods (food parcels, hot meals,
hygiene kits) and the costly one-off (repatriation); health, legal, information and referral
services have no limit, because need decides those, not a counter.

A bad file stops the service at start-up with a message naming the file, the entry and the fix:
a catalogue that quietly dropped an entry would turn people away at the counter instead.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from shared.errors import Invalid

Recipient = Literal["person", "organisation", "group"]
DEFAULT_FILE = "services.json"
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
_LANGUAGE = re.compile(r"[a-z]{2}")
_UNIT = re.compile(r"[a-z]+(?: [a-z]+)*")


class CatalogueError(ValueError):
    """The catalogue file cannot be used; the message names the file, the entry and the fix."""


def _plural(unit: str) -> str:
    if unit.endswith(("s", "x", "z", "ch", "sh")):
        return unit + "es"
    if len(unit) > 1 and unit.endswith("y") and unit[-2] not in "aeiou":
        return unit[:-1] + "ies"
    return unit + "s"


@dataclass(frozen=True)
class EntitlementRule:
    """At most ``max_units`` to one recipient in any ``per_days`` days (a manager may override)."""

    max_units: int
    per_days: int

    def __post_init__(self) -> None:
        if self.max_units < 1 or self.per_days < 1:
            raise ValueError(f"an entitlement needs max_units and per_days >= 1, not {self}")

    def describe(self, unit: str) -> str:
        """The rule as staff read it, and as an override records which rule it overrode."""
        units = unit if self.max_units == 1 else _plural(unit)
        period = "day" if self.per_days == 1 else f"{self.per_days} days"
        return f"at most {self.max_units} {units} per {period}"


@dataclass(frozen=True)
class CatalogueEntry:
    """One service: ``recipients`` says whether it goes to a person, an organisation or a group."""

    code: str
    labels: Mapping[str, str] = field(hash=False)
    unit: str
    entitlement: EntitlementRule | None
    requires_card: bool
    recipients: tuple[Recipient, ...]

    def label(self, language: str) -> str:
        """The label in ``language`` ("bn", or a regional tag like "bn-BD"), else English."""
        base = language.strip().lower().replace("_", "-").split("-")[0]
        return self.labels.get(base) or self.labels["en"]


class ServiceCatalogue:
    """The entries in file order, which is the order pick-lists show them in."""

    def __init__(self, entries: Sequence[CatalogueEntry]) -> None:
        self._by_code: dict[str, CatalogueEntry] = {}
        for entry in entries:
            if entry.code in self._by_code:
                raise ValueError(f"service code {entry.code!r} appears twice; codes must differ")
            self._by_code[entry.code] = entry

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)

    def get(self, code: str) -> CatalogueEntry:
        entry = self._by_code.get(code)
        if entry is None:
            known = ", ".join(self._by_code)
            raise Invalid(
                f"unknown service {code!r}: use one of {known}",
                details={"service": code, "known_services": list(self._by_code)},
            )
        return entry

    def __iter__(self) -> Iterator[CatalogueEntry]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_units: StrictInt = Field(ge=1)
    per_days: StrictInt = Field(ge=1)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: StrictStr
    labels: dict[StrictStr, StrictStr]
    unit: StrictStr
    entitlement: _Rule | None  # required: "no limit" must be written as null, on purpose
    requires_card: StrictBool = False
    recipients: tuple[Recipient, ...]

    @field_validator("code")
    @classmethod
    def _snake_case(cls, code: str) -> str:
        if not _CODE.fullmatch(code):
            raise ValueError("must be snake_case (a-z, 0-9 and _, starting with a letter)")
        return code

    @field_validator("unit")
    @classmethod
    def _singular_words(cls, unit: str) -> str:
        if not _UNIT.fullmatch(unit):
            raise ValueError("must be the singular unit in lower-case words, e.g. 'parcel'")
        return unit

    @field_validator("labels")
    @classmethod
    def _labelled(cls, labels: dict[str, str]) -> dict[str, str]:
        bad = [key for key in labels if not _LANGUAGE.fullmatch(key)]
        if bad:
            raise ValueError(f"keys must be ISO 639-1 codes like 'bn', not {', '.join(bad)}")
        empty = [key for key, text in labels.items() if not text.strip()]
        if empty:
            raise ValueError(f"labels for {', '.join(empty)} are empty: write them or drop them")
        if "en" not in labels:
            raise ValueError("add an 'en' label: English is shown where a language has none")
        # NFC, so the same words are the same bytes however the file was typed.
        return {key: unicodedata.normalize("NFC", text.strip()) for key, text in labels.items()}

    @field_validator("recipients")
    @classmethod
    def _some_recipients(cls, recipients: tuple[Recipient, ...]) -> tuple[Recipient, ...]:
        if not recipients or len(set(recipients)) != len(recipients):
            raise ValueError("list each of person, organisation, group at most once, at least one")
        return recipients

    @model_validator(mode="after")
    def _card_means_person(self) -> _Entry:
        if self.requires_card and self.recipients != ("person",):
            raise ValueError('requires_card needs recipients ["person"]: only a person has a card')
        return self


_RULE_SHAPE = 'must be {"max_units": 1, "per_days": 30} (any numbers >= 1), or null for no limit'


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    services: list[_Entry] = Field(min_length=1)


def _problem(error: ErrorDetails, data: dict[str, Any]) -> str:
    """One pydantic error as "services[3] (code 'legal_aid'): unit: <what to fix>"."""
    loc, where = error["loc"], "file"
    model: type[BaseModel] = _File
    if len(loc) >= 2 and loc[0] == "services" and isinstance(loc[1], int):
        where, raw, loc, model = f"services[{loc[1]}]", data["services"][loc[1]], loc[2:], _Entry
        code = raw.get("code") if isinstance(raw, dict) else None
        where += f" (code {code!r})" if isinstance(code, str) else ""
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        allowed = (model if len(loc) == 1 else _Rule).model_fields
        loc, message = loc[:-1], f"unknown key {loc[-1]!r}; allowed keys: {', '.join(allowed)}"
    elif error["type"] == "model_type":
        rule = loc == ("entitlement",)
        message = _RULE_SHAPE if rule else "must be a JSON object"
    place = ".".join(str(part) for part in loc)
    return f"{where}: {place + ': ' if place else ''}{message}"


def _parse(text: str, source: str) -> ServiceCatalogue:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogueError(
            f"service catalogue {source} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise CatalogueError(f'service catalogue {source} must be an object {{"services": [...]}}')
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(error, data) for error in exc.errors())
        raise CatalogueError(f"service catalogue {source}: {problems}") from None
    first: dict[str, int] = {}
    for index, entry in enumerate(parsed.services):
        if entry.code in first:
            raise CatalogueError(
                f"service catalogue {source}: services[{index}] (code {entry.code!r}): code is "
                f"already used by services[{first[entry.code]}]; give each service its own code"
            )
        first[entry.code] = index
    return ServiceCatalogue([_entry(entry) for entry in parsed.services])


def _entry(entry: _Entry) -> CatalogueEntry:
    rule = entry.entitlement
    return CatalogueEntry(
        code=entry.code,
        labels=MappingProxyType(dict(entry.labels)),
        unit=entry.unit,
        entitlement=None if rule is None else EntitlementRule(rule.max_units, rule.per_days),
        requires_card=entry.requires_card,
        recipients=entry.recipients,
    )


def load_catalogue(path: Path | None = None) -> ServiceCatalogue:
    """The catalogue in ``path``, or the packaged default when it is None."""
    if path is None:
        resource = resources.files("shared.catalogue").joinpath(DEFAULT_FILE)
        return _parse(resource.read_text(encoding="utf-8"), f"(packaged default {resource})")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError(
            f"cannot read service catalogue {path}: {exc}; point "
            "BENSYS_SERVICE_CATALOGUE_FILE at a UTF-8 JSON file, or unset it for the default"
        ) from None
    return _parse(text, str(path))
