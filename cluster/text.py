"""Text normalisation and tokenisation for clustering: pure functions, no I/O beyond the bundled word lists.

Every text goes through ``normalize`` (``common.text``, the one normaliser of every stage): Unicode NFKC, case folding, and for Arabic script the usual
unification (no diacritics or tatweel; alef, yaa and taa marbuta forms unified; Arabic-Indic digits as ASCII).
``tokens`` then splits into words, drops stop words of English, Arabic, Spanish, French and German, and
applies a light, language-blind suffix stemmer to Latin words (plural and verb endings) and a clitic stripper
to Arabic words (و، ب، ل، ال ...), so that "outages" = "outage" and "والأمازون" = "امازون".
"""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources
from pathlib import Path

from common.text import normalize

# Beside the package, not beside this file: compiled, this module is loaded from cluster/_native/.
DATA_DIR = Path(str(resources.files("cluster"))) / "data"

# Letters and digits; apostrophes and dots split words ("amazon's" -> amazon, s; "amazon.com" -> amazon, com).
_WORD = re.compile(r"[^\W_]+")
_ARABIC_CHAR = re.compile(r"[\u0600-\u06ff]")
_LATIN_CHAR = re.compile(r"[a-z]")

# Arabic proclitics, longest first: "وال" (and the), "بال" (with the), "لل" (for the), "ال" (the), ...
_ARABIC_PREFIXES = ("وال", "بال", "فال", "كال", "لل", "ال", "و", "ب", "ل", "ف")


def words(text: str) -> list[str]:
    """The words of an already normalised text, in order (no stop-word removal)."""
    return _WORD.findall(text)


def is_arabic(word: str) -> bool:
    return _ARABIC_CHAR.search(word) is not None


def is_latin(word: str) -> bool:
    return _LATIN_CHAR.search(word) is not None


def strip_arabic_clitics(word: str) -> str:
    """The Arabic word without one leading clitic, when at least three letters remain."""
    for prefix in _ARABIC_PREFIXES:
        if word.startswith(prefix) and len(word) - len(prefix) >= 3:
            return word[len(prefix) :]
    return word


@lru_cache(maxsize=1 << 18)
def stem(word: str) -> str:
    """Light stemming: plural and verb endings off a Latin word (then a final "e", so that write, writes,
    writing and written... at least the first three meet), Arabic clitics off an Arabic word."""
    if word.isdigit():
        return word
    if is_arabic(word):
        return strip_arabic_clitics(word)
    size = len(word)
    if size > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif size > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """Stop words of every supported language (en, ar, es, fr, de), normalised and stemmed like text."""
    raw = DATA_DIR.joinpath("stopwords.toml").read_text(encoding="utf-8")
    data = tomllib.loads(raw)
    out: set[str] = set()
    for language_words in data.values():
        for word in language_words:
            for token in words(normalize(word)):
                out.add(token)
                out.add(stem(token))
    return frozenset(out)


def detect_script_language(text: str) -> str | None:
    """``ar`` when the text is mostly Arabic script, else None (unknown): a fallback when no language is given."""
    arabic = len(_ARABIC_CHAR.findall(text))
    return "ar" if arabic * 2 > len(text.replace(" ", "")) else None
