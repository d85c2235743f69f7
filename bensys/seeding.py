"""What ``bensys seed`` creates: a year (or any months) of a programme like the Maldivian Red
Crescent's, as request bodies for the public APIs, the same for the same seed.

Proportions follow the programme's own picture: most workers are Bangladeshi men, then
Indian, Nepali and Sri Lankan; about one in nine is a woman; Greater Malé has most people and
the atolls the rest. The people are invented (names from common given and family names); no
real person is described.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

NATIONALITIES = (("BD", 60), ("IN", 18), ("NP", 9), ("LK", 8), ("PK", 3), ("PH", 2))
LANGUAGES = {
    "BD": ["bn"],
    "IN": ["hi", "ta"],
    "NP": ["ne"],
    "LK": ["si", "ta"],
    "PK": ["ur"],
    "PH": ["en"],
}
GIVEN = {
    "male": [
        "Mohammed",
        "Abdul",
        "Rahim",
        "Karim",
        "Sanjay",
        "Ramesh",
        "Bikash",
        "Suresh",
        "Nuwan",
        "Imran",
        "Jamal",
        "Arif",
        "Kamal",
        "Raju",
        "Dinesh",
    ],
    "female": [
        "Ayesha",
        "Fatema",
        "Shirin",
        "Priya",
        "Sita",
        "Kumari",
        "Nadia",
        "Maria",
        "Rina",
        "Anjali",
    ],
}
FAMILY = [
    "Hossain",
    "Islam",
    "Rahman",
    "Ahmed",
    "Mia",
    "Uddin",
    "Kumar",
    "Sharma",
    "Thapa",
    "Gurung",
    "Perera",
    "Fernando",
    "Khan",
    "Santos",
    "Das",
    "Akter",
]
SITES = (("Greater Malé", 60), ("Kaafu Atoll", 10), ("Kdh Atoll", 15), ("Seenu Atoll", 15))
CATEGORIES = (
    "vaccination",
    "information",
    "relief_request",
    "health",
    "legal",
    "repatriation",
    "family_links",
    "complaint_or_feedback",
    "other",
)
CENTRES = {
    "Greater Malé": "IGMH, Malé",
    "Kaafu Atoll": "Thulusdhoo Health Centre",
    "Kdh Atoll": "Kulhudhuffushi Regional Hospital",
    "Seenu Atoll": "Hithadhoo Regional Hospital",
}


@dataclass
class PersonPlan:
    index: int
    body: dict[str, Any]
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    doses: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class SeedPlan:
    people: list[PersonPlan]
    calls: list[dict[str, Any]]
    group_activities: list[dict[str, Any]]


def plan(*, months: int, migrants: int, seed: int, now: datetime) -> SeedPlan:
    """The plan for ``seed``, ending at the start of ``now``'s day: run again the same day,
    it is the same plan, so the same ids, and the APIs add nothing a second time."""
    rng = random.Random(seed)  # noqa: S311 - invented demo data, the same for a seed
    now = now.replace(hour=0, minute=0, second=0, microsecond=0)
    start = now - timedelta(days=30 * months)
    people = [_person(rng, i, start, now, seed) for i in range(migrants)]
    calls = [_call(rng, seed, i, start, now) for i in range(migrants // 2)]
    groups = [_group(rng, seed, i, start, now) for i in range(max(1, months * 4))]
    return SeedPlan(people, calls, groups)


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A working-hours moment in Malé (UTC+5) between ``start`` and ``end``."""
    day = start + timedelta(seconds=rng.uniform(0, max((end - start).total_seconds(), 1)))
    local = day.replace(
        hour=rng.randint(8, 17), minute=rng.randint(0, 59), second=0, microsecond=0, tzinfo=None
    )
    moment = (local - timedelta(hours=5)).replace(tzinfo=UTC)
    return min(moment, end - timedelta(minutes=10))


