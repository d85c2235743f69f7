"""Small-cell suppression (ARCHITECTURE §4) for whatever leaves the programme.

A count from 1 to threshold - 1 could point at a person ("the one Nepali woman at Seenu who
asked for legal aid"), so it is shown as ``"<threshold"``. Zero is shown: it points at no one.
A total over parts is hidden (``None``) as soon as any part is, or the hidden part would be the
total minus the others.
"""

from __future__ import annotations

from collections.abc import Mapping


def cell(count: int, threshold: int) -> int | str:
    return count if count == 0 or count >= threshold else f"<{threshold}"


def breakdown(
    total: int, parts: Mapping[str, int], threshold: int
) -> tuple[int | str | None, dict[str, int | str]]:
    """The total and its parts as a partner may see them."""
    shown = {name: cell(count, threshold) for name, count in parts.items()}
    if cell(total, threshold) != total:
        return cell(total, threshold), shown
    hidden = any(isinstance(value, str) for value in shown.values())
    return (None if hidden else total), shown
