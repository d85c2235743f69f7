"""Small-cell suppression (ARCHITECTURE §4) for whatever leaves the programme.

A count from 1 to threshold - 1 could point at a person ("the one Nepali woman at Seenu who
asked for legal aid"), so it is shown as ``"<threshold"``. Zero is shown: it points at no one.
A total over parts is hidden (``None``) as soon as any part is, or the hidden part would be the
total minus the others.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


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


KEPT = frozenset(
    {"month", "from", "to", "site", "service", "timezone", "suppressed", "as_of", "date"}
)
"""Keys whose values are labels, not counts."""


def suppress_tree(node: Any, threshold: int) -> Any:
    """A whole report as a partner may see it: every count a cell, and in each table any
    ``total`` (and ``answered_rate``) hidden once a count beside it is, so nothing hidden can
    be recomputed from what is shown. It errs towards hiding more, never less."""
    if isinstance(node, list):
        return [suppress_tree(item, threshold) for item in node]
    if not isinstance(node, dict):
        return cell(node, threshold) if type(node) is int else node
    shown = {
        key: value if key in KEPT else suppress_tree(value, threshold)
        for key, value in node.items()
    }
    beside_total = (v for k, v in shown.items() if k not in {"total", "answered_rate"})
    if isinstance(shown.get("total"), int) and _any_hidden(beside_total):
        shown["total"] = None
    if "answered_rate" in node and _any_hidden([shown.get("answered"), shown.get("missed")]):
        shown["answered_rate"] = None
    return shown


def _any_hidden(values: Iterable[Any]) -> bool:
    for value in values:
        if isinstance(value, str) and value.startswith("<"):
            return True
        if isinstance(value, dict) and _any_hidden(value.values()):
            return True
    return False
