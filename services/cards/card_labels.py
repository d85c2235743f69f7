"""The BenCard's labels in English and in the holder's own language.

Holders are migrant workers who may not read English, and the health providers who check the
card may not read the holder's script, so every label is printed in both. Each translation is a
fixed, reviewed string (see the table below); a language without one gets English only rather
than a machine guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True)
class Labels:
    """The words printed next to the card's values, in one language."""

    identity_card: str
    name: str
    card_number: str
    valid_until: str


ENGLISH: Final = Labels(
    identity_card="Identity card",
    name="Name",
    card_number="Card number",
    valid_until="Valid until",
)

# Where a language says "date of expiry" on its own documents (passports, ID cards) rather than a
# literal "valid until", that established wording is used; the date itself follows in ISO form.
TRANSLATIONS: Final[dict[str, Labels]] = {
    "bn": Labels(  # Bengali
        identity_card="পরিচয়পত্র",
        name="নাম",
        card_number="কার্ড নম্বর",
        valid_until="মেয়াদোত্তীর্ণের তারিখ",
    ),
    "hi": Labels(  # Hindi
        identity_card="पहचान पत्र",
        name="नाम",
        card_number="कार्ड नंबर",
        valid_until="समाप्ति तिथि",
    ),
    "ne": Labels(  # Nepali
        identity_card="परिचयपत्र",
        name="नाम",
        card_number="कार्ड नम्बर",
        valid_until="म्याद सकिने मिति",
    ),
    "ta": Labels(  # Tamil
        identity_card="அடையாள அட்டை",
        name="பெயர்",
        card_number="அட்டை எண்",
        valid_until="காலாவதி தேதி",
    ),
    "si": Labels(  # Sinhala
        identity_card="හැඳුනුම්පත",
        name="නම",
        card_number="කාඩ්පත් අංකය",
        valid_until="කල් ඉකුත් වන දිනය",
    ),
    "dv": Labels(  # Dhivehi (Thaana, right to left)
        identity_card="އައިޑީ ކާޑު",
        name="ނަން",
        card_number="ކާޑު ނަންބަރު",
        valid_until="މުއްދަތު ހަމަވާ ތާރީޚު",
    ),
}


def translated_labels(language: str) -> Labels | None:
    """The holder-language labels, or None when English alone is printed.

    A regional tag such as "bn-BD" or "ne_NP" is read by its language part.
    """
    return TRANSLATIONS.get(language.strip().lower().replace("_", "-").split("-")[0])
