"""The monthly report: a month's outputs, as a programme manager sends them to a donor.

Counted at read time from the activity and delivery facts (see
:mod:`services.reporting.activity_facts`), on the programme's calendar. "To date" figures
count everything up to the month's last day: people registered less those merged into
another record, cards issued less those replaced or revoked, follow-ups scheduled less those
completed. A dose that completes a course is one whose number reaches the course's doses.
"""

from __future__ import annotations

import asyncio
import calendar
from collections import Counter
from datetime import date, datetime
from typing import Any

from services.reporting.activity_facts import ActivityFacts
from services.reporting.daily import SEXES
from services.reporting.deliveries import DeliveryCounts
from shared.errors import Invalid

TO_DATE_KINDS = (
    "registration",
    "merge",
    "unmerge",
    "card_issued",
    "card_retired",
    "follow_up",
    "follow_up_done",
)
"""What the "to date" and "at month end" figures count, from the first event on."""


def month_days(month: str) -> tuple[date, date]:
    """The first and last day of ``YYYY-MM``; Invalid for anything else."""
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError:
        raise Invalid(f"month must be YYYY-MM, e.g. 2026-11; got {month!r}") from None
    return first, first.replace(day=calendar.monthrange(year, number)[1])


async def monthly_report(
    facts: ActivityFacts,
    deliveries: DeliveryCounts,
    month: str,
    site: str | None,
    as_of: datetime | None = None,
) -> dict[str, Any]:
    first, last = month_days(month)
    # Both reads at once: the database works on one while this process decodes the other.
    read, relief = await asyncio.gather(
        facts.month_and_before(first, last, site, TO_DATE_KINDS, as_of),
        deliveries.facts_between(first, last, site, as_of),
    )
    starts = first.isoformat()
    in_month = [fact for fact in read if fact["day"] >= starts]
    to_date = [fact for fact in read if fact["kind"] in TO_DATE_KINDS]
    return {
        "month": month,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "site": site,
        "as_of": None if as_of is None else as_of.isoformat(),
        "people": _people(in_month, to_date),
        "cards": _cards(in_month, to_date),
        "vaccination": _vaccination(in_month),
        "services": await _services(facts, relief, _sexes(to_date)),
        "helpline": _helpline(in_month, to_date, last),
    }


