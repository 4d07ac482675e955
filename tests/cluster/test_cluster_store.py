"""Stories in a real DuckDB file: migration 2, update_stories, incremental == rebuild, the CLI."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from cluster.store import update_stories
from storage import connection as db
from storage.connection import open_reader

OUTAGES = Path(__file__).parent.parent / "data" / "cluster_outages.csv"
SCOOPTRACE = str(Path(sys.executable).parent / "scooptrace")
NOW = datetime(2025, 10, 8, tzinfo=UTC)


def outage_rows() -> list[dict[str, str]]:
    with open(OUTAGES, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def article_id(url: str) -> str:
    import hashlib

    return hashlib.sha1(url.encode()).hexdigest()[:16]


def insert_articles(conn: duckdb.DuckDBPyConnection, rows: Iterable[dict[str, str]]) -> None:
    for row in rows:
        aid = article_id(row["url"])
        conn.execute(
            """INSERT INTO article (article_id, url, outlet, title, language, published_at, published_at_source,
                   first_seen_at, summary, text, canonical_url, page_state, origin, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, 'page', ?, ?, ?, ?, 'extracted', 'import', ?)""",
            [
                aid, row["url"], row["outlet"], row["title"], row["language"],
                datetime.fromisoformat(row["published_at"]), NOW, row["summary"], row["text"],
                row.get("canonical_of") or None, NOW,
            ],
        )  # fmt: skip
        conn.execute("INSERT INTO article_url VALUES (?, ?)", [row["url"], aid])


def snapshot(conn: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple]]:
    stories = conn.execute(
        "SELECT story_id, headline, first_article_id, first_outlet, first_published_at, last_published_at, "
        "n_articles, n_outlets, languages FROM stories ORDER BY story_id"
    ).fetchall()
    members = conn.execute(
        "SELECT story_id, article_id, score, is_first_report, syndicated_from_article_id, lag_seconds "
        "FROM story_timeline ORDER BY article_id"
    ).fetchall()
    return stories, members


@pytest.fixture
def conn(tmp_path: Path) -> Iterable[duckdb.DuckDBPyConnection]:
    with db.writer(tmp_path / "news.duckdb") as w:
        yield w.conn


def test_outage_corpus_becomes_stories(conn: duckdb.DuckDBPyConnection) -> None:
    rows = outage_rows()
    insert_articles(conn, rows)
    summary = update_stories(conn)
    assert summary.articles_assigned == len(rows)
    assert summary.mode == "incremental"
    story_of = dict(conn.execute("SELECT article_id, story_id FROM story_member").fetchall())
    gold: dict[str, set[str]] = {}
    for row in rows:
        gold.setdefault(row["story"], set()).add(story_of[article_id(row["url"])])
    # The Amazon outage is one story, apart from its confusable neighbours.
    outage = gold["amazon-checkout-outage-2025-10-06"]
    assert len(outage) == 1
    for neighbour in (
        "amazon-kindle-launch-2025-10-06",
        "aws-outage-2025-09-29",
        "microsoft-teams-outage-2025-10-06",
    ):
        assert not (gold[neighbour] & outage)
    (story_id,) = outage
    story = conn.execute(
        "SELECT first_outlet, n_articles, languages, first_report_evidence FROM stories WHERE story_id = ?",
        [story_id],
    ).fetchone()
    assert story is not None
    assert story[0] == "www.geekwire.com"
    assert story[1] == 17
    assert story[2] == ["ar", "de", "en", "es", "fr"]
    assert "www.geekwire.com" in story[3]


def test_copies_are_marked_and_never_first(conn: duckdb.DuckDBPyConnection) -> None:
    rows = outage_rows()
    insert_articles(conn, rows)
    update_stories(conn)
    by_url = {r["url"]: article_id(r["url"]) for r in rows}
    copies = dict(
        conn.execute(
            "SELECT url, syndicated_from_article_id FROM story_timeline WHERE syndicated_from_article_id IS NOT NULL"
        ).fetchall()
    )
    reuters = by_url["https://www.reuters.com/technology/amazon-investigating-checkout-problems"]
    assert copies["https://finance.yahoo.com/news/amazon-investigating-checkout-problems-210900"] == reuters
    assert copies["https://www.usnews.com/news/business/articles/amazon-checkout"] == reuters
    assert (
        copies["https://www.seattletimes.com/business/amazon/amazon-shoppers-cant-check-out"]
        == (by_url["https://apnews.com/article/amazon-outage-checkout"])
    )
    firsts = conn.execute(
        "SELECT count(*) FROM story_timeline WHERE is_first_report AND syndicated_from_article_id IS NOT NULL"
    ).fetchone()
    assert firsts == (0,)
    lags = conn.execute("SELECT min(lag_seconds) FROM story_timeline WHERE is_first_report").fetchone()
    assert lags == (0,)


def test_incremental_with_late_arrivals_equals_rebuild(conn: duckdb.DuckDBPyConnection) -> None:
    rows = outage_rows()
    # Batches in arrival order, not publication order: the second batch holds articles older than the first.
    batches = [rows[20:35], rows[0:20], rows[35:]]
    replayed = 0
    for batch in batches:
        insert_articles(conn, batch)
        replayed += update_stories(conn).articles_replayed
    assert replayed > 0
    incremental = snapshot(conn)
    summary = update_stories(conn, rebuild=True)
    assert summary.mode == "rebuild"
    assert summary.articles_assigned == len(rows)
    assert snapshot(conn) == incremental


def test_nothing_new_is_a_no_op(conn: duckdb.DuckDBPyConnection) -> None:
    insert_articles(conn, outage_rows()[:5])
    update_stories(conn)
    before = snapshot(conn)
    summary = update_stories(conn)
    assert summary.articles_assigned == 0
    assert snapshot(conn) == before
    assert "0 articles assigned" in summary.describe()
    assert json.dumps(summary.as_dict())


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCOOPTRACE, *args], capture_output=True, text=True, timeout=120, check=False)


def test_cli_cluster_incremental_then_rebuild(tmp_path: Path) -> None:
    path = tmp_path / "news.duckdb"
    rows = outage_rows()
    for batch in (rows[10:], rows[:10]):
        with db.writer(path) as w:
            insert_articles(w.conn, batch)
        result = cli("cluster", "--db", str(path), "--json")
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout)["articles_assigned"] == len(batch)
    reader = open_reader(path)
    incremental = snapshot(reader)
    reader.close()
    result = cli("cluster", "--db", str(path), "--rebuild")
    assert result.returncode == 0, result.stderr
    assert "cluster rebuild (requested)" in result.stderr
    reader = open_reader(path)
    assert snapshot(reader) == incremental
    reader.close()


def test_cli_eval_clusters_prints_bcubed_and_pairwise() -> None:
    result = cli("eval-clusters", str(OUTAGES), "--json")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["items"] == len(outage_rows())
    assert figures["bcubed"]["precision"] >= 0.9
    assert figures["bcubed"]["f1"] >= 0.85
    assert set(figures["pairwise"]) == {"precision", "recall", "f1"}
    text = cli("eval-clusters", str(OUTAGES))
    assert "B-cubed" in text.stdout and "pairwise" in text.stdout


def topic_row(hours: float, n: int) -> dict[str, str]:
    return {
        "url": f"https://status.example/{n}",
        "outlet": f"outlet{n % 3}.example",
        "title": f"Cloudflare outage update {n}: Cloudflare says dashboard errors continue",
        "language": "en",
        "published_at": (datetime(2025, 10, 10, tzinfo=UTC) + timedelta(hours=hours)).isoformat(),
        "summary": "",
        "text": "",
    }


def test_paged_streaming_and_long_running_topics_match_rebuild(
    conn: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages of a few rows, and a topic that keeps coming back every 30 hours: its story closes at the span
    (96 hours) although its latest article is recent; an incremental run must see it closed too."""
    import cluster.store

    monkeypatch.setattr(cluster.store, "PAGE_ROWS", 4)
    early = [topic_row(hours, n) for n, hours in enumerate((0, 30, 60, 90))]
    late = [topic_row(110, 4), topic_row(140, 5)]  # 110 h: within 36 h of the last, past 96 h of the first
    for batch in (outage_rows(), early, late):
        insert_articles(conn, batch)
        update_stories(conn)
    incremental = snapshot(conn)
    stories = conn.execute(
        "SELECT url, story_id FROM story_timeline WHERE url LIKE 'https://status.example/%' ORDER BY url"
    ).fetchall()
    assert stories[4][1] != stories[0][1]  # the span closed the first story
    update_stories(conn, rebuild=True)
    assert snapshot(conn) == incremental


