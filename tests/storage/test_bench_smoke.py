"""bench/storage.py cannot rot: its builders, its local world, its run measurement, its query list and its
reader run here at a tiny size. Only the structure of what they return is checked, never a time."""

from __future__ import annotations

import runpy
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.connection import open_reader

BENCH = Path(__file__).resolve().parents[2] / "bench" / "storage.py"
APP_QUERIES = {
    "(open_reader + SELECT 1)",
    "db_status", "stories (default filter)", "filter_choices", "story", "story_timeline", "story_citations",
    "story_signals", "story_outage", "outlet_stats", "feed_health", "recent_story_ids", "watches", "alerts",
}  # fmt: skip


@pytest.fixture(scope="module")
def bench() -> dict[str, Any]:
    return runpy.run_path(str(BENCH), run_name="bench_storage")


@pytest.fixture(scope="module")
def built(bench: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any, datetime]:
    now = datetime.now(UTC).replace(microsecond=0)
    db = tmp_path_factory.mktemp("bench") / "bench.ducklake"
    return db, bench["build_base"](db, 200, now, workers=0), now


def test_base_database_holds_every_table_the_app_reads(built: tuple[Path, Any, datetime]) -> None:
    db, facts, _ = built
    counts = facts.counts
    assert facts.articles == 200
    assert counts["article"] == counts["article_url"] == counts["page"] == counts["story_member"] == 200
    assert counts["feed"] == 2000
    assert 200 / 50 <= counts["story"] < 200
    assert counts["story_report"] == counts["story"]
    assert counts["citation"] > 0 and counts["signal"] > 0
    conn = open_reader(db)
    try:
        text_chars, html = conn.execute(
            "SELECT avg(length(text)), (SELECT html_zlib FROM page LIMIT 1) FROM article"
        ).fetchall()[0]
        sizes = conn.execute("SELECT min(n_articles), max(n_articles) FROM stories").fetchall()[0]
    finally:
        conn.close()
    assert 2000 <= text_chars <= 4500  # about 3 KB of text per article
    assert zlib.decompress(html).startswith(b"<!DOCTYPE html>")
    assert sizes[0] >= 1 and sizes[1] <= 50


def test_one_run_is_measured_and_stays_incremental(
    bench: dict[str, Any], built: tuple[Path, Any, datetime]
) -> None:
    db, _, now = built
    world = bench["World"]()
    bench["make_round"](world, 1, now, feeds=2, per_feed=5)
    httpd = bench["serve"](world)
    try:
        feeds_file = bench["write_feeds_file"](db.with_name("feeds.opml"), httpd.server_address[1], feeds=2)
        cost = bench["measure_run"](db, feeds_file)
    finally:
        httpd.shutdown()
    assert cost.articles == 200 and cost.new_articles == 10
    assert cost.cluster_summary["mode"] == "incremental"  # the base state makes the next run incremental
    assert cost.cluster_summary["articles_assigned"] == 10
    assert cost.bytes_after > cost.bytes_before > 0


def test_every_app_query_is_timed(bench: dict[str, Any], built: tuple[Path, Any, datetime]) -> None:
    db, _, _ = built
    timings = bench["time_queries"](db, runs=1)
    assert set(timings) == APP_QUERIES
    assert all(isinstance(seconds, float) and seconds >= 0 for seconds in timings.values())


def test_reader_counts_reads_and_errors(bench: dict[str, Any], built: tuple[Path, Any, datetime]) -> None:
    db, _, _ = built
    report = bench["with_reader"](db, "idle", lambda: time.sleep(0.5), every=0.1)
    assert report.reads > 0
    assert report.errors == [] and report.drops == []