def _of(facts: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [f for f in facts if f["kind"] == kind]


def _tally(facts: list[dict[str, Any]], field: str) -> dict[str, int]:
    return dict(sorted(Counter(f[field] for f in facts).items()))


def _people(in_month: list[dict[str, Any]], to_date: list[dict[str, Any]]) -> dict[str, Any]:
    new = _of(in_month, "registration")
    counted: Counter[tuple[str, str, str]] = Counter()
    for fact in to_date:
        step = {"registration": 1, "unmerge": 1, "merge": -1}.get(fact["kind"], 0)
        if step:
            counted[(fact["sex"], fact["site"], fact.get("age_band", "unknown"))] += step
    by_sex: Counter[str] = Counter()
    by_site: Counter[str] = Counter()
    pyramid: dict[str, Counter[str]] = {}
    for (sex, site, band), count in counted.items():
        by_sex[sex] += count
        by_site[site] += count
        pyramid.setdefault(band, Counter())[sex] += count
    return {
        "registered_in_month": {
            "total": len(new),
            "by_sex": {sex: sum(1 for f in new if f["sex"] == sex) for sex in SEXES},
            "by_age_band": _tally(new, "age_band"),
            "by_nationality": _tally(new, "nationality"),
            "by_site": _tally(new, "site"),
        },
        "registered_to_date": {
            "total": sum(by_sex.values()),
            "by_sex": {sex: by_sex[sex] for sex in SEXES},
            "by_site": dict(sorted((s, n) for s, n in by_site.items() if n)),
            "by_age_band_and_sex": {
                band: {sex: pyramid[band][sex] for sex in SEXES} for band in sorted(pyramid)
            },
        },
    }


def _cards(in_month: list[dict[str, Any]], to_date: list[dict[str, Any]]) -> dict[str, Any]:
    issued = {f["card"] for f in _of(to_date, "card_issued")}
    retired = {f["card"] for f in _of(to_date, "card_retired")}
    return {
        "issued_in_month": len(_of(in_month, "card_issued")),
        "active_at_month_end": len(issued - retired),
    }


def _vaccination(in_month: list[dict[str, Any]]) -> dict[str, Any]:
    doses = _of(in_month, "dose")
    return {
        "doses_given": len(doses),
        "people_with_a_dose": len({f["migrant_id"] for f in doses}),
        "people_completing_a_course": len(
            {f["migrant_id"] for f in doses if f["completes_course"]}
        ),
        "by_vaccine": {
            vaccine: len({f["migrant_id"] for f in doses if f["vaccine"] == vaccine})
            for vaccine in sorted({f["vaccine"] for f in doses})
        },
        "doses_by_day": _tally(doses, "day"),
    }


def _sexes(to_date: list[dict[str, Any]]) -> dict[str, str]:
    return {f["migrant_id"]: f["sex"] for f in _of(to_date, "registration")}


async def _services(
    facts: ActivityFacts, relief: list[dict[str, Any]], sexes: dict[str, str]
) -> dict[str, Any]:
    kept = [f for f in relief if not f["voided"]]
    individual = [f for f in kept if not f["people_reached"]]
    groups = [f for f in kept if f["people_reached"]]
    people = {f["migrant_id"] for f in individual if f["migrant_id"]}
    # The registrations already read give most people's sex; only people registered at
    # another site than the one asked for need a query (one $in of thousands costs seconds).
    if missing := people - sexes.keys():
        sexes = sexes | await facts.sexes_of(missing)
    rows = []
    for service in sorted({f["service"] for f in individual}):
        given = [f for f in individual if f["service"] == service]
        reached = {f["migrant_id"] for f in given if f["migrant_id"]}
        rows.append(
            {
                "service": service,
                "deliveries": len(given),
                "unique_people": len(reached),
                "people_by_sex": {
                    sex: sum(1 for m in reached if sexes.get(m) == sex) for sex in SEXES
                },
                "by_site": _tally(given, "site"),
            }
        )
    return {
        "by_service": rows,
        "unique_people": len(people),
        "group_activities": {
            "total": len(groups),
            "people_reached": sum(f["people_reached"] for f in groups),
            "by_service": _tally(groups, "service"),
        },
        "voided": len(relief) - len(kept),
        "overridden": sum(1 for f in kept if f["overridden"]),
    }


def _helpline(
    in_month: list[dict[str, Any]], to_date: list[dict[str, Any]], last: date
) -> dict[str, Any]:
    calls = _of(in_month, "call")
    answered = sum(1 for f in calls if f["answered"])
    categories: Counter[str] = Counter(c for f in calls for c in f["categories"])
    requested: Counter[str] = Counter(s for f in calls for s in f["services_requested"])
    provided: Counter[str] = Counter(s for f in calls for s in f["services_provided"])
    outcomes = _of(in_month, "referral_outcome")
    scheduled = {f["follow_up"]: f["due_on"] for f in _of(to_date, "follow_up")}
    done = {f["follow_up"] for f in _of(to_date, "follow_up_done")}
    still_open = {key: due for key, due in scheduled.items() if key not in done}
    return {
        "calls": {
            "total": len(calls),
            "by_direction": _tally(calls, "direction"),
            "by_language": _tally(calls, "language"),
            "by_category": dict(sorted(categories.items())),
            "answered": answered,
            "missed": len(calls) - answered,
            "answered_rate": round(answered / len(calls), 3) if calls else None,
        },
        "services_requested": dict(sorted(requested.items())),
        "services_provided": dict(sorted(provided.items())),
        "referrals": {
            "made": len(_of(in_month, "referral")),
            "consent_overridden": sum(1 for f in _of(in_month, "referral") if f["overridden"]),
            "outcomes": _tally(outcomes, "outcome"),
        },
        "follow_ups": {
            "scheduled": len(_of(in_month, "follow_up")),
            "completed": len(_of(in_month, "follow_up_done")),
            "open_at_month_end": len(still_open),
            "overdue_at_month_end": sum(1 for due in still_open.values() if due < last.isoformat()),
        },
    }
