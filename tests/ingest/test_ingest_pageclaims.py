"""ingest.pageclaims: page claims in the stated order, URL dates, and saved real pages end to end."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from common.timeclaims import DATE_ONLY, DAY, PAGE, SECOND, ZONED
from ingest.dates import page_time
from ingest.extract import extract_page
from ingest.pageclaims import read_page_claims, url_date

PAGES = Path(__file__).parent.parent / "data" / "pages"


def tree(html: str):
    return lxml.html.fromstring(html)


def origins(
    html: str, url: str = "https://example.org/a", htmldate_raw: str | None = None
) -> list[tuple[str, str]]:
    return [(c.origin, c.raw) for c in read_page_claims(tree(html), url, htmldate_raw)]


def test_stated_order_jsonld_meta_itemprop_time_dc_htmldate_url() -> None:
    html = """<html><head>
      <meta name="DC.date.issued" content="2024-07-09T10:00:05+02:00">
      <meta property="article:published_time" content="2024-07-09T10:00:02+02:00">
      <script type="application/ld+json">{"@type": "NewsArticle", "datePublished": "2024-07-09T10:00:01+02:00"}</script>
      </head><body><article><header><time datetime="2024-07-09T10:00:04+02:00">9 July</time></header>
      <span itemprop="datePublished" content="2024-07-09T10:00:03+02:00"></span></article></body></html>"""
    got = origins(html, "https://example.org/2024/07/09/story", "2024-07-09")
    assert [o for o, _ in got] == ["jsonld", "meta", "itemprop", "time", "dc", "htmldate", "url"]
    assert got[0][1] == "2024-07-09T10:00:01+02:00"


def test_jsonld_graph_puts_article_types_before_others() -> None:
    html = """<html><head><script type="application/ld+json">
      {"@context": "https://schema.org", "@graph": [
        {"@type": "WebPage", "datePublished": "2024-07-01T08:00:00+00:00"},
        {"@type": ["Thing", "ReportageNewsArticle"], "datePublished": "2024-07-09T10:00:00+00:00"}]}
      </script></head><body></body></html>"""
    assert origins(html) == [("jsonld", "2024-07-09T10:00:00+00:00"), ("jsonld", "2024-07-01T08:00:00+00:00")]


def test_broken_jsonld_still_yields_its_date() -> None:
    html = """<html><head><script type="application/ld+json">
      {"@type": "NewsArticle", "headline": "a "quoted" word", "datePublished": "2024-07-09T10:00:00Z",}
      </script></head><body></body></html>"""
    assert origins(html) == [("jsonld", "2024-07-09T10:00:00Z")]


def test_parsely_page_json_is_read_in_the_meta_tier() -> None:
    html = """<html><head><meta name='parsely-page' content='{"pub_date": "2014-12-11T19:39:20Z"}'>
      <meta name="article_date_original" content="Thursday, December 11, 2014,  1:40 PM"></head></html>"""
    assert origins(html) == [("meta", "2014-12-11T19:39:20Z")]


@pytest.mark.parametrize(
    ("url", "day"),
    [
        ("https://example.org/2023/11/08/slug", "2023-11-08"),
        ("https://example.org/news/2023/6/1/slug.html", "2023-06-01"),
        ("http://arabic.cnn.com/2013/middle_east/8/3/syria.clashes/index.html", "2013-08-03"),
        ("https://example.org/2023-11-08-slug", "2023-11-08"),
        ("https://example.org/a/20231108/slug", "2023-11-08"),
        ("https://example.org/match-report/day-five/2014-12-30", "2014-12-30"),
        ("https://example.org/2023/11/slug", None),
        ("https://example.org/article/1234567890", None),
        ("https://example.org/2023/13/40/slug", None),
    ],
)
def test_url_dates(url: str, day: str | None) -> None:
    assert url_date(url) == day


def test_url_day_is_only_a_day_claim() -> None:
    (claim,) = read_page_claims(
        tree("<html><body><p>x</p></body></html>"), "https://example.org/2024/07/09/x"
    )
    assert (claim.origin, claim.kind, claim.precision) == ("url", DATE_ONLY, DAY)


def test_duplicates_are_dropped_but_every_distinct_claim_is_kept() -> None:
    html = """<html><head><meta property="article:published_time" content="2024-07-09T10:00:00Z">
      <meta property="og:article:published_time" content="2024-07-09T10:00:00Z">
      <meta name="date" content="2024-07-09"></head></html>"""
    assert origins(html) == [("meta", "2024-07-09T10:00:00Z"), ("meta", "2024-07-09")]


# -- saved real pages -------------------------------------------------------------------------------------


def truth_rows() -> dict[str, dict[str, str]]:
    with (PAGES / "truth.csv").open(encoding="utf-8") as handle:
        return {row["file"]: row for row in csv.DictReader(handle)}


def test_check_set_is_complete_and_split() -> None:
    rows = truth_rows()
    assert len(rows) >= 60
    assert {row["set"] for row in rows.values()} == {"tune", "eval"}
    assert {row["precision"] for row in rows.values()} <= {"second", "day"}
    assert all((PAGES / name).is_file() for name in rows)
    assert not any("htmldate" in row["url"] and "adbar" in row["url"] for row in rows.values())


@pytest.mark.parametrize(
    "name",
    [
        "fool-top-stocks-2015.html",  # meta date with offset, Parse.ly UTC: the same instant
        "nola-jazz-heritage-center.html",  # naive local meta, Parse.ly UTC wins
        "newyorker-climate-carols.html",  # URL day is the print issue a week later
        "avclub-film-scenes-2014.html",  # a zoned local midnight is a day
        "pe-perris-police.html",  # naive times only: a day
        "foxbusiness-neutral-traffic.html",  # Dublin Core with offset, "EST" name, itemprop time
    ],
)
def test_saved_pages_end_to_end_without_a_feed(name: str) -> None:
    row = truth_rows()[name]
    result = extract_page(row["url"], (PAGES / name).read_bytes(), "text/html")
    truth = row["truth"]
    first_seen = datetime.fromisoformat(truth[:10]).replace(tzinfo=UTC) + timedelta(days=2)
    reconciled = page_time(result.date_claims, None, first_seen)
    assert reconciled.source == PAGE
    if row["precision"] == SECOND:
        expected = datetime.fromisoformat(truth).astimezone(UTC)
        assert reconciled.precision == SECOND
        assert abs(reconciled.published_at - expected) <= timedelta(seconds=60)
    else:
        assert (reconciled.precision, reconciled.day) == (DAY, date.fromisoformat(truth))


def test_newyorker_issue_date_in_the_url_is_noted_as_a_contradiction() -> None:
    row = truth_rows()["newyorker-climate-carols.html"]
    result = extract_page(row["url"], (PAGES / "newyorker-climate-carols.html").read_bytes(), "text/html")
    kinds = {(c.origin, c.kind) for c in result.date_claims}
    assert ("meta", ZONED) in kinds and ("url", DATE_ONLY) in kinds
    reconciled = page_time(result.date_claims, None, datetime(2015, 1, 5, tzinfo=UTC))
    assert "url day 2014-12-22 contradicts" in (reconciled.note or "")


def test_pagemap_unixdate_in_a_head_comment_is_a_utc_instant() -> None:
    html = """<html><head><!--
      <PageMap><DataObject type="article"><Attribute name="unixdate">1313253854</Attribute></DataObject></PageMap>
      --></head><body><!-- <PageMap><Attribute name="unixdate">1000000000</Attribute></PageMap> --></body></html>"""
    (claim,) = read_page_claims(tree(html), "https://example.org/a", html=html)
    assert (claim.origin, claim.raw, claim.kind, claim.precision) == ("pagemap", "1313253854", ZONED, SECOND)
    assert claim.instant == datetime(2011, 8, 13, 16, 44, 14, tzinfo=UTC)


def test_imported_times_carry_precision_and_interval() -> None:
    from ingest.importer import ImportRow, validate

    now = datetime(2024, 7, 10, 12, 0, tzinfo=UTC)
    base = {"url": "https://example.org/a", "title": "A", "outlet": "Example"}
    zoned = validate({**base, "published_at": "2024-07-09T14:05:00+02:00"}, now)
    naive = validate({**base, "published_at": "2024-07-09 14:05:00"}, now)
    day = validate({**base, "published_at": "2024-07-09"}, now)
    assert isinstance(zoned, ImportRow) and isinstance(naive, ImportRow) and isinstance(day, ImportRow)
    assert (zoned.precision, zoned.earliest, zoned.latest, zoned.assumed_utc) == (
        SECOND,
        datetime(2024, 7, 9, 12, 5, tzinfo=UTC),
        datetime(2024, 7, 9, 12, 5, tzinfo=UTC),
        False,
    )
    assert naive.assumed_utc and naive.published_at == datetime(2024, 7, 9, 14, 5, tzinfo=UTC)
    assert naive.latest is not None and naive.earliest is not None
    assert naive.latest - naive.earliest == timedelta(hours=26)
    assert (day.precision, day.published_at) == (DAY, datetime(2024, 7, 9, tzinfo=UTC))


def test_outlet_zone_is_learned_from_stored_articles(tmp_path: Path) -> None:
    from storage import connection as db

    with db.writer(tmp_path / "zones.duckdb") as writer:
        check_learned_zone(writer.conn)


def check_learned_zone(conn: Any) -> None:
    from common.timeclaims import describe_claims, parse_time_claim
    from ingest.store import batch_time_context, stored_time_history

    stored = [("2024-01-15T09:00:00+01:00", "a"), ("2024-07-01T09:00:00+02:00", "b")]
    for raw, article_id in stored:
        claim = parse_time_claim(raw, "meta")
        assert claim is not None
        conn.execute(
            """INSERT INTO article (article_id, url, outlet, published_at, published_at_source, first_seen_at,
                   page_state, origin, updated_at, published_claims)
               VALUES (?, ?, 'Le Quotidien', now(), 'page', now(), 'extracted', 'feed', now(), ?)""",
            [
                article_id,
                f"https://example.fr/{article_id}",
                json.dumps({"claims": describe_claims([claim])}),
            ],
        )
    history = stored_time_history(conn, {"Le Quotidien", "Nobody"})
    assert {outlet for outlet, _claims, _raw in history} == {"Le Quotidien"}
    zones, feed_days = batch_time_context([], history)
    assert zones["Le Quotidien"].name == "Europe/Paris" and not feed_days["Le Quotidien"]
    naive = parse_time_claim("2024-08-01 12:00:00", "meta")
    assert naive is not None
    when = page_time([naive], None, datetime(2024, 8, 2, tzinfo=UTC), outlet_zone=zones["Le Quotidien"])
    assert (when.published_at, when.zone_learned) == (datetime(2024, 8, 1, 10, 0, tzinfo=UTC), "Europe/Paris")
