"""The one text normaliser every stage uses (clustering, citations, alerts), and small wording helpers for
messages. Pure.

``unify_script``: Unicode NFKC, one apostrophe, and for Arabic script the usual unification (diacritics,
Quranic marks and tatweel deleted; alef, yaa, taa marbuta, hamza seats and Persian letter forms unified;
Arabic-Indic digits as ASCII). ``normalize`` is that, case-folded: what matching and tokenising compare.
"""

from __future__ import annotations

import unicodedata

# Arabic: signs, harakat, superscript alef, Quranic annotation marks and tatweel are deleted.
_ARABIC_DELETE = [*range(0x0610, 0x061B), *range(0x064B, 0x0660), 0x0670, *range(0x06D6, 0x06EE), 0x0640]
_ARABIC_MAP = {
    "آ": "ا",
    "أ": "ا",
    "إ": "ا",
    "ٱ": "ا",
    "ى": "ي",
    "ی": "ي",  # Persian yeh, common in pasted text
    "ة": "ه",
    "ؤ": "و",
    "ئ": "ي",
    "ک": "ك",  # Persian kaf
    "’": "'",
    "‘": "'",
}
_DIGITS = {**{0x0660 + i: str(i) for i in range(10)}, **{0x06F0 + i: str(i) for i in range(10)}}
_TRANSLATE = str.maketrans({**dict.fromkeys(_ARABIC_DELETE), **_ARABIC_MAP, **_DIGITS})


def unify_script(text: str) -> str:
    """NFKC, one apostrophe, Arabic letters unified and diacritics dropped; case kept. Idempotent."""
    return unicodedata.normalize("NFKC", text).translate(_TRANSLATE)


def normalize(text: str) -> str:
    """``unify_script`` and case folding: the form every comparison of words uses. Idempotent."""
    # Case folding maps no character into or out of the table above, so one pass of it suffices.
    return unicodedata.normalize("NFKC", text).casefold().translate(_TRANSLATE)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 row``, ``2 rows``, ``0 rows``; ``many`` for irregular plurals (``1 entry``, ``2 entries``)."""
    return f"{count} {noun if count == 1 else (many or noun + 's')}"