def test_changed_parameters_rebuild_instead_of_mixing(conn: duckdb.DuckDBPyConnection) -> None:
    from dataclasses import replace

    from cluster.params import DEFAULT_PARAMS

    insert_articles(conn, outage_rows()[:10])
    assert update_stories(conn).mode == "incremental"
    stricter = replace(DEFAULT_PARAMS, join_threshold=0.9)
    summary = update_stories(conn, params=stricter)
    assert (summary.mode, summary.reason) == ("rebuild", "parameters or word lists changed")
    assert summary.articles_assigned == 10
    assert update_stories(conn, params=stricter).mode == "incremental"


def by_url(conn: duckdb.DuckDBPyConnection, url: str) -> tuple:
    rows = conn.execute(
        "SELECT story_id, syndicated_from_article_id FROM story_timeline WHERE url = ?", [url]
    ).fetchall()
    return rows[0]


def test_articles_changed_after_clustering_are_redecided(conn: duckdb.DuckDBPyConnection) -> None:
    """Ingest fills pages in later runs: a better date, the body, a canonical target that arrives later.
    Each change is re-decided, and the result is still what a rebuild gives."""
    rows = outage_rows()
    reuters = next(r for r in rows if "reuters.com/technology/amazon" in r["url"])
    yahoo = next(r for r in rows if r["url"].startswith("https://finance.yahoo.com"))
    usnews = next(r for r in rows if r["url"].startswith("https://www.usnews.com"))
    # first run: the wire copies arrive before the original, usnews without its body yet
    insert_articles(conn, [r for r in rows if r is not reuters])
    conn.execute("UPDATE article SET text = NULL WHERE url = ?", [usnews["url"]])
    update_stories(conn)
    assert by_url(conn, yahoo["url"])[1] is None  # its canonical target is not known yet
    # the original arrives; usnews's page is extracted; an article's date is corrected by its page
    insert_articles(conn, [reuters])
    later = datetime(2025, 10, 7, tzinfo=UTC)
    conn.execute(
        "UPDATE article SET text = ?, updated_at = ? WHERE url = ?", [usnews["text"], later, usnews["url"]]
    )
    conn.execute(
        "UPDATE article SET published_at = published_at - INTERVAL 3 HOUR WHERE url = ?",
        ["https://www.cnbc.com/2025/10/06/amazon-website-outage"],
    )
    summary = update_stories(conn)
    assert summary.articles_replayed > 0
    original = article_id(reuters["url"])
    assert by_url(conn, yahoo["url"])[1] == original
    assert by_url(conn, usnews["url"])[1] == original
    incremental = snapshot(conn)
    update_stories(conn, rebuild=True)
    assert snapshot(conn) == incremental
    assert update_stories(conn).articles_replayed == 0  # nothing changed since: nothing re-decided


def test_story_member_keeps_its_seven_columns(conn: duckdb.DuckDBPyConnection) -> None:
    """Other stages insert and update story_member rows; what clustering read lives in cluster_member."""
    columns = conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'story_member' ORDER BY ordinal_position"
    ).fetchall()
    assert [c[0] for c in columns] == [
        "article_id", "story_id", "score", "syndicated_from_article_id", "syndication_evidence",
        "is_first_report", "assigned_at",
    ]  # fmt: skip