def _person(rng: random.Random, i: int, start: datetime, now: datetime, seed: int) -> PersonPlan:
    nationality = _pick(rng, NATIONALITIES)
    sex = rng.choices(["male", "female", "undisclosed"], [88, 11, 1])[0]
    given = GIVEN["female" if sex == "female" else "male"]
    site = _pick(rng, SITES)
    registered = _moment(rng, start, now)
    health = rng.random() < 0.8
    body: dict[str, Any] = {
        "full_name": f"{rng.choice(given)} {rng.choice(FAMILY)} {i}",
        "sex": sex,
        "approximate_birth_year": rng.randint(1966, 2004),
        "nationality": nationality,
        "preferred_languages": [*LANGUAGES[nationality][:1], "en"],
        "site": site,
        "consent": {
            "purposes": ["registration"]
            + (["health_vaccination"] if health else [])
            + (["partner_referral"] if rng.random() < 0.6 else []),
            "notice_language": LANGUAGES[nationality][0],
        },
        "issue_card": rng.random() < 0.85,
        "registered_at": registered.isoformat(),
    }
    person = PersonPlan(i, body)
    # Food parcels a month apart (one per 30 days), a hygiene kit now and then (one per 90)
    moment = registered + timedelta(days=rng.randint(0, 10))
    last_kit: datetime | None = None
    while moment < now and rng.random() < 0.75:
        kit = rng.random() < 0.2 and (last_kit is None or moment - last_kit > timedelta(days=91))
        person.deliveries.append(
            {
                "client_id": f"seed-{seed}-{now:%Y%m%d}-{i}-{len(person.deliveries)}",
                "service": "hygiene_kit" if kit else "food_parcel",
                "site": site,
                "delivered_at": moment.isoformat(),
            }
        )
        last_kit = moment if kit else last_kit
        moment += timedelta(days=rng.randint(31, 75))
    if body["issue_card"] and health and rng.random() < 0.45:
        vaccine = rng.choice(["measles_rubella", "covid19", "typhoid"])
        given_on = (registered + timedelta(days=rng.randint(1, 20))).date()
        for number in range(1, 3 if vaccine != "typhoid" else 2):
            if given_on > now.date():
                break
            person.doses.append(
                {
                    "vaccine": vaccine,
                    "dose_number": number,
                    "administered_on": given_on.isoformat(),
                    "centre": CENTRES[site],
                }
            )
            given_on += timedelta(days=28)
    return person


def _call(rng: random.Random, seed: int, i: int, start: datetime, now: datetime) -> dict[str, Any]:
    answered = rng.random() < 0.85
    nationality = _pick(rng, NATIONALITIES)
    caller: dict[str, Any] = (
        {"anonymous": True}
        if rng.random() < 0.6
        else {"phone": f"+9607{rng.randint(100000, 999999)}"}
    )
    return {
        "client_id": f"seed-{seed}-{now:%Y%m%d}-call-{i}",
        "direction": "incoming" if rng.random() < 0.8 else "outgoing",
        "started_at": _moment(rng, start, now).isoformat(),
        "duration_seconds": rng.randint(60, 900) if answered else 0,
        "answered": answered,
        "language": LANGUAGES[nationality][0] if rng.random() < 0.9 else "en",
        "caller": caller,
        "categories": rng.sample(CATEGORIES, k=rng.randint(1, 2)),
        "services_requested": ["food_parcel"] if rng.random() < 0.3 else [],
        "services_provided": [],
        "information_given": "where and when the next distribution is" if answered else None,
        "notes": None,
        "follow_up_needed": False,
        "site": _pick(rng, SITES),
    }


def _group(rng: random.Random, seed: int, i: int, start: datetime, now: datetime) -> dict[str, Any]:
    nationality = _pick(rng, NATIONALITIES)
    return {
        "client_id": f"seed-{seed}-{now:%Y%m%d}-group-{i}",
        "service": "awareness_session",
        "people_reached": rng.randint(15, 60),
        "language": LANGUAGES[nationality][0],
        "site": _pick(rng, SITES),
        "held_at": _moment(rng, start, now).isoformat(),
    }
