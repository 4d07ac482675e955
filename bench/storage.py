"""Storage benchmark (issue 9, "Measure"): the cost of one run as the database grows, the app's queries, and
readers beside a writer and beside maintenance.

For each size (articles already stored), measured side by side in one run (every base is built first, then
each round adds 1,000 new articles to every size in turn, so the machine's noise hits all sizes alike; the
best round per size is the figure, every round is printed too):
  1. A base database of that many articles built fast through the real schema (a writer's connection, pyarrow
     batches inserted with INSERT ... SELECT): realistic title, summary and ~3 KB text, kept page HTML
     (zlib-compressed as ingest keeps it), feeds, URLs, stories of 1-50 articles with members, first reports,
     citations, signals, a watch and alerts, and the clustering and report state an earlier run leaves.
     Then a REAL `scooptrace ingest --no-cluster` of 1,000 new articles (20 RSS feeds x 50 items with
     ~25 KB pages, served on 127.0.0.1), and separately `scooptrace cluster` (stories, first reports,
     citations, alerts of those 1,000). Seconds per size and the ratio to the smallest size (it must stay
     flat), the size on disk (catalog + data folder) and the bytes the run added.
  2. Every query the app runs (scooptrace/queries.py), median of 3, each on a fresh read-only connection.
  3. On the largest size: a reader process opening the database every 200 ms and counting articles and
     stories, through a second whole `scooptrace ingest` (1,000 more articles, stories included) and then
     through the maintenance (`maybe_maintain(force=True)`). Errors must be 0 and no count may ever drop.

    .venv/bin/python bench/storage.py [--sizes 10000,100000,1000000] [--repeat 2] [--workers N] [--keep DIR]

Everything is written under a temporary folder (or --keep DIR), nothing into the repository.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

# This file is bench/storage.py: keep its folder off the path so `storage` is the project's package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pyarrow as pa  # noqa: E402

from alerts.run import LAST_RUN_KEY  # noqa: E402
from cluster.params import DEFAULT_PARAMS  # noqa: E402
from cluster.report_store import citation_fingerprint, outlet_directory  # noqa: E402
from cluster.store import clustering_fingerprint  # noqa: E402
from scooptrace import queries  # noqa: E402
from storage.connection import data_folder_for, open_reader, writer  # noqa: E402
from storage.maintenance import maybe_maintain  # noqa: E402
from storage.reports import METHOD  # noqa: E402

# The shape of the synthetic world. Why each value:
# - BASE_OUTLETS: a large national monitoring list; LOCAL_OUTLETS of them are the ones served locally.
# - FEEDS x PER_FEED = the 1,000 new articles of one run (the figure the issue names).
# - BATCH_ROWS: big enough that DuckLake writes few, large files; small enough to stay well under 1 GB of RAM.
# - MAX_STORY: stories of 1 to 50 articles, most of them small (geometric sizes), as real news clusters are.
BASE_OUTLETS = 2000
LOCAL_OUTLETS = 20
FEEDS = 20
PER_FEED = 50
BATCH_ROWS = 50_000
MAX_STORY = 50
QUERY_RUNS = 3
READER_EVERY_SECONDS = 0.2
SERVICE = "Amazon"

WORDS = (
    "outage checkout shoppers service engineers cloud region customers payment error status page company "
    "report users complaints minutes hours restored problem network database servers retail platform "
    "holiday traffic spike mobile app website orders cart login failure spokesperson statement update "
    "investigation cause configuration deployment rollback monitoring incident response teams regional "
    "election minister parliament budget storm flood court ruling market shares energy prices football "
    "league transfer vaccine hospital school strike airport delays bank rates inflation wildfire summit"
).split()
LANGUAGES = ("en", "en", "en", "en", "es", "de", "fr", "ar")


def outlet_name(outlet: int) -> str:
    return f"Local News {outlet}" if outlet < LOCAL_OUTLETS else f"Outlet {outlet}"


def outlet_host(outlet: int) -> str:
    # The local outlets' old articles sit on the host the new ones come from (the port is not part of the
    # outlet's host), so the run adds no outlet or host and the citation scan stays incremental, as in real use.
    return "127.0.0.1" if outlet < LOCAL_OUTLETS else f"outlet{outlet}.example"


def sentence_pool(seed: int, size: int = 4096) -> list[str]:
    rng = random.Random(seed)
    return [
        " ".join(rng.choice(WORDS) for _ in range(rng.randint(14, 24))).capitalize() + "."
        for _ in range(size)
    ]


def page_html(title: str, published_iso: str, text: str, url: str) -> str:
    """About 25 KB: the article inside ordinary boilerplate (menus, scripts, related links, footer)."""
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(80))
    related = "".join(
        f'<li><a href="/related/{i}">{escape(text[i * 40 : i * 40 + 60])}</a></li>' for i in range(40)
    )
    body = "".join(f"<p>{escape(part)}.</p>" for part in text.split(". ") if part)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta property="article:published_time" content="{published_iso}">'
        f'<link rel="canonical" href="{escape(url)}"><style>{"body{margin:0}.x{padding:1px}" * 120}</style>'
        f'<script>window.__STATE__={{"k":"{"abcdefgh" * 800}"}};</script></head><body>'
        f'<header><ul class="menu">{nav}</ul></header><main><article><h1>{escape(title)}</h1>'
        f'<p class="byline">By Staff</p>{body}</article><aside><ul>{related}</ul></aside></main>'
        f"<footer>Copyright. All rights reserved. Contact us. Privacy. Terms.</footer></body></html>"
    )


@dataclass(frozen=True)
class Plan:
    """Where each base article goes: its story number (stories are runs of consecutive articles in time)."""

    n_articles: int
    story_of: np.ndarray
    started_at: datetime
    ended_at: datetime


def make_plan(n_articles: int, now: datetime, seed: int = 7) -> Plan:
    rng = np.random.default_rng(seed)
    sizes = np.minimum(rng.geometric(0.15, size=n_articles), MAX_STORY)
    story_of = np.repeat(np.arange(len(sizes)), sizes)[:n_articles]
    # A year of coverage that ends two days before the new run: the new articles open new stories.
    return Plan(n_articles, story_of, now - timedelta(days=367), now - timedelta(days=2))


def base_batch(plan: Plan, start: int, stop: int) -> dict[str, pa.Table]:
    """Rows start..stop of the base tables article, article_url, page, story_member and cluster_member."""
    rng = np.random.default_rng(1000 + start)
    pool = sentence_pool(start)
    span_us = (plan.ended_at - plan.started_at) / timedelta(microseconds=1)
    ids = np.arange(start, stop)
    published = [plan.started_at + timedelta(microseconds=int(i * span_us / plan.n_articles)) for i in ids]
    outlets = rng.integers(0, BASE_OUTLETS, size=len(ids))
    stories = plan.story_of[start:stop]
    article_id = [f"{i:016x}" for i in ids]
    url = [f"https://{outlet_host(o)}/news/{i}" for o, i in zip(outlets, ids, strict=True)]
    headline = {s: " ".join(pool[s % len(pool)].split()[:9]) for s in set(stories.tolist())}
    title = [f"{headline[s]} {s}: {outlet_name(o)}" for s, o in zip(stories, outlets, strict=True)]
    picks = rng.integers(0, len(pool), size=(len(ids), 22))
    text = [" ".join(pool[k] for k in row) for row in picks]
    first_seen = [p + timedelta(seconds=120) for p in published]
    previous = np.concatenate([[plan.story_of[start - 1] if start else -1], stories[:-1]])
    first_of_story = previous != stories
    pages = [
        zlib.compress(page_html(t, p.isoformat(), x, u).encode(), 1)
        for t, p, x, u in zip(title, published, text, url, strict=True)
    ]
    n = len(ids)
    article = pa.table(
        {
            "article_id": article_id,
            "url": url,
            "outlet": [outlet_name(o) for o in outlets],
            "feed_id": [f"feed{o:012x}" for o in outlets],
            "title": title,
            "language": [LANGUAGES[k] for k in rng.integers(0, len(LANGUAGES), size=n)],
            "published_at": pa.array(published, pa.timestamp("us", tz="UTC")),
            "first_seen_at": pa.array(first_seen, pa.timestamp("us", tz="UTC")),
            "summary": [x[:300] for x in text],
            "text": text,
        }
    )
    return {
        "article": article,
        "page": pa.table({"article_id": article_id, "url": url, "html_zlib": pa.array(pages, pa.binary())}),
        "story_member": pa.table(
            {
                "article_id": article_id,
                "story_id": [f"s{s:015x}" for s in stories],
                "is_first_report": first_of_story.tolist(),
                "tokens": [[w.lower() for w in t.split()[:8]] for t in title],
            }
        ),
    }


# The columns not in the arrow batch are filled here, the same for every row.
INSERT_BATCH = [
    """INSERT INTO article (article_id, url, outlet, feed_id, title, language, published_at, published_at_source,
        published_at_precision, published_at_earliest, published_at_latest, page_published_raw,
        feed_published_raw, first_seen_at, summary, text, author, site_name, canonical_url, page_state, origin,
        updated_at)
       SELECT article_id, url, outlet, feed_id, title, language, published_at, 'page', 'second', published_at,
              published_at, strftime(published_at, '%Y-%m-%dT%H:%M:%S+00:00'),
              strftime(published_at, '%a, %d %b %Y %H:%M:%S +0000'), first_seen_at, summary, text, 'Staff',
              outlet, url, 'extracted', 'feed', first_seen_at
       FROM batch_article""",
    "INSERT INTO article_url SELECT url || '?utm_source=rss', article_id FROM batch_article",
    """INSERT INTO page SELECT p.article_id, p.url, 200, a.first_seen_at, p.html_zlib
       FROM batch_page p JOIN batch_article a USING (article_id)""",
    """INSERT INTO story_member (article_id, story_id, score, is_first_report, assigned_at)
       SELECT m.article_id, m.story_id, CASE WHEN m.is_first_report THEN NULL ELSE 0.8 END, m.is_first_report,
              a.first_seen_at + INTERVAL 1 MINUTE
       FROM batch_story_member m JOIN batch_article a USING (article_id)""",
    """INSERT INTO cluster_member (article_id, published_at, content_md5, tokens)
       SELECT m.article_id, a.published_at, md5(m.article_id), m.tokens
       FROM batch_story_member m JOIN batch_article a USING (article_id)""",
]

# After the articles: what earlier runs of the stories, reports and alerts stages leave behind.
FINISH = [
    """INSERT INTO feed (feed_id, configured_url, feed_url, outlet, site_url, language, etag, last_fetched_at,
        last_status, consecutive_failures, added_at)
       SELECT 'feed' || printf('%012x', o), 'https://outlet' || o || '.example/rss.xml',
              'https://outlet' || o || '.example/rss.xml', CASE WHEN o < $local THEN 'Local News ' ELSE 'Outlet ' END || o,
              NULL, 'en', '"e' || o || '"', $now, 200, 0, $start
       FROM range($outlets) r(o)""",
    """INSERT INTO story (story_id, founding_article_id, headline, first_article_id, first_report_evidence,
        first_report_method, first_published_at, last_published_at, n_articles, n_outlets, languages, updated_at)
       SELECT m.story_id, arg_min(a.article_id, a.published_at), arg_min(a.title, a.published_at),
              arg_min(a.article_id, a.published_at),
              arg_min(a.outlet, a.published_at) || ' published first (page metadata with time zone)',
              '$method', min(a.published_at), max(a.published_at), count(*), count(DISTINCT a.outlet),
              list_sort(list(DISTINCT a.language)), max(m.assigned_at)
       FROM story_member m JOIN article a USING (article_id) GROUP BY m.story_id""",
    """INSERT INTO story_report (story_id, first_article_id, first_claim, first_uncertain, seconds_to_5_outlets,
        seconds_to_10_outlets, languages_reached, computed_at, first_candidates)
       SELECT story_id, first_article_id, 'page', FALSE,
              CASE WHEN n_outlets >= 5 THEN 60 * n_articles END, CASE WHEN n_outlets >= 10 THEN 90 * n_articles END,
              [], updated_at, [first_article_id]
       FROM story""",
    """INSERT INTO citation
       SELECT m.article_id, fa.outlet, s.first_article_id, 'mention', 'first reported by ' || fa.outlet,
              TRUE, m.assigned_at
       FROM story_member m JOIN story s USING (story_id) JOIN article fa ON fa.article_id = s.first_article_id
       WHERE NOT m.is_first_report AND hash(m.article_id) % 3 = 0""",
    "INSERT INTO citation_scan SELECT article_id, md5(article_id), $now FROM article",
    """INSERT INTO cluster_token_df
       SELECT token, count(*) FROM (SELECT unnest(tokens) AS token FROM cluster_member) GROUP BY token""",
    """INSERT INTO signal
       SELECT 'sig' || m, 'bench.csv', '$service', $end - to_minutes(m), 5 + hash(m) % 20, 'complaints', NULL, $now
       FROM range(43200) r(m)""",
    """INSERT INTO story_signal
       SELECT story_id, '$service', first_published_at - INTERVAL 30 MINUTE, first_published_at, 900,
              first_published_at, 1800, NULL, NULL, '$service complaints rose 30 min before the first report', $now
       FROM story WHERE first_published_at >= $end - INTERVAL 30 DAY AND hash(story_id) % 10 = 0""",
    """INSERT INTO watch VALUES ('checkout outages', 'checkout outage', [], [], 5, NULL, NULL, $start)""",
    """INSERT INTO alert
       SELECT md5(story_id), 'checkout outages', story_id, 'new_story', updated_at,
              'New story: ' || headline, NULL
       FROM story WHERE hash(story_id) % 50 = 0""",
]


COUNTED_TABLES = ("article", "article_url", "page", "feed", "story", "story_member", "story_report", "citation",
                  "signal", "story_signal", "alert")  # fmt: skip


@dataclass(frozen=True)
class BaseFacts:
    """What was built: row counts per table and the seconds it took."""

    articles: int
    counts: dict[str, int]
    seconds: float


def _finish_sql(plan: Plan, now: datetime) -> list[str]:
    values = {
        "$local": str(LOCAL_OUTLETS),
        "$outlets": str(BASE_OUTLETS),
        "$now": f"'{now.isoformat()}'::TIMESTAMPTZ",
        "$start": f"'{plan.started_at.isoformat()}'::TIMESTAMPTZ",
        "$end": f"'{plan.ended_at.isoformat()}'::TIMESTAMPTZ",
        "$method": METHOD,
        "$service": SERVICE,
    }
    out = []
    for statement in FINISH:
        for key, value in values.items():
            statement = statement.replace(key, value)
        out.append(statement)
    return out


def _batches(plan: Plan, workers: int) -> Iterator[dict[str, pa.Table]]:
    """The base batches in order; with ``workers``, generated in processes two batches ahead."""
    bounds = [(s, min(s + BATCH_ROWS, plan.n_articles)) for s in range(0, plan.n_articles, BATCH_ROWS)]
    if workers <= 0:
        for start, stop in bounds:
            yield base_batch(plan, start, stop)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        pending: list[Future[dict[str, pa.Table]]] = []
        for start, stop in bounds:
            pending.append(pool.submit(base_batch, plan, start, stop))
            if len(pending) > workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def _insert_batch(conn: Any, *, batch: dict[str, pa.Table]) -> None:
    for name, table in batch.items():
        conn.register(f"batch_{name}", table)
    try:
        for statement in INSERT_BATCH:
            conn.execute(statement)
    finally:
        for name in batch:
            conn.unregister(f"batch_{name}")


def build_base(db: Path, n_articles: int, now: datetime, workers: int = 0) -> BaseFacts:
    """A database of ``n_articles`` through the real schema and the real writer, then maintained once."""
    started = time.perf_counter()
    plan = make_plan(n_articles, now)
    with writer(db) as w:
        for batch in _batches(plan, workers):
            w.run(functools.partial(_insert_batch, batch=batch))
        finish = _finish_sql(plan, now)
        w.run(lambda conn: [conn.execute(s) for s in finish])
        w.run(lambda conn: _record_state(conn, now))
        maybe_maintain(w.conn, "lake", force=True)
        counts = {
            table: int(w.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in COUNTED_TABLES
        }
    return BaseFacts(n_articles, counts, time.perf_counter() - started)


def _record_state(conn: Any, now: datetime) -> None:
    """The state keys the stages leave, so the next run is incremental exactly as after a real run."""
    states = {
        "cluster_state": {"fingerprint": clustering_fingerprint(DEFAULT_PARAMS)},
        "report_state": {
            "citations_fingerprint": citation_fingerprint(outlet_directory(conn)),
            "signals_fingerprint": conn.execute(
                "SELECT count(*) || '/' || coalesce(max(imported_at)::VARCHAR, '') FROM signal"
            ).fetchone()[0],
        },
        "alert_state": {LAST_RUN_KEY: now.isoformat()},
    }
    for table, values in states.items():
        for key, value in values.items():
            conn.execute(f"DELETE FROM {table} WHERE key = ?", [key])
            conn.execute(f"INSERT INTO {table} VALUES (?, ?)", [key, value])


# ---- the local news world: FEEDS RSS feeds of PER_FEED new articles per round, on 127.0.0.1 ----


@dataclass
class World:
    """Feeds and pages per round; the server answers the current round's feeds."""

    feeds: dict[int, dict[str, bytes]] = field(default_factory=dict)
    pages: dict[str, bytes] = field(default_factory=dict)
    round: int = 1


