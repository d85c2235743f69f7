"""The partner directory: the organisations the helpline refers people to.

Programmes and partners change more often than releases, so the directory is a settings file
(``BENSYS_PARTNER_DIRECTORY_FILE``); without one the packaged ``partners.json`` applies. A
partner may list the catalogue services it takes: a referral for another service is refused
(a legal question sent to the health agency wastes the caller's time); an empty list means
the partner takes referrals whatever the service.

A bad file stops the service at start-up with a message naming the file, the entry and the fix,
like the service catalogue: a directory that quietly dropped a partner would leave operators
unable to refer to it, and a referral naming a partner nobody knows could not be followed up.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictStr, ValidationError, field_validator
from pydantic_core import ErrorDetails

from shared.errors import Invalid

PartnerKind = Literal["health", "legal", "consular", "family_links", "protection", "other"]
DEFAULT_FILE = "partners.json"
_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")


class PartnerDirectoryError(ValueError):
    """The directory file cannot be used; the message names the file, the entry and the fix."""


@dataclass(frozen=True)
class Partner:
    code: str
    name: str
    kind: PartnerKind
    services: tuple[str, ...]
    contact: str | None

    def takes(self, service: str) -> bool:
        return not self.services or service in self.services


class PartnerDirectory:
    """The partners in file order, which is the order an operator's pick-list shows them in."""

    def __init__(self, partners: Sequence[Partner]) -> None:
        self._by_code = {partner.code: partner for partner in partners}
        if len(self._by_code) != len(partners):
            raise ValueError("partner codes must differ")

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(self._by_code)

    def get(self, code: str) -> Partner:
        partner = self._by_code.get(code)
        if partner is None:
            raise Invalid(
                f"unknown partner {code!r}: use one of {', '.join(self._by_code)}",
                details={"partner": code, "known_partners": list(self._by_code)},
            )
        return partner

    def __iter__(self) -> Iterator[Partner]:
        return iter(self._by_code.values())

    def __len__(self) -> int:
        return len(self._by_code)


class _Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: StrictStr
    name: StrictStr = Field(min_length=2, max_length=200)
    kind: PartnerKind
    services: tuple[StrictStr, ...] = ()
    contact: StrictStr | None = Field(default=None, min_length=1, max_length=500)

    @field_validator("code")
    @classmethod
    def _snake_case(cls, code: str) -> str:
        if not _CODE.fullmatch(code):
            raise ValueError("must be snake_case (a-z, 0-9 and _, starting with a letter)")
        return code

    @field_validator("services")
    @classmethod
    def _distinct(cls, services: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(services)) != len(services):
            raise ValueError("list each service code once")
        return services


class _File(BaseModel):
    model_config = ConfigDict(extra="forbid")
    partners: list[_Entry] = Field(min_length=1)


def _problem(error: ErrorDetails, data: dict[str, Any]) -> str:
    """One pydantic error as "partners[3] (code 'iom_maldives'): kind: <what to fix>"."""
    loc, where = error["loc"], "file"
    model: type[BaseModel] = _File
    if len(loc) >= 2 and loc[0] == "partners" and isinstance(loc[1], int):
        where, raw, loc, model = f"partners[{loc[1]}]", data["partners"][loc[1]], loc[2:], _Entry
        code = raw.get("code") if isinstance(raw, dict) else None
        where += f" (code {code!r})" if isinstance(code, str) else ""
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        allowed = ", ".join(model.model_fields)
        loc, message = loc[:-1], f"unknown key {loc[-1]!r}; allowed keys: {allowed}"
    place = ".".join(str(part) for part in loc)
    return f"{where}: {place + ': ' if place else ''}{message}"


def _parse(text: str, source: str, services: Collection[str] | None) -> PartnerDirectory:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PartnerDirectoryError(
            f"partner directory {source} is not valid JSON: {exc.msg} at line {exc.lineno}, "
            f"column {exc.colno}"
        ) from None
    if not isinstance(data, dict):
        raise PartnerDirectoryError(f'partner directory {source} must be {{"partners": [...]}}')
    try:
        parsed = _File.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(error, data) for error in exc.errors())
        raise PartnerDirectoryError(f"partner directory {source}: {problems}") from None
    first: dict[str, int] = {}
    for index, entry in enumerate(parsed.partners):
        where = f"partner directory {source}: partners[{index}] (code {entry.code!r})"
        if entry.code in first:
            raise PartnerDirectoryError(
                f"{where}: code is already used by partners[{first[entry.code]}]; give each "
                "partner its own code"
            )
        first[entry.code] = index
        unknown = [code for code in entry.services if services is not None and code not in services]
        if unknown and services is not None:
            raise PartnerDirectoryError(
                f"{where}: services: {', '.join(unknown)} not in the service catalogue; use "
                f"codes from it ({', '.join(services)}) or leave services empty for any"
            )
    return PartnerDirectory(
        [Partner(e.code, e.name.strip(), e.kind, e.services, e.contact) for e in parsed.partners]
    )


def load_partners(
    path: Path | None = None, *, services: Collection[str] | None = None
) -> PartnerDirectory:
    """The directory in ``path``, or the packaged default when it is None.

    With ``services`` (the catalogue's codes) a partner naming a service the catalogue does not
    know stops start-up, instead of every referral for it being refused later.
    """
    if path is None:
        resource = resources.files("services.helpline").joinpath(DEFAULT_FILE)
        text, source = resource.read_text(encoding="utf-8"), f"(packaged default {resource})"
        return _parse(text, source, services)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PartnerDirectoryError(
            f"cannot read partner directory {path}: {exc}; point "
            "BENSYS_PARTNER_DIRECTORY_FILE at a UTF-8 JSON file, or unset it for the default"
        ) from None
    return _parse(text, str(path), services)
