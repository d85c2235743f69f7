"""A report as CSV, one figure a row (``section,measure,value``), for a spreadsheet or a
donor's own template: nested tables become dotted measure names, a service's row its code."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

LABELS = ("month", "from", "to", "site", "as_of", "timezone", "suppressed")
"""Top-level keys that describe the report: written first, as the ``report`` section."""


def to_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "measure", "value"])
    for key in LABELS:
        if key in report:
            writer.writerow(["report", key, _text(report[key])])
    writer.writerows(
        [section, measure, _text(value)] for section, measure, value in figure_rows(report)
    )
    return out.getvalue()


def figure_rows(report: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """Every figure of the report but its labels: (section, dotted measure, value)."""
    for section, body in report.items():
        if section not in LABELS:
            for measure, value in _rows(body):
                yield section, measure, value


def _rows(node: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _rows(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            label = item.get("service", index) if isinstance(item, dict) else index
            fields = (
                {k: v for k, v in item.items() if k != "service"}
                if isinstance(item, dict)
                else item
            )
            yield from _rows(fields, f"{prefix}.{label}")
    else:
        yield prefix, node


def _text(value: Any) -> str:
    if value is None:
        return ""  # hidden from a partner, or not applicable (a rate of no calls)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
