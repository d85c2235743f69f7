"""Age bands: how age travels in clear without identifying anyone (ARCHITECTURE §4).

The band is computed from the date of birth at the time of the event and stored in the event,
so reports never need the (encrypted) date of birth, and erasure leaves them intact.
"""

from __future__ import annotations

from datetime import date

AGE_BANDS: tuple[tuple[int, int | None, str], ...] = (
    (0, 17, "0-17"),
    (18, 24, "18-24"),
    (25, 34, "25-34"),
    (35, 44, "35-44"),
    (45, 59, "45-59"),
    (60, None, "60+"),
)
UNKNOWN_AGE = "unknown"


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_band(born: date | None, on: date) -> str:
    if born is None or born > on:
        return UNKNOWN_AGE
    age = age_on(born, on)
    for low, high, label in AGE_BANDS:
        if age >= low and (high is None or age <= high):
            return label
    return UNKNOWN_AGE
