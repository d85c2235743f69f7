"""The printed BenCard: an ID-1 card (85.6 x 54 mm) as PDF or PNG, and A4 sheets for batch printing.

Everything is drawn as vector PDF (fpdf2, text shaped by HarfBuzz) so a card printer or an office
printer gets crisp text and a crisp QR code at any resolution; the PNG is rendered from that same
PDF (PDFium) so the preview a caseworker sees is the card that will be printed. Pure library code:
the only files read are the vendored fonts.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Final

import pypdfium2  # type: ignore[import-untyped]

from services.cards.card_fonts import CardPDF
from services.cards.card_layout import CARD_H, CARD_W, card_texts, draw_card, group_card_number

__all__ = ["PrintableCard", "card_pdf", "card_png", "group_card_number", "sheets_pdf"]

A4_W: Final = 210.0
A4_H: Final = 297.0
COLUMNS: Final = 2
ROWS: Final = 5
COL_GAP: Final = 8.0
ROW_GAP: Final = 2.0
"""Gaps between cards on a sheet, so a cut a little off the line does not clip a neighbour."""
MARK_OFFSET: Final = 1.5
MARK_LENGTH: Final = 3.5
MAX_DPI: Final = 1200
"""A card at 1200 dpi is already a 4043 x 2551 bitmap; more only costs memory."""

_PDFIUM: Final = threading.Lock()
"""PDFium must not be entered from two threads at once, even for different documents, and the
HTTP layer renders in worker threads; every PDFium object is closed before the lock is let go."""


@dataclass(frozen=True)
class PrintableCard:
    """What is printed on one BenCard (see the module docstring for how it is laid out)."""

    card_number: str
    name: str
    expires_on: date
    credential: str
    language: str
    programme: str = "Migrant Support Programme"
    issuer: str = "Maldivian Red Crescent"


def card_pdf(card: PrintableCard) -> bytes:
    """One page exactly the size of the card, for a card printer."""
    pdf = _new_pdf(CARD_W, CARD_H, card_texts(card))
    pdf.add_page()
    draw_card(pdf, card, 0.0, 0.0)
    return bytes(pdf.output())


def card_png(card: PrintableCard, *, dpi: int = 300) -> bytes:
    """The same card rendered from its PDF, for previews and for printers that take images."""
    if not 0 < dpi <= MAX_DPI:
        raise ValueError(f"dpi must be between 1 and {MAX_DPI} dots per inch, not {dpi}")
    pdf = card_pdf(card)
    with _PDFIUM:
        document = pypdfium2.PdfDocument(pdf)
        try:
            bitmap = document[0].render(scale=dpi / 72)
            try:
                image = bitmap.to_pil().copy()
            finally:
                bitmap.close()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(dpi, dpi))
    return out.getvalue()


def sheets_pdf(cards: Sequence[PrintableCard]) -> bytes:
    """A4 portrait pages of 2 x 5 cards with crop marks, for printing a batch on plain stock."""
    if not cards:
        raise ValueError("sheets_pdf needs at least one card to print; it was given none")
    pdf = _new_pdf(A4_W, A4_H, [text for card in cards for text in card_texts(card)])
    left = (A4_W - COLUMNS * CARD_W - (COLUMNS - 1) * COL_GAP) / 2
    top = (A4_H - ROWS * CARD_H - (ROWS - 1) * ROW_GAP) / 2
    per_page = COLUMNS * ROWS
    for index, card in enumerate(cards):
        if index % per_page == 0:
            pdf.add_page()
            _draw_crop_marks(pdf, left, top)
        row, column = divmod(index % per_page, COLUMNS)
        draw_card(pdf, card, left + column * (CARD_W + COL_GAP), top + row * (CARD_H + ROW_GAP))
    return bytes(pdf.output())


def _new_pdf(width: float, height: float, texts: list[str]) -> CardPDF:
    pdf = CardPDF(width, height, texts)
    pdf.set_auto_page_break(auto=False)
    pdf.set_margins(0, 0, 0)
    pdf.c_margin = 0
    pdf.set_creator("BenSys")
    pdf.set_title("BenCard")
    return pdf


def _draw_crop_marks(pdf: CardPDF, left: float, top: float) -> None:
    """Marks in the sheet's margins on every cut line; none is drawn over a card."""
    right, bottom = A4_W - left, A4_H - top
    near, far = MARK_OFFSET, MARK_OFFSET + MARK_LENGTH
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)
    for column in range(COLUMNS):
        start = left + column * (CARD_W + COL_GAP)
        for edge in (start, start + CARD_W):
            pdf.line(edge, top - near, edge, top - far)
            pdf.line(edge, bottom + near, edge, bottom + far)
    for row in range(ROWS):
        start = top + row * (CARD_H + ROW_GAP)
        for edge in (start, start + CARD_H):
            pdf.line(left - near, edge, left - far, edge)
            pdf.line(right + near, edge, right + far, edge)
