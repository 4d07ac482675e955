"""Normalisation, stop words, stemming and aliases: the text layer of story clustering."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from cluster.features import build_lexicon, content_tokens, featurize, lead_text, lexicon, strip_site_name
from cluster.model import ArticleIn
from cluster.text import detect_script_language, normalize, stem, stop_words, words


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("أَمَازُون", "امازون"),  # harakat removed, hamza-alef unified
        ("إعلان", "اعلان"),  # alef with hamza below
        ("آبل", "ابل"),  # alef madda
        ("ٱلخبر", "الخبر"),  # alef wasla
        ("مســـتشفى", "مستشفي"),  # tatweel removed, alef maqsura -> yaa
        ("شبكة", "شبكه"),  # taa marbuta -> haa
        ("مؤتمر", "موتمر"),  # waw with hamza
        ("رئيس", "رييس"),  # yaa with hamza
        ("٢٠٢٥", "2025"),  # Arabic-Indic digits
        ("۱۲", "12"),  # Persian digits
        ("ﻻ", "لا"),  # presentation form (NFKC)
    ],
)
def test_arabic_normalisation(raw: str, expected: str) -> None:
    assert normalize(raw) == expected


def test_normalisation_is_nfkc_casefold_and_idempotent() -> None:
    assert normalize("Straße ＡＷＳ ﬁx") == "strasse aws fix"
    text = "أمازون تُعلن: AWS Outage ١٠"
    assert normalize(normalize(text)) == normalize(text)


def test_arabic_clitics_and_latin_suffixes() -> None:
    assert stem("والامازون") == "امازون"
    assert stem("بالعطل") == "عطل"
    assert stem("لندن") == "ندن"  # one clitic off when three letters remain: consistent on both sides
    assert {stem(w) for w in ("outage", "outages")} == {"outag"}
    assert {stem(w) for w in ("write", "writes", "writing")} == {"writ"}
    assert stem("companies") == "company"
    assert stem("crisis") == "crisis"
    assert stem("2025") == "2025"


@pytest.mark.parametrize(
    "word", ["the", "and", "في", "على", "الذي", "los", "para", "les", "dans", "und", "der", "says"]
)
def test_stop_words_of_every_language(word: str) -> None:
    assert stem(words(normalize(word))[0]) in stop_words()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Amazon.com outage hits shoppers", {"@amazon", "!outage"}),
        ("عطل في أمازون", {"@amazon", "!outage"}),
        ("تعطل موقع الأمازون", {"@amazon", "!outage"}),
        ("Caída de Amazon", {"@amazon", "!outage"}),
        ("Panne chez Amazon", {"@amazon", "!outage"}),
        ("Amazon-Störung", {"@amazon", "!outage"}),
        ("Amazon Web Services outage", {"@aws", "!outage"}),
        ("عطل في خدمات أمازون ويب سيرفيسز", {"@aws", "!outage"}),
        ("كما أفاد موقع غيك واير", {"@geekwire"}),
        ("GeekWire first reported", {"@geekwire"}),
        ("Microsoft Teams is down", {"@microsoft", "@teams", "!outage"} - {"@microsoft"}),
        ("Amazon unveils a new Kindle", {"@amazon", "!launch", "@kindle"}),
    ],
)
def test_aliases_across_languages(text: str, expected: set[str]) -> None:
    tokens = set(content_tokens(text, lexicon(), stop_words()))
    assert expected <= tokens


def test_longest_alias_phrase_wins() -> None:
    lex = build_lexicon(
        {"entity": {"org": {"amazon": ["amazon"], "aws": ["amazon web services"]}}, "event": {}}
    )
    assert lex.resolve(["amazon", "web", "servic", "down"]) == ["@aws", "down"]
    assert lex.resolve(["amazon", "web"]) == ["@amazon", "web"]


def article(title: str, language: str | None = None, text: str = "") -> ArticleIn:
    return ArticleIn("a1", title, datetime(2025, 10, 6, 20, tzinfo=UTC), "example.com", language, text=text)


def test_features_mark_portable_tokens() -> None:
    arabic = featurize(article("عطل في أمازون بحسب Downdetector عند 4", "ar"))
    assert {"@amazon", "!outage", "@downdetector", "4"} <= set(arabic.portable)
    assert arabic.language == "ar"
    english = featurize(article("Shoppers say Amazon checkout broke, says GeekWire", "en"))
    assert {"@amazon", "@geekwire", "!checkout"} <= set(english.portable)
    assert "shopper" not in english.portable


def test_language_falls_back_to_script() -> None:
    assert detect_script_language("عطل في أمازون") == "ar"
    assert detect_script_language("Amazon outage") is None
    assert featurize(article("عطل في أمازون")).language == "ar"
    assert featurize(article("Amazon outage")).language == "und"
    assert featurize(article("Amazon outage", "EN-us")).language == "en"


def test_lead_is_first_sentences_and_body_only_when_long() -> None:
    text = "First sentence here. Second one! " + "word " * 100
    assert lead_text(article("t", text=text), 6).startswith("First sentence here. Second one!")
    assert featurize(article("t", text="short body")).shingles == ()
    assert featurize(article("t", text="short body")).body_hash == ""
    long_body = featurize(article("t", text=" ".join(f"word{i}" for i in range(80))))
    assert long_body.shingles and long_body.body_hash


@pytest.mark.parametrize(
    ("title", "outlet", "expected"),
    [
        ("Amazon is down - The Verge", "www.theverge.com", "Amazon is down"),
        ("Amazon outage | Reuters", "Reuters", "Amazon outage"),
        ("Fed holds rates - BBC News", "www.bbc.co.uk", "Fed holds rates"),
        ("Stocks fall — Yahoo Finance", "finance.yahoo.com", "Stocks fall"),
        ("Amazon outage - what we know", "www.theverge.com", "Amazon outage - what we know"),
        ("Amazon: outage hits shoppers", "www.cnbc.com", "Amazon: outage hits shoppers"),
    ],
)
def test_own_site_name_is_cut_from_titles(title: str, outlet: str, expected: str) -> None:
    assert strip_site_name(title, outlet) == expected
