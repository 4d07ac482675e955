"""update_reports on a real DuckDB file: first reports written back, citations, outlet_stats, signal links."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from cluster.report_store import import_signals, update_reports
from cluster.signals import parse_counts_csv, parse_status_feed
from storage.connection import open_reader, writer

T = datetime(2026, 10, 6, 20, 38, tzinfo=UTC)  # 13:38 PDT, 16:38 EDT
DATA = Path(__file__).parent.parent / "data"

# article_id, outlet, url, minutes after T, source, feed_raw, page_raw, language, copy_of, text
ARTICLES = [
    (
        "daily",
        "Daily Bits",
        "https://dailybits.example/amazon",
        -420,
        "feed",
        "2026-10-06T13:38:00",
        None,
        "en",
        None,
        "Amazon checkout is down for many shoppers.",
    ),
    (
        "geek",
        "GeekWire",
        "https://www.geekwire.com/2026/amazon-outage/",
        0,
        "page",
        "Tue, 06 Oct 2026 13:40:00 -0700",
        "2026-10-06T13:38:00-07:00",
        "en",
        None,
        "Amazon.com shoppers cannot complete checkout. Amazon told GeekWire it is investigating.",
    ),
    (
        "yahoo",
        "Yahoo News",
        "https://news.yahoo.example/amazon",
        -8,
        "page",
        None,
        None,
        "en",
        "verge",
        "Amazon's checkout broke on Monday. The outage was first reported by GeekWire.",
    ),
    (
        "verge",
        "The Verge",
        "https://www.theverge.com/2026/10/6/amazon-down",
        12,
        "page",
        None,
        None,
        "en",
        None,
        "Amazon's checkout broke on Monday. The outage was first reported by GeekWire.",
    ),
    (
        "cnbc",
        "CNBC",
        "https://www.cnbc.com/2026/10/06/amazon-outage.html",
        22,
        "page",
        None,
        None,
        "en",
        None,
        "According to GeekWire, shoppers could not check out. Amazon told CNBC it was investigating.",
    ),
    (
        "tech",
        "تك عربي",
        "https://tech-arabi.com/amazon-outage",
        142,
        "page",
        None,
        None,
        "ar",
        None,
        "تعطل موقع أمازون. وكان موقع غيك واير أول من أفاد بالعطل.",
    ),
]


def _insert_world(conn: duckdb.DuckDBPyConnection) -> None:
    for article_id, outlet, url, minutes, source, feed_raw, page_raw, lang, _copy, text in ARTICLES:
        published = T + timedelta(minutes=minutes)
        seen = max(published, T) + timedelta(minutes=4)
        conn.execute(
            """INSERT INTO article (article_id, url, outlet, title, language, published_at, published_at_source,
                   page_published_raw, feed_published_raw, first_seen_at, text, page_state, origin, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'extracted', 'feed', ?)""",
            [
                article_id,
                url,
                outlet,
                f"{outlet}: Amazon checkout outage",
                lang,
                published,
                source,
                page_raw,
                feed_raw,
                seen,
                text,
                seen,
            ],
        )
    conn.execute(
        "INSERT INTO article_link VALUES ('verge', 0, ?, 'first reported'), ('verge', 1, ?, 'Amazon')",
        ["https://www.geekwire.com/2026/amazon-outage/?utm_source=x#top", "https://www.amazon.com/"],
    )
    # The stories stage's state: one story, first report "earliest independent article" (Daily Bits).
    conn.execute(
        """INSERT INTO story VALUES ('s1', 'daily', 'Daily Bits: Amazon checkout outage', 'daily',
               'Earliest article', 'earliest', ?, ?, 6, 6, ['ar', 'en'], ?)""",
        [T - timedelta(minutes=420), T + timedelta(minutes=142), T],
    )
    for article_id, *_rest, copy_of, _text in ARTICLES:
        conn.execute(
            "INSERT INTO story_member VALUES (?, 's1', NULL, ?, NULL, ?, ?)",
            [article_id, copy_of, article_id == "daily", T],
        )


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "scooptrace.duckdb"
    with writer(path) as w:
        _insert_world(w.conn)
    yield path


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One database after one update_reports run, shared by the tests that only read it."""
    path = tmp_path_factory.mktemp("reported") / "scooptrace.duckdb"
    with writer(path) as w:
        _insert_world(w.conn)
        summary = update_reports(w.conn)
    assert summary.stories_updated == 1 and summary.articles_scanned == 6
    return path


