"""The monthly report as a PDF a programme manager can send to a donor as it is: the key
figures, four charts and the tables behind them, on A4.

Drawn with fpdf2's own shapes and its core Helvetica (the report's words are English; names
of people never appear in a report), so it needs no plotting library and no font files.
Counts a partner may not see ("<5") are drawn as an empty bar labelled "<5".
"""

from __future__ import annotations

import calendar
from typing import Any

from fpdf import FPDF

from services.reporting.daily import SEXES

INK = (33, 37, 41)
MUTED = (108, 117, 125)
RED = (200, 16, 46)  # the Red Crescent red, for the headings' rule
BARS = ((200, 16, 46), (52, 101, 164), (0, 128, 96), (230, 140, 20), (120, 80, 160))
PAGE_WIDTH = 210
MARGIN = 14
WIDTH = PAGE_WIDTH - 2 * MARGIN


def to_pdf(report: dict[str, Any], programme: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(auto=True, margin=MARGIN)
    pdf.set_title(_t(f"{programme}: monthly report {report['month']}"))
    pdf.add_page()
    _header(pdf, report, programme)
    _key_figures(pdf, report)
    people = report["people"]["registered_in_month"]
    services = report["services"]
    calls = report["helpline"]["calls"]
    _charts(
        pdf,
        [
            ("New registrations by sex", {s: people["by_sex"][s] for s in SEXES}),
            ("New registrations by nationality", people["by_nationality"]),
            (
                "People reached, by service",
                {row["service"]: row["unique_people"] for row in services["by_service"]},
            ),
            ("Helpline calls by category", calls["by_category"]),
        ],
    )
    _tables(pdf, report)
    _footer_note(pdf, report)
    return bytes(pdf.output())


def _t(text: Any) -> str:
    """Text Helvetica can draw: anything outside Latin-1 becomes '?'."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.0%}"
    if isinstance(value, int):
        return f"{value:,}"
    return _t(value)


def _header(pdf: FPDF, report: dict[str, Any], programme: str) -> None:
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(WIDTH, 9, _t(programme), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 12)
    where = report["site"] or "all sites"
    pdf.cell(
        WIDTH,
        7,
        _t(f"Monthly report, {_month_name(report['month'])}, {where}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_font("Helvetica", "", 8)
    pdf.set_text_color(*MUTED)
    stamp = f"as of {report['as_of']}" if report.get("as_of") else "as of the time of printing"
    pdf.cell(
        WIDTH,
        5,
        _t(f"{report['from']} to {report['to']} ({report['timezone']}), {stamp}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.8)
    pdf.line(MARGIN, pdf.get_y() + 2, PAGE_WIDTH - MARGIN, pdf.get_y() + 2)
    pdf.ln(6)


def _key_figures(pdf: FPDF, report: dict[str, Any]) -> None:
    services = report["services"]
    figures = [
        ("registered this month", report["people"]["registered_in_month"]["total"]),
        ("registered to date", report["people"]["registered_to_date"]["total"]),
        ("BenCards active", report["cards"]["active_at_month_end"]),
        ("people vaccinated", report["vaccination"]["people_with_a_dose"]),
        ("people given relief", services["unique_people"]),
        ("helpline calls", report["helpline"]["calls"]["total"]),
    ]
    box = WIDTH / len(figures)
    top = pdf.get_y()
    for index, (label, value) in enumerate(figures):
        x = MARGIN + index * box
        pdf.set_xy(x, top)
        pdf.set_text_color(*INK)
        pdf.set_font("Helvetica", "B", 16)
        pdf.cell(box, 9, _shown(value), align="C")
        pdf.set_xy(x, top + 9)
        pdf.set_text_color(*MUTED)
        pdf.set_font("Helvetica", "", 7)
        pdf.cell(box, 4, _t(label), align="C")
    pdf.set_y(top + 18)


def _charts(pdf: FPDF, charts: list[tuple[str, dict[str, Any]]]) -> None:
    """Two charts a row, each a set of horizontal bars scaled to its largest count."""
    column = (WIDTH - 8) / 2
    for row in range(0, len(charts), 2):
        top = pdf.get_y()
        heights = []
        for offset, (title, values) in enumerate(charts[row : row + 2]):
            x = MARGIN + offset * (column + 8)
            heights.append(
                _bar_chart(
                    pdf, x, top, column, title=title, values=values, colour=BARS[row + offset]
                )
            )
        pdf.set_y(top + max(heights) + 6)


def _bar_chart(
    pdf: FPDF,
    x: float,
    top: float,
    width: float,
    *,
    title: str,
    values: dict[str, Any],
    colour: tuple[int, int, int],
) -> float:
    pdf.set_xy(x, top)
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 9)
    pdf.cell(width, 6, _t(title))
    shown = list(values.items())[:10] or [("(none)", 0)]
    counts = [v for _, v in shown if isinstance(v, int)]
    largest = max(counts, default=0) or 1
    label_width, bar_room = width * 0.38, width * 0.5
    pdf.set_font("Helvetica", "", 7)
    y = top + 7
    for label, value in shown:
        pdf.set_xy(x, y)
        pdf.set_text_color(*MUTED)
        pdf.cell(label_width, 4.5, _t(str(label).replace("_", " ")))
        length = bar_room * value / largest if isinstance(value, int) else 0
        if length:
            pdf.set_fill_color(*colour)
            pdf.rect(x + label_width, y + 0.6, length, 3.3, style="F")
        pdf.set_xy(x + label_width + length + 1, y)
        pdf.set_text_color(*INK)
        pdf.cell(14, 4.5, _shown(value))
        y += 5
    return y - top


def _tables(pdf: FPDF, report: dict[str, Any]) -> None:
    services = report["services"]
    _table(
        pdf,
        "Relief delivered",
        ["service", "deliveries", "people", "women", "men"],
        [
            [
                row["service"].replace("_", " "),
                row["deliveries"],
                row["unique_people"],
                row["people_by_sex"]["female"],
                row["people_by_sex"]["male"],
            ]
            for row in services["by_service"]
        ]
        + [
            [
                "group activities (people reached)",
                services["group_activities"]["total"],
                services["group_activities"]["people_reached"],
                "",
                "",
            ],
            ["voided (left out of the rows above)", services["voided"], "", "", ""],
            ["given under an entitlement override", services["overridden"], "", "", ""],
        ],
    )
    helpline, vaccination = report["helpline"], report["vaccination"]
    calls = helpline["calls"]
    follow_ups = helpline["follow_ups"]
    _table(
        pdf,
        "Vaccination and the helpline",
        ["measure", "count"],
        [
            ["doses given", vaccination["doses_given"]],
            ["people with a dose", vaccination["people_with_a_dose"]],
            ["people completing a course", vaccination["people_completing_a_course"]],
            ["calls answered / missed", _pair(calls["answered"], calls["missed"])],
            ["answered rate", calls["answered_rate"]],
            ["referrals made", helpline["referrals"]["made"]],
            *[
                [f"referrals {k.replace('_', ' ')}", v]
                for k, v in helpline["referrals"]["outcomes"].items()
            ],
            [
                "follow-ups open / overdue at month end",
                _pair(follow_ups["open_at_month_end"], follow_ups["overdue_at_month_end"]),
            ],
        ],
    )


def _table(pdf: FPDF, title: str, head: list[str], rows: list[list[Any]]) -> None:
    pdf.set_text_color(*INK)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(WIDTH, 7, _t(title), new_x="LMARGIN", new_y="NEXT")
    first = WIDTH * (0.46 if len(head) > 2 else 0.7)
    rest = (WIDTH - first) / max(len(head) - 1, 1)
    pdf.set_font("Helvetica", "B", 8)
    pdf.set_fill_color(241, 243, 245)
    for index, name in enumerate(head):
        pdf.cell(
            first if index == 0 else rest, 6, _t(name), fill=True, align="L" if index == 0 else "R"
        )
    pdf.ln(6)
    pdf.set_font("Helvetica", "", 8)
    for row in rows:
        for index, value in enumerate(row):
            text = _t(value) if index == 0 or isinstance(value, str) else _shown(value)
            pdf.cell(first if index == 0 else rest, 5, text, align="L" if index == 0 else "R")
        pdf.ln(5)
    pdf.ln(3)


def _footer_note(pdf: FPDF, report: dict[str, Any]) -> None:
    pdf.set_font("Helvetica", "", 7)
    pdf.set_text_color(*MUTED)
    notes = [
        "People are counted once: a record found to be a duplicate of another counts with it.",
        "Voided deliveries are left out of every count.",
    ]
    if report.get("suppressed"):
        notes.append("Counts from 1 to 4 are shown as <5, and totals that would reveal them as -.")
    pdf.multi_cell(WIDTH, 4, _t(" ".join(notes)))


def _pair(first: Any, second: Any) -> str:
    return f"{_shown(first)} / {_shown(second)}"


def _month_name(month: str) -> str:
    year, number = month.split("-")
    return f"{calendar.month_name[int(number)]} {year}"
