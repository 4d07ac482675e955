"""The feeds file sync in a few set-based statements: new, known, redirected and dropped feeds."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb

from ingest import store
from ingest.feeds import FeedSpec
from storage import connection as db

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_sync_adds_updates_follows_redirects_and_deactivates(tmp_path: Path) -> None:
    with db.writer(tmp_path / "feeds.duckdb") as writer:
        check_sync(writer.conn)


def check_sync(conn: duckdb.DuckDBPyConnection) -> None:
    specs = [FeedSpec(f"https://site{i}.example/feed", f"Site {i}") for i in range(3)]
    assert store.sync_feeds(conn, specs, NOW, exclusive=True) == 3
    conn.execute(
        "UPDATE feed SET feed_url = 'https://new.example/rss' WHERE configured_url = ?", [specs[2].url]
    )
    again = [
        FeedSpec(specs[0].url, "Site Zero", language="en"),  # renamed
        FeedSpec("https://new.example/rss", "Moved"),  # the redirect target of site 2: the same feed
        FeedSpec("https://fresh.example/atom", "Fresh"),
    ]
    assert store.sync_feeds(conn, again, NOW, exclusive=True) == 1
    found = conn.execute(
        "SELECT configured_url, outlet, language, active FROM feed ORDER BY configured_url"
    ).fetchall()
    assert found == [
        ("https://fresh.example/atom", "Fresh", None, True),
        ("https://site0.example/feed", "Site Zero", "en", True),
        ("https://site1.example/feed", "Site 1", None, False),  # no longer in the file
        ("https://site2.example/feed", "Moved", None, True),
    ]
    assert store.sync_feeds(conn, [FeedSpec(specs[1].url, "Back")], NOW, exclusive=False) == 0
    assert conn.execute("SELECT count(*) FROM feed WHERE active").fetchone() == (4,)