def _query(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = open_reader(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_first_report_written_back_with_evidence(reported: Path) -> None:
    db = reported
    [(first, outlet, evidence, headline)] = _query(
        db, "SELECT first_article_id, first_outlet, first_report_evidence, headline FROM stories"
    )
    assert (first, outlet, headline) == ("geek", "GeekWire", "GeekWire: Amazon checkout outage")
    assert evidence.startswith("GeekWire at 13:38 PDT (page metadata, agrees with its feed)")
    assert "not certain: Daily Bits between" in evidence  # its naive feed time overlaps GeekWire's
    assert "decided by the credit other outlets give" in evidence
    assert "credited as first by The Verge and تك عربي" in evidence  # not Yahoo: a copy of The Verge
    assert "cited by CNBC" in evidence
    timeline = dict(_query(db, "SELECT article_id, is_first_report FROM story_timeline"))
    assert [a for a, first in timeline.items() if first] == ["geek"]
    lags = dict(_query(db, "SELECT article_id, lag_seconds FROM story_timeline"))
    assert lags["verge"] == 720 and lags["geek"] == 0


def test_citations_view(reported: Path) -> None:
    db = reported
    rows = _query(
        db,
        "SELECT citing_article_id, cited_outlet, cited_article_id, kind, says_first FROM citations ORDER BY ALL",
    )
    assert ("verge", "GeekWire", "geek", "link", True) in rows
    assert ("verge", "GeekWire", "geek", "mention", True) in rows
    assert ("cnbc", "GeekWire", "geek", "mention", False) in rows
    assert ("tech", "GeekWire", "geek", "mention", True) in rows
    assert not [r for r in rows if r[0] == "cnbc" and r[1] == "CNBC"]  # citing itself is not a citation
    assert not [r for r in rows if r[0] == "geek"]  # "Amazon told GeekWire" inside GeekWire's own article
    [(evidence,)] = _query(db, "SELECT evidence FROM citations WHERE citing_article_id = 'tech'")
    assert evidence == "وكان موقع غيك واير أول من أفاد بالعطل."


def test_outlet_stats(reported: Path) -> None:
    db = reported
    stats = {
        row[0]: row[1:]
        for row in _query(
            db,
            "SELECT outlet, stories_first, times_credited, times_credited_first, credited_by_outlets, "
            "median_lag_seconds_following, median_lag_minutes_following FROM outlet_stats",
        )
    }
    assert stats["GeekWire"][:4] == (1, 3, 2, 3)  # The Verge, CNBC, تك عربي; the copy does not count
    assert stats["The Verge"][0] == 0 and stats["The Verge"][4:] == (720, 12.0)
    assert stats["Daily Bits"][4] == 0  # earlier only on paper, by its naive date: never below zero


def test_second_run_does_nothing_and_rescans_when_text_arrives(db: Path) -> None:
    with writer(db) as w:
        update_reports(w.conn)
        again = update_reports(w.conn)
        assert (again.articles_scanned, again.stories_updated) == (0, 0)
        w.conn.execute(
            "UPDATE article SET text = 'Reuters first reported the outage.', updated_at = now() "
            "WHERE article_id = 'daily'"
        )
        later = update_reports(w.conn)
        assert (later.articles_scanned, later.stories_updated) == (1, 1)
    assert _query(db, "SELECT cited_outlet FROM citations WHERE citing_article_id = 'daily'") == [
        ("Reuters",)
    ]
    [(evidence,)] = _query(db, "SELECT first_report_evidence FROM stories")
    assert "Daily Bits credit Reuters as first, but no article of Reuters is in this story" in evidence


def test_refreshed_story_is_recomputed(db: Path) -> None:
    with writer(db) as w:
        update_reports(w.conn)
        w.conn.execute("UPDATE story SET first_article_id = 'daily', first_report_method = 'earliest'")
        assert update_reports(w.conn).stories_updated == 1
    assert _query(db, "SELECT first_article_id FROM story") == [("geek",)]


def test_story_report_spread(reported: Path) -> None:
    db = reported
    [(claim, uncertain, to5, to10, languages)] = _query(
        db,
        "SELECT first_claim, first_uncertain, seconds_to_5_outlets, seconds_to_10_outlets, languages_reached "
        "FROM story_reports",
    )
    assert (claim, uncertain, to10) == ("page", True, None)
    assert to5 == 22 * 60  # Daily Bits and Yahoo (earlier on paper), GeekWire, The Verge, CNBC
    assert [(x["language"], x["lag_seconds"]) for x in languages] == [("en", -420 * 60), ("ar", 142 * 60)]
    [(certain, candidates, first)] = _query(
        db, "SELECT first_report_certain, first_report_candidates, first_article_id FROM stories"
    )
    assert certain is False and candidates[0] == first and len(candidates) >= 2


def test_signals_linked_with_lag_and_statement(db: Path) -> None:
    counts = parse_counts_csv(
        (DATA / "signals_amazon_complaints.csv").read_text(), "complaints.csv", "Amazon"
    )
    status = parse_status_feed((DATA / "signals_amazon_status.atom").read_bytes(), "status.atom")
    with writer(db) as w:
        update_reports(w.conn)
        assert import_signals(w.conn, counts.points + status.points) == 302
        summary = update_reports(w.conn)
        assert summary.story_signals == 1
        assert import_signals(w.conn, counts.points) == 300  # re-import replaces, never duplicates
    assert _query(db, "SELECT count(*) FROM signals") == [(302,)]
    [(service, lag_minutes, has_statement, summary_text)] = _query(
        db, "SELECT service, lag_minutes, has_official_statement, summary FROM story_outages"
    )
    assert service == "Amazon" and 35 <= lag_minutes <= 36 and has_statement
    assert "first report (GeekWire)" in summary_text


def test_stories_view_carries_outage_and_spread(db: Path) -> None:
    counts = parse_counts_csv(
        (DATA / "signals_amazon_complaints.csv").read_text(), "complaints.csv", "Amazon"
    )
    with writer(db) as w:
        import_signals(w.conn, counts.points)
        update_reports(w.conn)
    [(service, onset, statement, lag, uncertain, summary)] = _query(
        db,
        "SELECT outage_service, spike_onset_at, first_statement_at, spike_to_first_report_seconds, "
        "first_report_uncertain, outage_summary FROM stories",
    )
    assert service == "Amazon" and statement is None and uncertain
    assert onset == datetime(2026, 10, 6, 20, 3, tzinfo=UTC) and lag == 35 * 60
    assert summary.endswith("no official statement yet")


def test_removed_articles_take_their_citations(db: Path) -> None:
    with writer(db) as w:
        update_reports(w.conn)
        w.conn.execute("DELETE FROM story_member WHERE article_id IN ('cnbc', 'geek')")
        w.conn.execute("DELETE FROM article WHERE article_id IN ('cnbc', 'geek')")
        w.conn.execute("UPDATE story SET first_report_method = 'earliest'")
        update_reports(w.conn)
        assert w.conn.execute(
            "SELECT count(*) FROM citation WHERE citing_article_id = 'cnbc'"
        ).fetchone() == (0,)
        cited = w.conn.execute(
            "SELECT DISTINCT cited_article_id FROM citation WHERE cited_outlet = 'GeekWire'"
        )
        assert cited.fetchall() == [(None,)]
