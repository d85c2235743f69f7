"""Fonts for the printed BenCard: one vendored Noto face per script, chosen by the text itself.

Cards are printed on machines that have nothing but Python and this repository, so every face is
vendored in ``fonts/`` (see its README). A Bengali name set in a Latin face prints as empty boxes,
and Thaana cannot be laid out right to left without its own face, so the face is picked from the
script of each piece of text rather than from the holder's preferred language.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

from fontTools.ttLib import TTFont  # type: ignore[import-untyped]
from fpdf import FPDF
from fpdf.line_break import Fragment

FONT_DIR: Final = Path(__file__).with_name("fonts")

LATIN: Final = "NotoSans"
"""The face for Latin text, digits and punctuation: the card's main face."""

# (first code point, last code point, family): the scripts a BenCard holder may write in.
SCRIPT_RANGES: Final[tuple[tuple[int, int, str], ...]] = (
    (0x0780, 0x07BF, "NotoSansThaana"),
    (0x0900, 0x097F, "NotoSansDevanagari"),
    (0xA8E0, 0xA8FF, "NotoSansDevanagari"),
    (0x0980, 0x09FF, "NotoSansBengali"),
    (0x0B80, 0x0BFF, "NotoSansTamil"),
    (0x0D80, 0x0DFF, "NotoSansSinhala"),
)
SCALE: Final = {"NotoSansThaana": 1.2}
"""Thaana letters sit on a small body; at the same point size they read a size smaller."""

FAMILIES: Final[tuple[str, ...]] = (
    LATIN,
    "NotoSansLatinExt",
    "NotoSansVietnamese",
    *dict.fromkeys(family for _, _, family in SCRIPT_RANGES),
)
"""Every vendored family, in fallback order: Latin first, so digits and hyphens stay in it."""

JOINERS: Final = frozenset("\u200c\u200d")


class CardPDF(FPDF):
    """An FPDF with the faces ``texts`` need registered, fallback across them and shaping on.

    Shaping (HarfBuzz through uharfbuzz) forms conjuncts, reorders vowel signs and, with fpdf2's
    bidi pass, lays Thaana out right to left; without it Indic labels print as broken letters.
    fpdf2 embeds every registered face, so only the faces the texts use are registered.
    """

    def __init__(self, width: float, height: float, texts: Iterable[str]) -> None:
        super().__init__(unit="mm", format=(width, height))
        families = families_for(texts)
        for family in families:
            self.add_font(family, "", FONT_DIR / f"{family}-Regular.ttf")
            self.add_font(family, "B", FONT_DIR / f"{family}-Bold.ttf")
        self.set_fallback_fonts(families, exact_match=True)
        self.set_text_shaping(use_shaping_engine=True)

    def _parse_chars(
        self,
        text: str,
        markdown: bool,
        *,
        _initial_emphasis: tuple[bool, bool, bool, bool] | None = None,
    ) -> Iterator[Fragment]:
        """fpdf2 2.8 cuts a run at ZWJ/ZWNJ (Unicode script "Inherited"), so each side is shaped
        alone: Bengali "র‍্যাব" gets a dotted circle and Sinhala "ශ්‍රී" loses its conjunct. Glue
        such pieces back together when they share a face, so HarfBuzz sees the whole cluster."""
        pending: Fragment | None = None
        for fragment in super()._parse_chars(text, markdown, _initial_emphasis=_initial_emphasis):
            if pending is not None and _joined(pending, fragment):
                pending = Fragment(
                    pending.characters + fragment.characters,
                    pending.graphics_state,
                    pending.k,
                    pending.link,
                )
                continue
            if pending is not None:
                yield pending
            pending = fragment
        if pending is not None:
            yield pending


def _joined(before: Fragment, after: Fragment) -> bool:
    at_joiner = bool(JOINERS & {*before.characters[-1:], *after.characters[:1]})
    return at_joiner and before.graphics_state == after.graphics_state and before.link == after.link


@functools.cache
def coverage(family: str) -> frozenset[int]:
    """The code points a vendored family can draw (its regular and bold files share a cmap)."""
    with TTFont(FONT_DIR / f"{family}-Regular.ttf", lazy=True) as font:
        return frozenset(font.getBestCmap())


def families_for(texts: Iterable[str]) -> tuple[str, ...]:
    """Latin, each text's own face, and the first face (as fpdf2 falls back) for what they lack."""
    needed = {LATIN}
    for text in texts:
        current = family_for(text)
        needed.add(current)
        for point in {ord(char) for char in text}:
            if point not in coverage(current) and point not in coverage(LATIN):
                fallback = next((f for f in FAMILIES if point in coverage(f)), None)
                if fallback is not None:
                    needed.add(fallback)
    return tuple(family for family in FAMILIES if family in needed)


def unprintable(text: str) -> str:
    """The characters of ``text`` that no vendored face can draw, in order of appearance.

    fpdf2 silently drops such characters; on an identity card a name with a letter missing is
    worse than no card, so callers refuse to print instead.
    """
    covered = [coverage(family) for family in FAMILIES]
    return "".join(dict.fromkeys(c for c in text if not any(ord(c) in cs for cs in covered)))


def family_for(text: str) -> str:
    """The face for ``text``: that of its first letter in one of the holder scripts, else Latin.

    Making the script's face the *current* font (rather than leaving it to per-character
    fallback) keeps spaces and joiners inside the script run; Latin letters still fall back.
    """
    for char in text:
        point = ord(char)
        for first, last, family in SCRIPT_RANGES:
            if first <= point <= last:
                return family
    return LATIN


def set_font_for(pdf: FPDF, text: str, size: float, *, bold: bool = False) -> None:
    """Select the face that suits ``text``, at ``size`` points as the eye reads it."""
    family = family_for(text)
    pdf.set_font(family, "B" if bold else "", size * SCALE.get(family, 1.0))