def make_round(
    world: World, round_no: int, now: datetime, feeds: int = FEEDS, per_feed: int = PER_FEED
) -> None:
    pool = sentence_pool(10_000 + round_no)
    rng = random.Random(round_no)
    world.feeds[round_no] = {}
    for f in range(feeds):
        items = []
        for i in range(per_feed):
            published = now - timedelta(hours=8) + timedelta(seconds=10 * (i * feeds + f) + round_no * 3600)
            title = f"{' '.join(pool[(round_no * 97 + i) % len(pool)].split()[:9])} ({f}-{i})"
            text = " ".join(rng.choice(pool) for _ in range(22))
            path = f"/local{f}/r{round_no}/article-{i}.html"
            world.pages[path] = page_html(
                title, published.isoformat(), text, "http://127.0.0.1:{port}" + path
            ).encode()
            items.append(
                f"<item><title>{escape(title)}</title><link>http://127.0.0.1:{{port}}{path}</link>"
                f"<description>{escape(text[:300])}</description>"
                f"<pubDate>{format_datetime(published)}</pubDate></item>"
            )
        body = f"<rss version='2.0'><channel><title>{outlet_name(f)}</title>{''.join(items)}</channel></rss>"
        world.feeds[round_no][f"/local{f}/feed.xml"] = body.encode()


