"""The queries behind the app's Stories and Story pages on a database of 1 M articles.

Builds the database with SQL straight into the tables (after the real migrations): 1 M articles from 2,000
outlets over a year, 100 k stories of 1 to 19 articles (10 on average) with syndicated copies, 200 k citations,
and a year of per-minute complaint counts for 5 services. Then times every query the pages run, each on a fresh
read-only connection as the app does (median of several runs, and the first, cold run).

    .venv/bin/python bench/app.py [--articles 1000000] [--runs 5] [--rebuild]

The database is kept in bench/out/ and reused when it has the requested size.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from scooptrace import queries, sql_sandbox
from storage.connection import migrate

OUT = Path(__file__).resolve().parent / "out"
YEAR_START = datetime(2026, 1, 1, tzinfo=UTC)

FILL = """
CREATE TEMP TABLE gen AS
SELECT i,
       i // 10 + (CASE WHEN i % 10 >= 5 AND hash(i // 10) % 3 = 0 THEN 1 ELSE 0 END) AS story_no,
       (hash(i) % 1000000007)::BIGINT AS h
FROM range($n) r(i);

INSERT INTO article (article_id, url, outlet, feed_id, title, language, published_at, published_at_source,
    page_published_raw, feed_published_raw, first_seen_at, summary, text, author, site_name, canonical_url,
    page_state, page_error, origin, updated_at)
