"""The monthly report as an Excel workbook: the figures one a row, as in the CSV, on a sheet
a programme officer can filter, sum and paste into a donor's template."""

from __future__ import annotations

import io
from typing import Any

import openpyxl  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from services.reporting.report_csv import LABELS, figure_rows


def to_xlsx(report: dict[str, Any]) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Monthly report"
    sheet.append(["section", "measure", "value"])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for key in LABELS:
        if key in report:
            sheet.append(["report", key, _value(report[key])])
    for section, measure, value in figure_rows(report):
        sheet.append([section, measure, _value(value)])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column, width in (("A", 14), ("B", 52), ("C", 16)):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _value(value: Any) -> Any:
    """Numbers stay numbers (so a spreadsheet can add them); "<5" and labels stay text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value
