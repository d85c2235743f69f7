"""The printed BenCard: what a card printer, a phone camera and a reader of each language get.

Everything is read back from the produced bytes with independent tools: PDFium (pypdfium2) for
page sizes, the text layer and where each glyph landed, and ZXing (zxing-cpp, a test-only
dependency) for the QR code, so a test fails when the card a person holds would be wrong.
"""

from __future__ import annotations

import ctypes
import io
import random
import unicodedata
from dataclasses import dataclass, replace
from datetime import date

import pypdfium2  # type: ignore[import-untyped]
import pypdfium2.raw as pdfium_c  # type: ignore[import-untyped]
import pytest
import zxingcpp
from PIL import Image

from services.cards.card_fonts import CardPDF
from services.cards.card_labels import ENGLISH, TRANSLATIONS
from services.cards.printing import (
    PrintableCard,
    card_pdf,
    card_png,
    group_card_number,
    sheets_pdf,
)

MM = 72 / 25.4
"""PDF points in a millimetre."""
BASE45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
SCRIPT_FACES = {
    "bn": "NotoSansBengali",
    "hi": "NotoSansDevanagari",
    "ne": "NotoSansDevanagari",
    "ta": "NotoSansTamil",
    "si": "NotoSansSinhala",
    "dv": "NotoSansThaana",
}
CLUSTERS = {"bn": "ত্র", "hi": "त्र", "ne": "त्र", "ta": "பெ", "si": "ඩ්"}
"""A conjunct or reordered vowel in each language's labels that only shaping draws as one glyph."""


def credential(length: int = 400, seed: int = 1) -> str:
    rnd = random.Random(seed)
    return "BC1:" + "".join(rnd.choice(BASE45) for _ in range(length - 4))


def holder(language: str = "en", name: str = "Mohammad Rahim Uddin") -> PrintableCard:
    return PrintableCard(
        card_number="K7MR4XQ2PNC",
        name=name,
        expires_on=date(2027, 6, 30),
        credential=credential(),
        language=language,
    )


@dataclass(frozen=True)
class Glyph:
    char: str
    left: float
    bottom: float
    right: float
    top: float
    font: str


def text_layer(pdf: bytes, page: int = 0) -> tuple[str, list[Glyph]]:
    """The page's extracted text, and each character with its box (points) and font name."""
    document = pypdfium2.PdfDocument(pdf)
    try:
        textpage = document[page].get_textpage()
        glyphs = []
        for index in range(textpage.count_chars()):
            size = pdfium_c.FPDFText_GetFontInfo(textpage, index, None, 0, None)
            name = ctypes.create_string_buffer(size)
            pdfium_c.FPDFText_GetFontInfo(textpage, index, name, size, None)
            left, bottom, right, top = textpage.get_charbox(index)
            char = textpage.get_text_range(index, 1)
            glyphs.append(Glyph(char, left, bottom, right, top, name.value.decode()))
        return textpage.get_text_range(), glyphs
    finally:
        document.close()


def letters(text: str) -> str:
    """Text without whitespace and control characters: what PDFium's line and gap guesses and
    fpdf2's unmapped glyphs of a shaped cluster add to extracted text."""
    return "".join(c for c in text if not c.isspace() and unicodedata.category(c) != "Cc")


def page_sizes_mm(pdf: bytes) -> list[tuple[float, float]]:
    document = pypdfium2.PdfDocument(pdf)
    try:
        return [(w / MM, h / MM) for w, h in (page.get_size() for page in document)]
    finally:
        document.close()


def drawn_as_one_glyph(glyphs: list[Glyph], cluster: str) -> bool:
    """Whether ``cluster`` occurs as consecutive characters sharing a single glyph's box."""
    chars = [g.char for g in glyphs]
    for start in range(len(glyphs) - len(cluster) + 1):
        if chars[start : start + len(cluster)] == list(cluster):
            boxes = {(g.left, g.bottom, g.right, g.top) for g in glyphs[start:][: len(cluster)]}
            if len(boxes) == 1:
                return True
    return False


def test_a_card_is_one_page_of_exactly_id1_size() -> None:
    # given a card; when it is made a PDF
    pdf = card_pdf(holder())
    # then it is one page of 85.6 x 54 mm, what a card printer takes
    [(width, height)] = page_sizes_mm(pdf)
    assert width == pytest.approx(85.6, abs=0.01)
    assert height == pytest.approx(54.0, abs=0.01)


def test_sheets_are_a4_with_ten_cards_a_page() -> None:
    # given 23 cards
    cards = [replace(holder(), card_number=f"K7MR4XQ2P{i:02d}") for i in range(23)]
    # when they are laid out on sheets
    pdf = sheets_pdf(cards)
    # then there are three A4 portrait pages, holding cards 0-9, 10-19 and 20-22 in order
    sizes = page_sizes_mm(pdf)
    assert len(sizes) == 3
    for width, height in sizes:
        assert width == pytest.approx(210, abs=0.01)
        assert height == pytest.approx(297, abs=0.01)
    for page, numbers in enumerate((range(10), range(10, 20), range(20, 23))):
        text, _ = text_layer(pdf, page)
        printed = [n for n in range(23) if f"K7MR-4XQ2-P{n:02d}" in text]
        assert printed == list(numbers)


