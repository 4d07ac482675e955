"""Pure parts of ingestion: URLs, dates, feeds files, feed parsing, body decoding."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.errors import BodyTooLargeError, FeedsFileError
from common.urls import normalize_url
from ingest.dates import DATE_ONLY, NAIVE, ZONED, entry_time, page_time, parse_time_claim
from ingest.feeds import load_feeds_file, parse_opml, to_opml, to_toml
from ingest.fetch import CappedDecoder, parse_retry_after
from ingest.parse import parse_feed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            "https://WWW.GeekWire.com/2025/amazon/?utm_source=rss&utm_medium=feed",
            "https://www.geekwire.com/2025/amazon/",
        ),
        ("https://a.example/x?id=7&fbclid=abc&gclid=z#comments", "https://a.example/x?id=7"),
        ("http://a.example:80/x", "http://a.example/x"),
        ("https://a.example:8443/x", "https://a.example:8443/x"),
        ("https://a.example", "https://a.example/"),
        ("https://a.example/x?b=2&a=1&mc_cid=1", "https://a.example/x?b=2&a=1"),
    ],
)
def test_normalize_url(raw: str, expected: str) -> None:
    assert normalize_url(raw) == expected


@pytest.mark.parametrize(
    ("raw", "kind", "utc"),
    [
        ("Mon, 06 Oct 2025 16:05:00 -0400", ZONED, datetime(2025, 10, 6, 20, 5, tzinfo=UTC)),
        ("Mon, 06 Oct 2025 16:05:00 EDT", ZONED, datetime(2025, 10, 6, 20, 5, tzinfo=UTC)),
        ("Mon, 06 Oct 2025 16:05:00 CEST", ZONED, datetime(2025, 10, 6, 14, 5, tzinfo=UTC)),
        ("Mon, 06 Oct 2025 16:05:00 GMT", ZONED, datetime(2025, 10, 6, 16, 5, tzinfo=UTC)),
        ("2025-10-06T13:38:00-07:00", ZONED, datetime(2025, 10, 6, 20, 38, tzinfo=UTC)),
        ("2025-10-06T13:38:00Z", ZONED, datetime(2025, 10, 6, 13, 38, tzinfo=UTC)),
        ("2025-10-06T13:38:00-0700", ZONED, datetime(2025, 10, 6, 20, 38, tzinfo=UTC)),
        # Unknown zone names and RFC 2822's "-0000" are *not* UTC: the claim is naive.
        ("Mon, 06 Oct 2025 16:05:00 XST", NAIVE, None),
        ("Mon, 06 Oct 2025 16:05:00 -0000", NAIVE, None),
        ("Mon, 06 Oct 2025 16:05:00", NAIVE, None),
        ("2025-10-06T13:38:00", NAIVE, None),
        ("October 6, 2025 4:05 PM", NAIVE, None),
        ("2025-10-06", DATE_ONLY, None),
    ],
)
def test_parse_claim(raw: str, kind: str, utc: datetime | None) -> None:
    claim = parse_time_claim(raw, "feed")
    assert claim is not None
    assert claim.kind == kind
    if utc is not None:
        assert claim.value == utc
    else:
        assert claim.value.tzinfo is None


def test_parse_claim_rejects_non_dates() -> None:
    assert parse_time_claim("yesterday-ish", "feed") is None
    assert parse_time_claim("", "feed") is None


FIRST_SEEN = datetime(2025, 10, 6, 21, 0, tzinfo=UTC)


def test_zoned_page_time_beats_naive_feed_time() -> None:
    # The feed writes New York wall-clock time without a zone; read as UTC it would be 4 hours earlier.
    page = parse_time_claim("2025-10-06T16:05:00-04:00", "jsonld")
    assert page is not None
    result = page_time([page], "Mon, 06 Oct 2025 16:05:00", FIRST_SEEN)
    assert (result.published_at, result.source, result.precision) == (
        datetime(2025, 10, 6, 20, 5, tzinfo=UTC),
        "page",
        "second",
    )


def test_naive_feed_time_alone_gives_a_day_never_a_time() -> None:
    result = entry_time("Mon, 06 Oct 2025 16:05:00", FIRST_SEEN)
    assert (result.source, result.precision, result.day) == ("feed", "day", datetime(2025, 10, 6).date())
    assert result.published_at == datetime(2025, 10, 6, tzinfo=UTC)
    # 16:05 somewhere between UTC+14 and UTC-12, and not after first sight.
    assert (result.earliest, result.latest) == (datetime(2025, 10, 6, 2, 5, tzinfo=UTC), FIRST_SEEN)


def test_future_claim_is_ignored_and_skew_is_clamped() -> None:
    future = parse_time_claim("2025-10-07T21:00:00Z", "jsonld")
    assert future is not None
    result = page_time([future], "2025-10-06T20:00:00Z", FIRST_SEEN)
    assert (result.published_at, result.source) == (datetime(2025, 10, 6, 20, 0, tzinfo=UTC), "feed")
    skewed = parse_time_claim((FIRST_SEEN + timedelta(minutes=3)).isoformat(), "jsonld")
    assert skewed is not None
    assert page_time([skewed], None, FIRST_SEEN).published_at == FIRST_SEEN


def test_opml_errors_name_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.opml"
    bad.write_text(
        '<opml version="2.0"><body>\n<outline text="A" xmlUrl="ftp://x.example/feed"/>\n</body></opml>'
    )
    with pytest.raises(FeedsFileError) as info:
        load_feeds_file(bad)
    assert str(info.value) == f"{bad}:2: feed URL 'ftp://x.example/feed' is not http(s)"
    broken = tmp_path / "broken.opml"
    broken.write_text(
        '<opml version="2.0"><body>\n<outline text="A" xmlUrl="http://x.example/f">\n</body></opml>'
    )
    with pytest.raises(FeedsFileError, match=r"broken.opml:3: not well-formed XML"):
        load_feeds_file(broken)


def test_toml_feeds_and_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "feeds.toml"
    path.write_text('[[feed]]\nurl = "https://a.example/feed"\noutlet = "A"\nlanguage = "ar-EG"\n\n'
                    '[[feed]]\nurl = "https://b.example/rss"\n')  # fmt: skip
    specs = load_feeds_file(path)
    assert [(s.outlet, s.language) for s in specs] == [("A", "ar"), ("b.example", None)]
    assert parse_opml(to_opml(specs).encode()) == specs
    (tmp_path / "again.toml").write_text(to_toml(specs))
    assert load_feeds_file(tmp_path / "again.toml") == specs
    path.write_text('[[feed]]\nurl = "https://a.example/feed"\nouttlet = "typo"\n')
    with pytest.raises(FeedsFileError, match=r"feeds.toml:2: unknown key\(s\) outtlet"):
        load_feeds_file(path)


def test_shipped_feed_list_is_valid() -> None:
    specs = load_feeds_file(Path(__file__).parent.parent.parent / "feeds" / "tech-news.opml")
    assert len(specs) >= 30
    assert {"en", "ar"} <= {s.language for s in specs}
    assert any(s.outlet == "GeekWire" for s in specs)


def test_malformed_feed_still_yields_entries() -> None:
    body = b"<rss version='2.0'><channel><item><title>A & B</title><link>http://x.example/1</link></item>"
    parsed = parse_feed(body, {}, "http://x.example/feed")
    assert [e.title for e in parsed.entries] == ["A & B"]
    assert parsed.warning and "malformed" in parsed.warning


def test_html_page_is_not_a_feed() -> None:
    parsed = parse_feed(
        b"<!DOCTYPE html>\n<html><head><title>Home</title></head></html>", {"Content-Type": "text/html"}, "u"
    )
    assert parsed.entries == ()
    assert parsed.problem == "HTML page served as a feed (text/html)"


def test_entity_expansion_is_defused() -> None:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]><rss version="2.0"><channel>'
            "<item><title>&l9;</title><link>http://x.example/1</link></item></channel></rss>").encode()  # fmt: skip
    parsed = parse_feed(body, {}, "http://x.example/feed")
    assert len(parsed.entries) == 1
    assert len(parsed.entries[0].title or "") < 100


def test_windows_1256_declared_in_xml() -> None:
    body = ('<?xml version="1.0" encoding="windows-1256"?><rss version="2.0"><channel><item>'
            "<title>عطل في أمازون يمنع المتسوقين من الدفع</title><link>http://x.example/1</link></item>"
            "</channel></rss>").encode("cp1256")  # fmt: skip
    parsed = parse_feed(body, {"Content-Type": "application/rss+xml"}, "u")
    assert parsed.entries[0].title == "عطل في أمازون يمنع المتسوقين من الدفع"


def test_capped_decoder_stops_a_gzip_bomb_early() -> None:
    bomb = gzip.compress(b"\0" * (64 * 1024 * 1024))
    decoder = CappedDecoder("gzip", 1024 * 1024, "http://x.example/bomb")
    with pytest.raises(BodyTooLargeError):
        for start in range(0, len(bomb), 16384):
            decoder.feed(bomb[start : start + 16384])
    assert decoder.size <= 1024 * 1024 + 1


def test_capped_decoder_deflate_and_identity() -> None:
    decoder = CappedDecoder("deflate", 100, "u")
    decoder.feed(zlib.compress(b"hello"))
    assert decoder.finish() == b"hello"
    plain = CappedDecoder("", 100, "u")
    plain.feed(b"abc")
    assert plain.finish() == b"abc"


def test_retry_after_forms() -> None:
    now = datetime(2025, 10, 6, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Mon, 06 Oct 2025 12:05:00 GMT", now) == 300
    assert parse_retry_after("soon", now) is None


def test_windows_1256_declared_only_in_http_header() -> None:
    body = ('<?xml version="1.0"?><rss version="2.0"><channel><item><title>انقطاع خدمة الدفع</title>'
            "<link>http://x.example/1</link></item></channel></rss>").encode("cp1256")  # fmt: skip
    parsed = parse_feed(body, {"Content-Type": "application/rss+xml; charset=windows-1256"}, "u")
    assert parsed.entries[0].title == "انقطاع خدمة الدفع"


def test_canonical_comes_from_the_link_element_not_og_url() -> None:
    from ingest.extract import extract_page

    html = (
        '<html><head><meta property="og:url" content="https://local.example/copy">'
        '<link rel="canonical" href="https://agency.example/wire/outage"></head><body><article><h1>Outage</h1>'
        + "<p>Shoppers could not reach checkout for an hour on Monday, the agency reported.</p>" * 8
        + "</article></body></html>"
    ).encode()
    result = extract_page("https://local.example/copy", html, "text/html; charset=utf-8")
    assert result.canonical_url == "https://agency.example/wire/outage"
    assert result.text and "Shoppers could not reach checkout" in result.text


@pytest.mark.parametrize(
    ("a", "b", "site", "expected"),
    [
        ("https://www.x.example/a", "https://x.example/b", None, True),
        ("https://x.example/a", "https://y.example/a", None, False),
        # Several outlets under one host: the outlet's site path decides.
        (
            "http://127.0.0.1/o/agency/news/1",
            "http://127.0.0.1/o/riverbend/news/1",
            "http://127.0.0.1/o/riverbend/",
            False,
        ),
        (
            "http://127.0.0.1/o/riverbend/amp/1",
            "http://127.0.0.1/o/riverbend/news/1",
            "http://127.0.0.1/o/riverbend/",
            True,
        ),
        ("https://x.example/a", "https://x.example/b", "https://x.example/", True),
    ],
)
def test_same_site(a: str, b: str, site: str | None, expected: bool) -> None:
    from common.urls import same_site

    assert same_site(a, b, site) is expected
