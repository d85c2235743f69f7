"""The BenCard's QR code: the credential, drawn as vector so it stays sharp on any printer.

A health provider's phone must read it off a card that has been in a wallet for months, so the
symbol is as large as the card allows (27 mm: a ~400-character credential is a 65-module symbol,
about 0.42 mm a module) and uses alphanumeric mode, the densest for the Base45 alphabet.
"""

from __future__ import annotations

import segno
from fpdf import FPDF
from fpdf.drawing import PaintedPath


def draw_qr(pdf: FPDF, credential: str, x: float, y: float, *, size: float) -> None:
    """The credential as a ``size`` mm square QR code at (x, y), drawn as one filled path.

    One path (not a rectangle per module) leaves no hairline seams when rasterised. segno raises
    M to Q whenever Q fits in the same symbol, so scuffed cards still scan while the modules stay
    as large as the space allows.
    """
    symbol = segno.make_qr(credential, error="m", mode="alphanumeric")
    if symbol.error == "H":  # boosted past Q: keep the version, stay within M or Q
        symbol = segno.make_qr(credential, error="q", version=symbol.version, mode="alphanumeric")
    rows = [[bool(dark) for dark in row] for row in symbol.matrix_iter(scale=1, border=0)]
    module = size / len(rows)
    path = PaintedPath()
    path.style.fill_color = "#000000"
    path.style.stroke_color = None
    path.style.paint_rule = "f"
    for r, row in enumerate(rows):
        c = 0
        while c < len(row):
            start = c
            while c < len(row) and row[c] == row[start]:
                c += 1
            if row[start]:
                path.rectangle(x + start * module, y + r * module, (c - start) * module, module)
    with pdf.drawing_context() as context:
        context.add_item(path, clone=False)