def test_a_sheet_has_crop_marks_in_its_margins_and_scannable_codes() -> None:
    # given a full sheet rendered at 300 dpi
    cards = [replace(holder(), credential=credential(seed=i)) for i in range(10)]
    document = pypdfium2.PdfDocument(sheets_pdf(cards))
    try:
        image = document[0].render(scale=300 / 72).to_pil().convert("L")
    finally:
        document.close()
    px = 300 / 25.4
    left, top = (210 - 2 * 85.6 - 8) / 2, (297 - 5 * 54 - 4 * 2) / 2
    # then a mark continues each cut line into the margin, and the margin is blank elsewhere
    assert image.getpixel((round(left * px), round((top - 3) * px))) < 128
    assert image.getpixel((round((left - 4) * px), round(top * px))) < 128
    assert image.getpixel((round((left + 40) * px), round((top - 3) * px))) > 200
    # and every card's QR code on it scans back to that card's credential
    decoded = sorted(result.text for result in zxingcpp.read_barcodes(image))
    assert decoded == sorted(card.credential for card in cards)


def test_an_empty_batch_is_refused_with_a_clear_message() -> None:
    with pytest.raises(ValueError, match="at least one card"):
        sheets_pdf([])


def test_the_png_is_the_card_at_300_dpi() -> None:
    # given a card; when it is rendered as PNG
    image = Image.open(io.BytesIO(card_png(holder())))
    # then it decodes, is ID-1 at 300 dpi and says so
    image.load()
    assert image.format == "PNG"
    assert abs(image.width - 1011) <= 1
    assert abs(image.height - 638) <= 1
    assert image.info["dpi"] == (pytest.approx(300, abs=0.01), pytest.approx(300, abs=0.01))
    # and another resolution scales with it
    smaller = Image.open(io.BytesIO(card_png(holder(), dpi=150)))
    assert (abs(smaller.width - 506) <= 1, abs(smaller.height - 319) <= 1) == (True, True)


@pytest.mark.parametrize("dpi", [0, -300, 100_000])
def test_a_dpi_that_makes_no_sense_is_refused(dpi: int) -> None:
    with pytest.raises(ValueError, match="dpi"):
        card_png(holder(), dpi=dpi)


@pytest.mark.parametrize(
    "payload",
    [credential(400, seed=7), credential(120, seed=8), "BC1:6BF $%*+-./: 0123456789"],
    ids=["400-chars", "120-chars", "every-symbol"],
)
def test_the_qr_code_scans_back_to_the_exact_credential(payload: str) -> None:
    # given a card carrying the credential; when its PNG is scanned
    image = Image.open(io.BytesIO(card_png(replace(holder(), credential=payload))))
    [result] = zxingcpp.read_barcodes(image)
    # then the code gives back exactly the credential, at error correction M or Q
    assert result.format == zxingcpp.BarcodeFormat.QRCode
    assert result.text == payload
    assert result.ec_level in ("M", "Q")
    # and it is large enough for a phone: at least 22 mm a side on the card
    corners = result.position
    side_px = corners.top_right.x - corners.top_left.x
    assert side_px / (300 / 25.4) >= 22


def test_the_text_layer_has_number_name_expiry_and_english_labels() -> None:
    # given an English card; when its PDF text is extracted
    text, _ = text_layer(card_pdf(holder()))
    # then the grouped number, the name, the expiry and every label can be found and copied
    for expected in (
        "BenCard",
        "K7MR-4XQ2-PNC",
        "Mohammad Rahim Uddin",
        "2027-06-30",
        "Migrant Support Programme",
        "Maldivian Red Crescent",
        *vars(ENGLISH).values(),
    ):
        assert expected in text


def test_an_unknown_language_gives_english_only() -> None:
    # given holders whose language has no translation
    for language in ("fr", "", "xx"):
        text, glyphs = text_layer(card_pdf(holder(language)))
        # then the card is the English one: only Latin faces, no second label
        assert text == text_layer(card_pdf(holder("en")))[0]
        fonts = {g.font.split("+")[-1] for g in glyphs if g.char.strip()}
        assert fonts == {"NotoSans", "NotoSansBold"}
        assert "·" not in text


@pytest.mark.parametrize("language", sorted(SCRIPT_FACES))
def test_every_label_also_appears_in_the_holders_language_in_its_own_face(
    language: str,
) -> None:
    # given a card for a holder of this language; when its PDF is read back
    own = TRANSLATIONS[language]
    text, glyphs = text_layer(card_pdf(holder(language)))
    # then the English labels are there (word by word: PDFium extracts a line holding Thaana
    # from right to left), and so is each translated one
    for english in vars(ENGLISH).values():
        assert all(word in text for word in english.split())
    drawn = [g for g in glyphs if g.font.split("+")[-1].startswith(SCRIPT_FACES[language])]
    for label in vars(own).values():
        if language != "dv":  # PDFium extracts Thaana in visual order, checked in its own test
            assert letters(label) in letters(text)
        # and each of its characters is drawn in the script's own face, not as a box
        missing = [c for c in letters(label) if c not in {g.char for g in drawn}]
        assert missing == []
    # and nothing spills over the card's edges
    width, height = 85.6 * MM, 54 * MM
    assert all(g.left > 0 and g.right < width and g.bottom > 0 and g.top < height for g in glyphs)


