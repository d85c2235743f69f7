"""Where everything sits on the 85.6 x 54 mm BenCard, drawn at any offset on any page.

Layout, in millimetres: a red band with the brand and the bilingual "Identity card"; a QR code on
the left, large enough for a phone held at arm's length; name, card number and expiry to its
right, each under its bilingual label; programme and issuer in a footer. Nothing is placed within
3.5 mm of an edge, which card printers and guillotines do not hold reliably.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Final

from fpdf import FPDF
from fpdf.enums import Align

from services.cards.card_fonts import LATIN, set_font_for, unprintable
from services.cards.card_labels import ENGLISH, translated_labels
from services.cards.card_qr import draw_qr

if TYPE_CHECKING:
    from services.cards.printing import PrintableCard

CARD_W: Final = 85.6
CARD_H: Final = 54.0
EDGE: Final = 3.5
BAND_H: Final = 10.5
TEXT_X: Final = 34.0
TEXT_W: Final = CARD_W - TEXT_X - EDGE
RED: Final = (200, 16, 46)
INK: Final = (20, 20, 20)
MUTED: Final = (95, 95, 95)
BASE45: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:")


def card_texts(card: PrintableCard) -> list[str]:
    """Every piece of text on the card, so the PDF can register exactly the faces it needs.

    Raises ValueError when the name, programme or issuer has a character no vendored face can
    draw, rather than print an identity card with a letter silently missing, and when the
    credential is not Base45 text, which the QR code's alphanumeric mode cannot carry.
    """
    name = unicodedata.normalize("NFC", card.name)
    foreign = "".join(dict.fromkeys(c for c in card.credential if c not in BASE45))
    if foreign or not card.credential:
        raise ValueError(
            f"card {group_card_number(card.card_number)}: the credential must be non-empty"
            f" Base45 text (0-9, A-Z, space and $%*+-./:); it has {foreign!r}"
        )
    for what, text in (("name", name), ("programme", card.programme), ("issuer", card.issuer)):
        if missing := unprintable(text):
            raise ValueError(
                f"card {group_card_number(card.card_number)}: the {what} {text!r} has characters"
                f" the card fonts cannot print: {missing!r}"
            )
    own = translated_labels(card.language)
    labels = [ENGLISH, own] if own else [ENGLISH]
    words = [text for label in labels for text in vars(label).values()]
    return [*words, name, card.programme, card.issuer, group_card_number(card.card_number)]


def draw_card(pdf: FPDF, card: PrintableCard, x: float, y: float) -> None:
    """Draw ``card`` with its top-left corner at (x, y); ``card_texts`` must have vetted it."""
    name = unicodedata.normalize("NFC", card.name)
    own = translated_labels(card.language)
    pdf.set_fill_color(*RED)
    pdf.rect(x, y, CARD_W, BAND_H, style="F")
    pdf.set_text_color(255, 255, 255)
    pdf.set_font(LATIN, "B", 14)
    pdf.set_xy(x + EDGE, y + 1.5)
    pdf.cell(24, 7.5, "BenCard")
    subtitle = own.identity_card if own else None
    band = (x + 29, y + 1.5, CARD_W - 29 - EDGE, 7.5)
    _pair(pdf, ENGLISH.identity_card, subtitle, at=band, size=7.5, align="R")
    draw_qr(pdf, card.credential, x + EDGE, y + 13.0, size=27.0)
    number = group_card_number(card.card_number)
    fields = (
        (ENGLISH.name, own.name if own else None, name),
        (ENGLISH.card_number, own.card_number if own else None, number),
        (ENGLISH.valid_until, own.valid_until if own else None, card.expires_on.isoformat()),
    )
    top = y + 12.5
    for english, translated, value in fields:
        pdf.set_text_color(*MUTED)
        _pair(pdf, english, translated, at=(x + TEXT_X, top, TEXT_W, 3.4), size=6.0)
        pdf.set_text_color(*INK)
        _fit(pdf, value, at=(x + TEXT_X, top + 3.4, TEXT_W, 5.0), size=11.0)
        top += 9.4
    pdf.set_draw_color(*RED)
    pdf.set_line_width(0.3)
    pdf.line(x + EDGE, y + 42.5, x + CARD_W - EDGE, y + 42.5)
    pdf.set_text_color(*INK)
    _fit(pdf, card.programme, at=(x + EDGE, y + 43.5, CARD_W - 2 * EDGE, 3.8), size=7.0)
    pdf.set_text_color(*MUTED)
    _fit(pdf, card.issuer, at=(x + EDGE, y + 47.3, CARD_W - 2 * EDGE, 3.4), size=6.5, bold=False)


def group_card_number(card_number: str) -> str:
    """ "K7MR4XQ2PNC" -> "K7MR-4XQ2-PNC": groups of 4-4-3 are easier to read out and type."""
    plain = "".join(card_number.split()).replace("-", "").upper()
    return "-".join(part for part in (plain[:4], plain[4:8], plain[8:]) if part)


Area = tuple[float, float, float, float]
"""x, y, width and height of a line of text, in millimetres."""


def _pair(
    pdf: FPDF, english: str, own: str | None, *, at: Area, size: float, align: str = "L"
) -> None:
    """A label in English and the holder's language on one line, each part in its own face.

    The English part stays in the Latin face even beside Sinhala or Thaana, whose faces carry
    wider spaces; the line shrinks (to 60% at most) rather than run into its neighbour.
    """
    x, y, width, height = at
    parts = [english] if own is None else [f"{english} · ", own]
    scale = 1.0
    widths = _widths(pdf, parts, size)
    while sum(widths) > width and scale > 0.6:
        scale -= 0.05
        widths = _widths(pdf, parts, size * scale)
    left = x + width - sum(widths) if align == "R" else x
    for part, part_width in zip(parts, widths, strict=True):
        set_font_for(pdf, part, size * scale)
        pdf.set_xy(left, y)
        pdf.cell(part_width, height, part)
        left += part_width


def _widths(pdf: FPDF, parts: list[str], size: float) -> list[float]:
    widths = []
    for part in parts:
        set_font_for(pdf, part, size)
        widths.append(pdf.get_string_width(part))
    return widths


def _fit(pdf: FPDF, text: str, *, at: Area, size: float, bold: bool = True) -> None:
    """A value on one line, shrinking the type for long names; very long ones take two lines."""
    x, y, width, height = at
    smallest = size * 0.6
    set_font_for(pdf, text, size, bold=bold)
    while pdf.get_string_width(text) > width and size > smallest * 0.75:
        if size <= smallest and pdf.get_string_width(text) <= width * 1.8:
            break
        size -= 0.25
        set_font_for(pdf, text, size, bold=bold)
    pdf.set_xy(x, y)
    if pdf.get_string_width(text) <= width:
        pdf.cell(width, height, text)
    else:
        pdf.multi_cell(width, height / 2, text, align=Align.L)
