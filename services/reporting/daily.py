"""The daily outputs sheet: what the programme did on one day, at one site or all of them."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from services.reporting.activity_facts import ActivityFacts

SEXES = ("female", "male", "other", "undisclosed")


async def daily_counts(
    facts: ActivityFacts, day: date, site: str | None, as_of: datetime | None = None
) -> dict[str, Any]:
    """The day's counts; doses count both doses given and people who had one."""
    counted: Counter[str] = Counter()
    registered_by_sex: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    vaccinated: set[str] = set()
    kinds = ("registration", "card_issued", "dose", "call")
    for fact in await facts.between(day, day, site, kinds=kinds, as_of=as_of):
        counted[fact["kind"]] += 1
        if fact["kind"] == "registration":
            registered_by_sex[fact["sex"]] += 1
        elif fact["kind"] == "dose":
            vaccinated.add(fact["migrant_id"])
        elif fact["kind"] == "call":
            calls[fact["direction"]] += 1
            calls["answered" if fact["answered"] else "missed"] += 1
    return {
        "registrations": {
            "total": counted["registration"],
            "by_sex": {sex: registered_by_sex[sex] for sex in SEXES},
        },
        "cards_issued": counted["card_issued"],
        "doses": {"given": counted["dose"], "people": len(vaccinated)},
        "calls": {
            "total": counted["call"],
            **{key: calls[key] for key in ("incoming", "outgoing", "answered", "missed")},
        },
    }