SELECT printf('%016x', i) AS article_id,
       'https://outlet' || (h % 2000) || '.example/news/' || i AS url,
       'Outlet ' || (h % 2000) AS outlet,
       NULL AS feed_id,
       ['Amazon', 'Cloudflare', 'Teams', 'AWS', 'Google', 'Meta', 'Apple', 'X'][1 + story_no % 8]
         || ' ' || ['outage', 'launch', 'earnings', 'lawsuit', 'update', 'breach'][1 + (story_no // 8) % 6]
         || ' story ' || story_no || ' as told by outlet ' || (h % 2000) AS title,
       ['en', 'en', 'en', 'es', 'de', 'fr', 'ar', 'ja'][1 + h % 8] AS language,
       $start::TIMESTAMPTZ + to_seconds(story_no * 315 + (i % 10) * (60 + h % 900)) AS published_at,
       ['page', 'feed', 'first_seen'][1 + h % 3] AS published_at_source,
       NULL, NULL,
       $start::TIMESTAMPTZ + to_seconds(story_no * 315 + (i % 10) * (60 + h % 900) + 120) AS first_seen_at,
       'Summary of story ' || story_no AS summary, NULL AS text, NULL, NULL, NULL,
       'extracted', NULL, 'import', now()
FROM gen;

INSERT INTO story_member (article_id, story_id, score, syndicated_from_article_id, is_first_report, assigned_at,
    published_at, content_md5)
SELECT printf('%016x', g.i), printf('s%015x', g.story_no), 0.8,
       CASE WHEN g.i % 10 = 7 THEN printf('%016x', g.i - 1) END, FALSE, now(), a.published_at, md5(a.title)
FROM gen g JOIN article a ON a.article_id = printf('%016x', g.i);

CREATE TEMP TABLE firsts AS
SELECT m.story_id, arg_min(a.article_id, a.published_at) AS first_article_id,
       min(a.published_at) AS first_at, max(a.published_at) AS last_at, count(*) AS n_articles,
       count(DISTINCT a.outlet) AS n_outlets, list_sort(list(DISTINCT a.language)) AS languages,
       arg_min(a.title, a.published_at) AS headline
FROM story_member m JOIN article a USING (article_id) GROUP BY m.story_id;

UPDATE story_member SET is_first_report = TRUE
WHERE article_id IN (SELECT first_article_id FROM firsts);

INSERT INTO story (story_id, founding_article_id, headline, first_article_id, first_report_evidence,
    first_report_method, first_published_at, last_published_at, n_articles, n_outlets, languages, updated_at)
SELECT story_id, first_article_id, headline, first_article_id,
       (SELECT outlet FROM article WHERE article_id = first_article_id) || ' at ' || strftime(first_at, '%H:%M UTC')
         || ' (page metadata)',
       'claims', first_at, last_at, n_articles, n_outlets, languages, now()
FROM firsts;

INSERT INTO citation (citing_article_id, cited_outlet, cited_article_id, kind, evidence, says_first, found_at)
SELECT printf('%016x', i), 'Outlet ' || (hash(i // 10 * 10) % 2000)::BIGINT, printf('%016x', i // 10 * 10), 'mention',
       'first reported by Outlet ' || (hash(i // 10 * 10) % 2000), TRUE, now()
FROM range($n) r(i) WHERE i % 5 = 2;

INSERT INTO signal (signal_id, source, service, ts, value, kind, text, imported_at)
SELECT printf('sig%012x', s * 1000000 + m), 'bench', ['Amazon', 'Cloudflare', 'Teams', 'AWS', 'Google'][1 + s::BIGINT],
       $start::TIMESTAMPTZ + to_minutes(m), 10 + (hash(s * 1000000 + m) % 7)::BIGINT, 'complaints', NULL, now()
FROM range(5) a(s), range(525600) b(m);

INSERT INTO story_signal (story_id, service, onset_at, peak_at, peak_value, first_report_at, lag_seconds,
    statement_at, statement_text, summary, computed_at)
SELECT story_id, 'Amazon', first_at - INTERVAL 30 MINUTE, first_at, 900, first_at, 1800, NULL, NULL,
       'Amazon complaints began rising 30 min before the first report', now()
FROM firsts WHERE hash(story_id) % 20 = 0;
"""


def build(path: Path, n_articles: int) -> None:
    """A fresh database of ``n_articles`` articles, written with SQL straight into the tables."""
    for stale in path.parent.glob(path.name + "*"):
        stale.unlink()
    started = time.perf_counter()
    conn = duckdb.connect(str(path))
    try:
        migrate(conn)
        sql = FILL.replace("$n", str(n_articles)).replace("$start", f"'{YEAR_START.isoformat()}'")
        for statement in filter(str.strip, sql.split(";")):
            conn.execute(statement)
        conn.execute("CHECKPOINT")
    finally:
        conn.close()
    print(f"built {path} with {n_articles:,} articles in {time.perf_counter() - started:.1f} s")


def size_of(path: Path) -> int:
    if not path.exists():
        return 0
    try:
        return queries.db_status(path).n_articles
    except duckdb.Error:
        return 0


def timed(function: Callable[[], Any], runs: int) -> tuple[float, float]:
    """(first run, median of the following runs) in milliseconds."""
    times = []
    for _ in range(runs + 1):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times[0], statistics.median(times[1:])


def cases(db: Path) -> list[tuple[str, Callable[[], Any]]]:
    recent = queries.stories(db, queries.StoryFilter(limit=1))
    story_id = str(recent["story_id"].iloc[0])
    info = queries.story(db, story_id)
    assert info is not None
    week_ago = info["first_published_at"] - timedelta(days=7)
    return [
        ("status (views, article count)", lambda: queries.db_status(db)),
        ("Stories: latest 200", lambda: queries.stories(db, queries.StoryFilter())),
        ("Stories: last 7 days", lambda: queries.stories(db, queries.StoryFilter(since=week_ago))),
        ("Stories: language ar", lambda: queries.stories(db, queries.StoryFilter(languages=("ar",)))),
        ("Stories: outlet filter", lambda: queries.stories(db, queries.StoryFilter(outlets=("Outlet 7",)))),
        ("Stories: text 'outage'", lambda: queries.stories(db, queries.StoryFilter(text="outage"))),
        ("Stories: text, rare word", lambda: queries.stories(db, queries.StoryFilter(text="story 4242 "))),
        ("Stories: at least 8 outlets", lambda: queries.stories(db, queries.StoryFilter(min_outlets=8))),
        ("Stories: filter choices", lambda: queries.filter_choices(db)),
        ("Story: row", lambda: queries.story(db, story_id)),
        ("Story: timeline", lambda: queries.story_timeline(db, story_id)),
        ("Story: citations", lambda: queries.story_citations(db, story_id)),
        ("Story: outage link", lambda: queries.story_outage(db, story_id)),
        (
            "Story: signals",
            lambda: queries.story_signals(
                db, info["first_published_at"], info["last_published_at"], "Amazon"
            ),
        ),
        ("Story: picker (recent ids)", lambda: queries.recent_story_ids(db)),
        ("Outlets: outlet_stats", lambda: queries.outlet_stats(db)),
        ("Feeds: feed health", lambda: queries.feed_health(db)),
        (
            "SQL: sandboxed count(*) stories",
            lambda: sql_sandbox.run_query(db, "SELECT count(*) FROM stories"),
        ),
        (
            "SQL: sandboxed top first reporters",
            lambda: sql_sandbox.run_query(
                db, "SELECT first_outlet, count(*) n FROM stories GROUP BY ALL ORDER BY n DESC LIMIT 20"
            ),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--articles", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    db = OUT / f"app-{args.articles}.duckdb"
    if args.rebuild or size_of(db) != args.articles:
        build(db, args.articles)
    print(f"{'query':<34} {'first ms':>9} {'median ms':>10}  (aim: < 1000 ms)")
    worst = 0.0
    for name, function in cases(db):
        first, median = timed(function, args.runs)
        worst = max(worst, median)
        flag = "" if median < 1000 else "  <-- over 1 s"
        print(f"{name:<34} {first:>9.1f} {median:>10.1f}{flag}")
    print(f"slowest median: {worst:.0f} ms on {args.articles:,} articles")


if __name__ == "__main__":
    main()