@pytest.mark.parametrize(("language", "cluster"), sorted(CLUSTERS.items()), ids=sorted(CLUSTERS))
def test_labels_are_shaped_so_conjuncts_and_vowel_signs_form(
    language: str, cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a label with a conjunct or a reordered vowel sign; when the card is printed
    _, glyphs = text_layer(card_pdf(holder(language)))
    # then the cluster is drawn as one shaped glyph
    assert drawn_as_one_glyph(glyphs, cluster)
    # and not so without shaping (the check above can fail)
    monkeypatch.setattr(CardPDF, "set_text_shaping", lambda self, **_: None)
    _, unshaped = text_layer(card_pdf(holder(language)))
    assert not drawn_as_one_glyph(unshaped, cluster)


def test_dhivehi_labels_run_right_to_left(monkeypatch: pytest.MonkeyPatch) -> None:
    def card_number_label(glyphs: list[Glyph]) -> dict[str, float]:
        baa = next(g for g in glyphs if g.char == "ބ")  # only in "ކާޑު ނަންބަރު"
        line = [g for g in glyphs if abs(g.bottom - baa.bottom) < 2 and g.char in "ކބރC"]
        return {g.char: g.left for g in line}

    # given a Dhivehi holder's card; when it is printed
    _, glyphs = text_layer(card_pdf(holder("dv")))
    # then "ކާޑު ނަންބަރު" reads from the right: its first letter is rightmost, its last leftmost,
    # all after the English "Card number" that opens the line
    x = card_number_label(glyphs)
    assert x["C"] < x["ރ"] < x["ބ"] < x["ކ"]
    # and not so without shaping and bidi (the check above can fail)
    monkeypatch.setattr(CardPDF, "set_text_shaping", lambda self, **_: None)
    x = card_number_label(text_layer(card_pdf(holder("dv")))[1])
    assert not x["ރ"] < x["ބ"] < x["ކ"]


@pytest.mark.parametrize(
    ("name", "face"),
    [
        ("আয়েশা বেগম", "NotoSansBengaliBold"),
        ("র\u200d্যাব হাসান", "NotoSansBengaliBold"),
        ("ශ්\u200dරීයානි කුමාරි", "NotoSansSinhalaBold"),
        ("राम बहादुर श्रेष्ठ", "NotoSansDevanagariBold"),
        ("முருகன் செல்வராஜ்", "NotoSansTamilBold"),
    ],
)
def test_a_name_in_a_holder_script_is_set_in_that_scripts_face(name: str, face: str) -> None:
    # given a name in a non-Latin script, on an English card; when it is printed
    text, glyphs = text_layer(card_pdf(holder("en", name)))
    # then the whole name, joiners included, is in the text layer (fpdf2 2.8 on its own cuts
    # the run at a ZWJ, losing it and printing a dotted circle), drawn in the script's face
    assert letters(name) in letters(text)
    script = {c for c in name if unicodedata.category(c).startswith("L")}
    assert {g.font.split("+")[-1] for g in glyphs if g.char in script} == {face}


def test_a_long_name_shrinks_or_wraps_but_stays_whole_and_on_the_card() -> None:
    # given a name far longer than the line
    name = "Mohammed Abdul Rahman Chowdhury Al-Hasan Bin Khalid Al-Mansouri"
    # when it is printed
    text, glyphs = text_layer(card_pdf(holder("bn", name)))
    # then every letter is there and none runs past the right margin
    assert letters(name) in letters(text)
    assert max(g.right for g in glyphs) <= (85.6 - 3.5) * MM + 0.5


def test_a_name_the_card_fonts_cannot_print_is_refused() -> None:
    # given a name in a script no vendored font has; when it is printed
    with pytest.raises(ValueError, match="cannot print") as refused:
        card_pdf(holder("en", "王小明"))
    # then it is refused, naming the card, rather than printed with letters missing
    assert "K7MR-4XQ2-PNC" in str(refused.value)


@pytest.mark.parametrize("payload", ["BC1:abc", "BC1:ÄÖ", "", "BC1:" + "A" * 5000])
def test_a_credential_the_qr_code_cannot_carry_is_refused(payload: str) -> None:
    # given a credential that is not Base45 text, is empty or is too long for any QR code
    # when it is printed; then it is refused rather than printed as a code that will not verify
    with pytest.raises(ValueError, match=r"credential|Data too large"):
        card_pdf(replace(holder(), credential=payload))


def test_card_numbers_are_printed_in_groups_of_four_four_three() -> None:
    assert group_card_number("K7MR4XQ2PNC") == "K7MR-4XQ2-PNC"
    assert group_card_number("k7mr-4xq2-pnc") == "K7MR-4XQ2-PNC"