def serve(world: World) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            port = str(httpd.server_address[1]).encode()
            feed = world.feeds.get(world.round, {}).get(self.path)
            body = feed if feed is not None else world.pages.get(self.path)
            if body is None:
                self._reply(b"not found", "text/plain", 404)
                return
            self._reply(
                body.replace(b"{port}", port), "application/rss+xml" if feed else "text/html; charset=utf-8"
            )

        def _reply(self, body: bytes, kind: str, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = QuietServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that closed its connection early is not the benchmark's business


def write_feeds_file(path: Path, port: int, feeds: int = FEEDS) -> Path:
    outlines = "".join(
        f'<outline text="{outlet_name(f)}" xmlUrl="http://127.0.0.1:{port}/local{f}/feed.xml"/>'
        for f in range(feeds)
    )
    path.write_text(f'<opml version="2.0"><head/><body>{outlines}</body></opml>')
    return path


def scooptrace(*args: str) -> tuple[float, str]:
    """Run the real command in a fresh process; (seconds, its stderr)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "scooptrace"), *args], capture_output=True, text=True, check=False
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"scooptrace {' '.join(args)} exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed, proc.stderr + proc.stdout


def disk_bytes(db: Path) -> int:
    folder = data_folder_for(db)
    files = [db, *(p for p in folder.rglob("*") if p.is_file())] if folder.exists() else [db]
    return sum(p.stat().st_size for p in files if p.exists())


@dataclass(frozen=True)
class RunCost:
    """One ingest of the new round and the story update after it, on a database of ``articles``."""

    articles: int
    ingest_seconds: float
    cluster_seconds: float
    bytes_before: int
    bytes_after: int
    new_articles: int
    cluster_summary: dict[str, Any]


def measure_run(db: Path, feeds_file: Path) -> RunCost:
    before = disk_bytes(db)
    articles_before = queries.db_status(db).n_articles
    common = ["--db", str(db)]
    ingest_s, _ = scooptrace("ingest", *common, "--feeds", str(feeds_file), "--allow-host", "127.0.0.1",
                             "--no-cluster", "--no-progress")  # fmt: skip
    cluster_s, output = scooptrace("cluster", *common, "--json")
    summary = json.loads(output.strip().splitlines()[-1])
    new = queries.db_status(db).n_articles - articles_before
    return RunCost(articles_before, ingest_s, cluster_s, before, disk_bytes(db), new, summary)


# ---- the app's queries ----


def app_queries(db: Path) -> list[tuple[str, Callable[[], Any]]]:
    """Every query in scooptrace/queries.py the pages run, with the arguments they pass."""
    recent = queries.recent_story_ids(db)
    story_id = str(recent["story_id"].iloc[0])
    outage_id = _story_with_outage(db) or story_id
    info = queries.story(db, outage_id)
    assert info is not None, outage_id
    return [
        ("(open_reader + SELECT 1)", lambda: _open_only(db)),
        ("db_status", lambda: queries.db_status(db)),
        ("stories (default filter)", lambda: queries.stories(db, queries.StoryFilter())),
        ("filter_choices", lambda: queries.filter_choices(db)),
        ("story", lambda: queries.story(db, outage_id)),
        ("story_timeline", lambda: queries.story_timeline(db, outage_id)),
        ("story_citations", lambda: queries.story_citations(db, outage_id)),
        ("story_signals", lambda: queries.story_signals(db, info["first_published_at"], info["last_published_at"], SERVICE)),
        ("story_outage", lambda: queries.story_outage(db, outage_id)),
        ("outlet_stats", lambda: queries.outlet_stats(db)),
        ("feed_health", lambda: queries.feed_health(db)),
        ("recent_story_ids", lambda: queries.recent_story_ids(db)),
        ("watches", lambda: queries.watches(db)),
        ("alerts", lambda: queries.alerts(db)),
    ]  # fmt: skip


def _open_only(db: Path) -> None:
    """What every query pays before its own work: a fresh read-only connection (extensions, attach)."""
    conn = open_reader(db)
    try:
        conn.execute("SELECT 1").fetchall()
    finally:
        conn.close()


def _story_with_outage(db: Path) -> str | None:
    conn = open_reader(db)
    try:
        row = conn.execute(
            "SELECT story_id FROM story_outages o JOIN stories s USING (story_id) "
            "ORDER BY s.n_articles DESC, story_id LIMIT 1"
        ).fetchone()
    finally:
        conn.close()
    return str(row[0]) if row else None


def time_queries(db: Path, runs: int = QUERY_RUNS) -> dict[str, float]:
    """Median seconds of ``runs`` calls of each app query."""
    out = {}
    for name, call in app_queries(db):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
        out[name] = statistics.median(times)
    return out


# ---- readers beside a writer and beside maintenance ----

READER = """
import json, os, sys, time
from storage.connection import open_reader
db, stop, every = sys.argv[1], sys.argv[2], float(sys.argv[3])
reads, errors, drops, last = 0, [], [], (0, 0)
while not os.path.exists(stop):
    started = time.monotonic()
    try:
        conn = open_reader(db)
        try:
            counts = tuple(conn.execute("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM stories)").fetchone())
        finally:
            conn.close()
        reads += 1
        if counts[0] < last[0] or counts[1] < last[1]:
            drops.append([list(last), list(counts)])
        last = max(last, counts)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}"[:300])
    time.sleep(max(0.0, every - (time.monotonic() - started)))
