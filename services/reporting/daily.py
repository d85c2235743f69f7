"""The daily outputs sheet: what the programme did on one day, at one site or all of them."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from services.reporting.activity_facts import ActivityFacts

SEXES = ("female", "male", "other", "undisclosed")


async def daily_counts(facts: ActivityFacts, day: date, site: str | None) -> dict[str, Any]:
    """The day's counts; doses count both doses given and people who had one."""
    kinds: Counter[str] = Counter()
    registered_by_sex: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    vaccinated: set[str] = set()
    for fact in await facts.between(
        day, day, site, kinds=("registration", "card_issued", "dose", "call")
    ):
        kinds[fact["kind"]] += 1
        if fact["kind"] == "registration":
            registered_by_sex[fact["sex"]] += 1
        elif fact["kind"] == "dose":
            vaccinated.add(fact["migrant_id"])
        elif fact["kind"] == "call":
            calls[fact["direction"]] += 1
            calls["answered" if fact["answered"] else "missed"] += 1
    return {
        "registrations": {
            "total": kinds["registration"],
            "by_sex": {sex: registered_by_sex[sex] for sex in SEXES},
        },
        "cards_issued": kinds["card_issued"],
        "doses": {"given": kinds["dose"], "people": len(vaccinated)},
        "calls": {
            "total": kinds["call"],
            **{key: calls[key] for key in ("incoming", "outgoing", "answered", "missed")},
        },
    }