print(json.dumps({"reads": reads, "errors": errors, "drops": drops, "last": list(last)}))
"""


@dataclass(frozen=True)
class ReaderReport:
    phase: str
    seconds: float
    reads: int
    errors: list[str]
    drops: list[Any]


def with_reader(
    db: Path, phase: str, work: Callable[[], Any], every: float = READER_EVERY_SECONDS
) -> ReaderReport:
    """Run ``work`` while a reader process opens the database every ``every`` seconds."""
    stop = db.with_name(db.name + f".stop-{phase}")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(db), str(stop), str(every)], stdout=subprocess.PIPE, text=True
    )
    time.sleep(max(1.0, every * 3))  # let it read before the work starts
    started = time.perf_counter()
    try:
        work()
    finally:
        seconds = time.perf_counter() - started
        time.sleep(max(1.0, every * 3))
        stop.touch()
        out, _ = reader.communicate(timeout=120)
        stop.unlink()
    result = json.loads(out.strip().splitlines()[-1])
    return ReaderReport(phase, seconds, result["reads"], result["errors"], result["drops"])


def maintain(db: Path) -> float:
    with writer(db) as w:
        seconds = maybe_maintain(w.conn, "lake", force=True)
    return float(seconds or 0.0)


# ---- the report ----


def mb(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"


def print_costs(costs: dict[int, list[RunCost]], builds: list[BaseFacts]) -> None:
    """The best of the repeated runs per size (the least disturbed by the machine), then every run."""
    best = {size: (min(c.ingest_seconds for c in runs), min(c.cluster_seconds for c in runs))
            for size, runs in costs.items()}  # fmt: skip
    ingest0, cluster0 = next(iter(best.values()))
    print(
        "\n1. One run adding 1,000 articles (real `scooptrace ingest --no-cluster`, then `scooptrace cluster`)"
    )
    print(
        "   (best of the rounds; x: ratio to the smallest size; stories s: the stories stage inside `cluster`;"
    )
    print(
        "    on disk: catalog + data folder before the first round; run wrote: size after minus before, round 1)"
    )
    print(f"{'articles':>10} {'build s':>8} {'ingest s':>9} {'x':>5} {'cluster s':>10} {'x':>5} "
          f"{'stories s':>10} {'on disk':>12} {'run wrote':>11} {'new':>5} {'cluster mode':>13}")  # fmt: skip
    for (size, runs), built in zip(costs.items(), builds, strict=True):
        first = runs[0]
        ingest, cluster = best[size]
        print(
            f"{size:>10,} {built.seconds:8.1f} {ingest:9.2f} {ingest / ingest0:5.2f} {cluster:10.2f} "
            f"{cluster / cluster0:5.2f} {min(c.cluster_summary['seconds'] for c in runs):10.2f} "
            f"{mb(first.bytes_before):>12} {mb(first.bytes_after - first.bytes_before):>11} "
            f"{first.new_articles:>5} {first.cluster_summary['mode']:>13}"
        )
    for size, runs in costs.items():
        every = ", ".join(f"{c.ingest_seconds:.1f}/{c.cluster_seconds:.1f}" for c in runs)
        print(f"   every round at {size:,} (ingest/cluster s): {every}")


def print_queries(sizes: list[int], timings: list[dict[str, float]]) -> None:
    print(f"\n2. App queries, median of {QUERY_RUNS} (ms); target at most 1,000 ms at 1 M articles")
    print(f"{'query':26}" + "".join(f"{n:>12,}" for n in sizes))
    for name in timings[0]:
        print(f"{name:26}" + "".join(f"{t[name] * 1000:12.0f}" for t in timings))
    print(f"{'slowest':26}" + "".join(f"{max(t.values()) * 1000:12.0f}" for t in timings))


def print_readers(size: int, reports: list[ReaderReport], maintenance_seconds: float) -> None:
    print(f"\n3. A reader every {READER_EVERY_SECONDS * 1000:.0f} ms on the {size:,}-article database")
    print(f"{'phase':34}{'seconds':>9}{'reads':>7}{'errors':>8}{'drops':>7}")
    for r in reports:
        print(f"{r.phase:34}{r.seconds:9.1f}{r.reads:7}{len(r.errors):8}{len(r.drops):7}")
        for message in r.errors[:3]:
            print(f"    error: {message}")
        for drop in r.drops[:3]:
            print(f"    count dropped: {drop[0]} -> {drop[1]}")
    print(f"maintenance (CHECKPOINT: flush, expire, merge, clean up): {maintenance_seconds:.2f} s")


def run(sizes: list[int], workers: int, folder: Path, repeat: int = 1) -> None:
    """Build every size first, then measure the runs side by side: ``repeat`` rounds, each over every size
    (round r adds 1,000 new articles to each database), so the machine's noise hits every size alike."""
    now = datetime.now(UTC).replace(microsecond=0)
    world = World()
    for round_no in range(1, repeat + 2):
        make_round(world, round_no, now)
    httpd = serve(world)
    feeds_file = write_feeds_file(folder / "feeds.opml", httpd.server_address[1])
    dbs = {size: folder / f"bench-{size}.ducklake" for size in sizes}
    costs: dict[int, list[RunCost]] = {size: [] for size in sizes}
    try:
        builds = [build_base(dbs[size], size, now, workers) for size in sizes]
        for built in builds:
            print(f"built {built.articles:,} articles in {built.seconds:.1f} s: {built.counts}", flush=True)
        for round_no in range(1, repeat + 1):
            world.round = round_no
            for size in sizes:
                costs[size].append(measure_run(dbs[size], feeds_file))
                cost = costs[size][-1]
                print(f"  round {round_no} {size:,}: ingest {cost.ingest_seconds:.2f} s, cluster "
                      f"{cost.cluster_seconds:.2f} s (stories {cost.cluster_summary['seconds']:.2f} s)", flush=True)  # fmt: skip
        timings = []
        for size in sizes:
            timings.append(time_queries(dbs[size]))
            print(f"  {size:,} queries ms: " + ", ".join(f"{k} {v * 1000:.0f}" for k, v in timings[-1].items()),
                  flush=True)  # fmt: skip
        world.round = repeat + 1
        db = dbs[sizes[-1]]
        common = ["--db", str(db), "--feeds", str(feeds_file), "--allow-host", "127.0.0.1", "--no-progress"]
        readers = [
            with_reader(db, "whole ingest (1,000 new + stories)", lambda: scooptrace("ingest", *common))
        ]
        spent: list[float] = []
        readers.append(with_reader(db, "maintenance (forced)", lambda: spent.append(maintain(db))))
    finally:
        httpd.shutdown()
    print_costs(costs, builds)
    print_queries(sizes, timings)
    print_readers(sizes[-1], readers, spent[0] if spent else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000,1000000", help="articles in the base databases")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="processes building batches")
    parser.add_argument("--repeat", type=int, default=2, help="rounds of 1,000 new articles per size")
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (default: a temp folder)")
    options = parser.parse_args()
    sizes = [int(s.replace("_", "")) for s in options.sizes.split(",")]
    print(
        f"sizes {sizes}; {os.cpu_count()} cores; {FEEDS} feeds x {PER_FEED} new articles per run", flush=True
    )
    if options.keep:
        options.keep.mkdir(parents=True, exist_ok=True)
        run(sizes, options.workers, options.keep, options.repeat)
        return
    with tempfile.TemporaryDirectory(prefix="scooptrace-bench-") as tmp:
        run(sizes, options.workers, Path(tmp), options.repeat)


if __name__ == "__main__":
    main()
