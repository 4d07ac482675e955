"""Writes of the ingest stage. Every write is idempotent (deterministic keys, upserts), so a run killed at
any moment is completed by the next one without duplicates."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from common.timeclaims import OutletZone, TimeClaim
from common.urls import normalize_url, same_site, stable_id
from ingest.dates import (
    claims_from_json,
    claims_json,
    entry_time,
    feed_days_by_outlet,
    group_claims,
    outlet_zones,
    page_time,
    parse_time_claim,
)
from ingest.extract import PageResult
from ingest.feeds import FeedSpec
from ingest.parse import FeedEntry


@dataclass(frozen=True)
class FeedState:
    feed_id: str
    feed_url: str
    outlet: str
    language: str | None
    etag: str | None
    last_modified: str | None
    body_sha1: str | None
    consecutive_failures: int
    ttl_seconds: int | None = None  # the feed's RSS <ttl>, as last seen
    entry_times: tuple[datetime, ...] = ()  # publication times of its latest stored entries (its rhythm)
    site_url: str | None = None


@dataclass(frozen=True)
class FeedUpdate:
    """What one fetch of a feed changes in its row."""

    feed_id: str
    fetched_at: datetime
    status: int | None
    error: str | None
    failures: int
    next_fetch_after: datetime | None = None
    etag: str | None = None
    last_modified: str | None = None
    body_sha1: str | None = None
    new_url: str | None = None
    retired: bool = False
    keep_validators: bool = False  # 304 and errors keep the stored ETag and Last-Modified
    stale: bool | None = None  # None: keep what is stored
    ttl_seconds: int | None = None  # None: keep what is stored


@dataclass(frozen=True)
class PendingPage:
    article_id: str
    url: str
    outlet: str | None
    feed_language: str | None
    feed_published_raw: str | None
    first_seen_at: datetime
    site_url: str | None = None  # the outlet's home page, from the feeds file
    attempts: int = 0  # fetches of this page tried so far (failed ones are retried when due)
    feed_id: str | None = None  # the feed it came from (its shard decides which worker fetches it)


def sync_feeds(conn: duckdb.DuckDBPyConnection, specs: list[FeedSpec], now: datetime, exclusive: bool) -> int:
    """Insert or update the given feeds; with ``exclusive`` the others become inactive. Returns new count.
    A few set-based statements whatever the number of feeds (10,000 feeds sync in well under a second)."""
    known = feed_ids_by_url(conn)
    updates: dict[str, FeedSpec] = {}
    inserts: dict[str, FeedSpec] = {}
    for spec in specs:
        feed_id = known.get(spec.url)
        if feed_id is not None:
            updates[feed_id] = spec
        else:
            inserts.setdefault(stable_id(spec.url), spec)
    update_feed_specs(conn, feed_spec_table(updates))
    insert_feed_specs(conn, feed_spec_table(inserts), now)
    if exclusive:
        deactivate_other_feeds(conn, [*updates, *inserts])
    return len(inserts)


def feed_spec_table(specs: dict[str, FeedSpec]) -> pa.Table:
    columns = {
        "feed_id": list(specs),
        "url": [s.url for s in specs.values()],
        "outlet": [s.outlet for s in specs.values()],
        "site_url": [s.site_url for s in specs.values()],
        "language": [s.language for s in specs.values()],
    }
    return pa.table(columns, schema=pa.schema([(name, pa.string()) for name in columns]))


def feed_ids_by_url(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Every stored feed under its configured URL and its current URL (the configured one wins)."""
    by_url: dict[str, str] = {}
    rows = conn.execute(
        "SELECT feed_id, configured_url, feed_url FROM feed ORDER BY added_at, feed_id"
    ).fetchall()
    for feed_id, _configured, current in rows:
        by_url.setdefault(current, feed_id)
    for feed_id, configured, _current in rows:
        by_url[configured] = feed_id
    return by_url


def update_feed_specs(conn: duckdb.DuckDBPyConnection, specs: pa.Table) -> None:
    if specs.num_rows == 0:
        return
    conn.register("feed_specs", specs)
    try:
        conn.execute(
            """UPDATE feed SET outlet = s.outlet, site_url = coalesce(s.site_url, feed.site_url),
                   language = coalesce(s.language, feed.language), active = TRUE
               FROM feed_specs s WHERE feed.feed_id = s.feed_id"""
        )
    finally:
        conn.unregister("feed_specs")


def insert_feed_specs(conn: duckdb.DuckDBPyConnection, specs: pa.Table, now: datetime) -> None:
    if specs.num_rows == 0:
        return
    conn.register("feed_specs", specs)
    try:
        conn.execute(
            """INSERT INTO feed (feed_id, configured_url, feed_url, outlet, site_url, language, added_at)
               SELECT feed_id, url, url, outlet, site_url, language, ? FROM feed_specs""",
            [now],
        )
    finally:
        conn.unregister("feed_specs")


def deactivate_other_feeds(conn: duckdb.DuckDBPyConnection, keep: list[str]) -> None:
    # An anti-join against the list (list_contains per row would compare every feed with every kept id).
    conn.execute(
        "UPDATE feed SET active = FALSE WHERE active AND feed_id NOT IN (SELECT unnest(?::VARCHAR[]))", [keep]
    )


def due_feeds(
    conn: duckdb.DuckDBPyConnection, now: datetime, rhythm_entries: int = 20
) -> tuple[list[FeedState], int]:
    """Active, not retired feeds whose scheduled time (rhythm, backoff or Retry-After) has passed, each with
    its recent entry times; and how many wait."""
    rows = conn.execute(
        "SELECT feed_id, feed_url, outlet, language, etag, last_modified, body_sha1, consecutive_failures,"
        " ttl_seconds, site_url, next_fetch_after IS NOT NULL AND next_fetch_after > ? AS waiting"
        " FROM feed WHERE active AND retired_at IS NULL ORDER BY feed_url",
        [now],
    ).fetchall()
    times = recent_entry_times(conn, now, rhythm_entries)
    due = [
        FeedState(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            times.get(row[0], ()),
            row[9],
        )
        for row in rows
        if not row[10]
    ]
    return due, len(rows) - len(due)


def recent_entry_times(
    conn: duckdb.DuckDBPyConnection, now: datetime, limit: int
) -> dict[str, tuple[datetime, ...]]:
    """The publication times of each feed's ``limit`` latest articles (no later than now), in one query."""
    rows = conn.execute(
        """SELECT feed_id, list(published_at ORDER BY published_at DESC)[1:?]
           FROM article WHERE feed_id IS NOT NULL AND published_at <= ? GROUP BY feed_id""",
        [limit, now],
    ).fetchall()
    return {feed_id: tuple(times) for feed_id, times in rows}


def record_feeds(conn: duckdb.DuckDBPyConnection, updates: list[FeedUpdate]) -> None:
    """What a batch of fetches changes in the feeds' rows, in one statement."""
    if not updates:
        return
    columns = {name: [getattr(u, name) for u in updates] for name in FEED_UPDATE_SCHEMA.names}
    conn.register("feed_updates", pa.table(columns, schema=FEED_UPDATE_SCHEMA))
    try:
        conn.execute(
            """UPDATE feed SET last_fetched_at = u.fetched_at, last_status = u.status, last_error = u.error,
                   consecutive_failures = u.failures, next_fetch_after = u.next_fetch_after,
                   etag = CASE WHEN u.keep_validators THEN feed.etag ELSE u.etag END,
                   last_modified = CASE WHEN u.keep_validators THEN feed.last_modified ELSE u.last_modified END,
                   body_sha1 = coalesce(u.body_sha1, feed.body_sha1),
                   feed_url = coalesce(u.new_url, feed.feed_url),
                   retired_at = CASE WHEN u.retired THEN u.fetched_at ELSE feed.retired_at END,
                   stale = coalesce(u.stale, feed.stale),
                   ttl_seconds = coalesce(u.ttl_seconds, feed.ttl_seconds)
               FROM feed_updates u WHERE feed.feed_id = u.feed_id"""
        )
    finally:
        conn.unregister("feed_updates")


FEED_UPDATE_SCHEMA = pa.schema(
    [("feed_id", pa.string()), ("fetched_at", pa.timestamp("us", tz="UTC")), ("status", pa.int32()),
     ("error", pa.string()), ("failures", pa.int32()), ("next_fetch_after", pa.timestamp("us", tz="UTC")),
     ("keep_validators", pa.bool_()), ("etag", pa.string()), ("last_modified", pa.string()),
     ("body_sha1", pa.string()), ("new_url", pa.string()), ("retired", pa.bool_()), ("stale", pa.bool_()),
     ("ttl_seconds", pa.int32())]
)  # fmt: skip


def known_urls(conn: duckdb.DuckDBPyConnection, urls: list[str]) -> set[str]:
    """Which of ``urls`` are already stored, in one query."""
    if not urls:
        return set()
    found = conn.execute("SELECT url FROM article_url WHERE list_contains(?, url)", [urls]).fetchall()
    return {row[0] for row in found}


def add_entries(
    conn: duckdb.DuckDBPyConnection, feed: FeedState, entries: Iterable[FeedEntry], now: datetime
) -> list[PendingPage]:
    """Store entries not seen before (under any of their URLs); returns the new articles' pages to fetch."""
    return add_feed_entries(conn, [(feed, list(entries))], now)[0]


def add_feed_entries(
    conn: duckdb.DuckDBPyConnection, batch: list[tuple[FeedState, list[FeedEntry]]], now: datetime
) -> list[list[PendingPage]]:
    """``add_entries`` for many feeds in one query and two inserts; an article in two feeds of the batch
    belongs to the first. Returns each feed's new pages, in the order given."""
    fresh: dict[str, tuple[int, FeedState, FeedEntry]] = {}
    for index, (feed, entries) in enumerate(batch):
        for entry in entries:
            fresh.setdefault(normalize_url(entry.link), (index, feed, entry))
    for url in known_urls(conn, list(fresh)):
        del fresh[url]
    pages: list[list[PendingPage]] = [[] for _ in batch]
    if not fresh:
        return pages
    columns: dict[str, list[object]] = {name: [] for name in NEW_ARTICLE_COLUMNS}
    raws: dict[str, list[str | None]] = {}
    for index, _feed, entry in fresh.values():
        raws.setdefault(str(index), []).append(entry.published_raw)
    feed_days = feed_days_by_outlet(raws)  # per feed: do all its new items sit at midnight UTC?
    for url, (index, feed, entry) in fresh.items():
        when = entry_time(entry.published_raw, now, feed_days[str(index)])
        values = (stable_id(url), url, feed.outlet, feed.feed_id, entry.title, feed.language, when.published_at,
                  when.source, entry.published_raw, now, entry.summary, now, when.precision, when.earliest,
                  when.latest, claims_json(when))  # fmt: skip
        for name, value in zip(NEW_ARTICLE_COLUMNS, values, strict=True):
            columns[name].append(value)
        pages[index].append(
            PendingPage(
                stable_id(url),
                url,
                feed.outlet,
                feed.language,
                entry.published_raw,
                now,
                feed.site_url,
                feed_id=feed.feed_id,
            )
        )
    insert_new_articles(conn, pa.table(columns))
    return pages


def insert_new_articles(conn: duckdb.DuckDBPyConnection, new_rows: pa.Table) -> None:
    conn.register("new_rows", new_rows)
    try:
        conn.execute(
            f"""INSERT INTO article ({", ".join(NEW_ARTICLE_COLUMNS)}, page_state, origin)
                SELECT *, 'pending', 'feed' FROM new_rows n
                WHERE NOT EXISTS (SELECT 1 FROM article a WHERE a.article_id = n.article_id)"""
        )
        conn.execute(
            """INSERT INTO article_url SELECT url, article_id FROM new_rows n
               WHERE NOT EXISTS (SELECT 1 FROM article_url u WHERE u.url = n.url)"""
        )
    finally:
        conn.unregister("new_rows")


NEW_ARTICLE_COLUMNS = (
    "article_id", "url", "outlet", "feed_id", "title", "language", "published_at", "published_at_source",
    "feed_published_raw", "first_seen_at", "summary", "updated_at", "published_at_precision",
    "published_at_earliest", "published_at_latest", "published_claims",
)  # fmt: skip


def has_pending_pages(conn: duckdb.DuckDBPyConnection, now: datetime) -> bool:
    """Whether a page is waiting (new, left by a killed run, or a failed one due again), without loading them."""
    found = conn.execute(f"SELECT 1 FROM article a WHERE {PAGE_DUE} LIMIT 1", [now]).fetchone()
    return found is not None


# New pages, and failed ones whose retry is due (page_next_attempt_at NULL after a failure: given up).
PAGE_DUE = "(a.page_state = 'pending' OR (a.page_state = 'failed' AND a.page_next_attempt_at <= ?))"


def pending_pages(conn: duckdb.DuckDBPyConnection, now: datetime) -> list[PendingPage]:
    rows = conn.execute(
        f"""SELECT a.article_id, a.url, a.outlet, a.language, a.feed_published_raw, a.first_seen_at, f.site_url,
                  coalesce(a.page_attempts, 0), a.feed_id
           FROM article a LEFT JOIN feed f USING (feed_id)
           WHERE {PAGE_DUE} ORDER BY a.first_seen_at, a.article_id""",
        [now],
    ).fetchall()
    return [PendingPage(*row) for row in rows]


def record_page_failures(conn: duckdb.DuckDBPyConnection, failures: pa.Table, now: datetime) -> None:
    """Pages that could not be used: the articles stay, from their feed entries (title, summary, feed
    date), with the tries counted and the next one scheduled (NULL: given up)."""
    conn.register("page_failures", failures)
    try:
        conn.execute(
            """UPDATE article SET page_state = f.state, page_error = f.error, page_attempts = f.attempts,
                   page_next_attempt_at = f.next_attempt_at, updated_at = ?
               FROM page_failures f WHERE article.article_id = f.article_id""",
            [now],
        )
    finally:
        conn.unregister("page_failures")


PAGE_FAILURE_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("state", pa.string()), ("error", pa.string()), ("attempts", pa.int32()),
     ("next_attempt_at", pa.timestamp("us", tz="UTC"))]
)  # fmt: skip


@dataclass(frozen=True)
class PageOutcome:
    """What happened to one pending page: extracted (``result``) or not (``state`` and ``error``)."""

    page: PendingPage
    result: PageResult | None
    state: str  # extracted | failed | robots
    error: str
    status: int
    next_attempt_at: datetime | None = None  # a failed page: when to try again (None: given up)


def record_pages(conn: duckdb.DuckDBPyConnection, outcomes: list[PageOutcome], now: datetime) -> None:
    """Store a batch of page outcomes with a few set-based statements (one transaction by the caller)."""
    extracted = [o for o in outcomes if o.result is not None]
    failed = [o for o in outcomes if o.result is None]
    if failed:
        columns = [[o.page.article_id for o in failed], [o.state for o in failed], [o.error for o in failed],
                   [o.page.attempts + 1 for o in failed], [o.next_attempt_at for o in failed]]  # fmt: skip
        record_page_failures(conn, pa.table(columns, schema=PAGE_FAILURE_SCHEMA), now)
    kept = resolve_canonicals(conn, extracted)
    if not kept:
        return
    updates: dict[str, list[object]] = {name: [] for name in PAGE_UPDATE_COLUMNS}
    links: dict[str, list[object]] = {"article_id": [], "position": [], "href": [], "anchor": []}
    pages: dict[str, list[object]] = {
        "article_id": [],
        "url": [],
        "http_status": [],
        "fetched_at": [],
        "html": [],
    }
    zones, feed_days = batch_time_context(
        kept, stored_time_history(conn, {o.page.outlet or "" for o, _ in kept})
    )
    for outcome, url in kept:
        result = outcome.result
        assert result is not None
        page = outcome.page
        outlet = page.outlet or ""
        when = page_time(result.date_claims, page.feed_published_raw, page.first_seen_at,
                         outlet_zone=zones.get(outlet), feed_days=feed_days.get(outlet, False))  # fmt: skip
        values = (page.article_id, url, result.title, result.text, result.author, result.site_name,
                  result.language, result.canonical_url, result.date_raw, when.published_at, when.source,
                  when.precision, when.earliest, when.latest, claims_json(when))  # fmt: skip
        for name, value in zip(PAGE_UPDATE_COLUMNS, values, strict=True):
            updates[name].append(value)
        for position, (href, anchor) in enumerate(result.links):
            for name, link_value in zip(links, (page.article_id, position, href, anchor), strict=True):
                links[name].append(link_value)
        blob = (page.article_id, page.url, outcome.status, now, result.html_zlib)
        for name, blob_value in zip(pages, blob, strict=True):
            pages[name].append(blob_value)
    write_page_batch(conn, pa.table(updates), pa.table(links, schema=LINK_SCHEMA), pa.table(pages), now)


PAGE_UPDATE_COLUMNS = (
    "article_id", "url", "title", "text", "author", "site_name", "language", "canonical_url",
    "page_published_raw", "published_at", "published_at_source", "published_at_precision",
    "published_at_earliest", "published_at_latest", "published_claims",
)  # fmt: skip


HISTORY_PER_OUTLET = 200  # stored articles per outlet read to learn its zone and feed habits


def stored_time_history(
    conn: duckdb.DuckDBPyConnection, outlets: set[str]
) -> list[tuple[str, list[TimeClaim], str | None]]:
    """(outlet, stored claims, feed date as written) of each outlet's latest stored articles."""
    if not outlets:
        return []
    rows = conn.execute(
        """SELECT outlet, published_claims, feed_published_raw FROM article
           WHERE outlet IN (SELECT unnest(?)) AND origin IS DISTINCT FROM 'import'
           QUALIFY row_number() OVER (PARTITION BY outlet ORDER BY first_seen_at DESC) <= ?""",
        [sorted(outlets), HISTORY_PER_OUTLET],
    ).fetchall()
    return [(outlet, claims_from_json(claims), feed_raw) for outlet, claims, feed_raw in rows]


def batch_time_context(
    kept: list[tuple[PageOutcome, str]], history: Sequence[tuple[str, list[TimeClaim], str | None]] = ()
) -> tuple[dict[str, OutletZone], dict[str, bool]]:
    """Per outlet, from this batch and its stored articles: its learned zone and whether its feed dates are days."""
    pairs: list[tuple[str | None, list[TimeClaim]]] = [(outlet, claims) for outlet, claims, _raw in history]
    feed_raws: dict[str, list[str | None]] = {}
    for outlet, _claims, feed_raw in history:
        feed_raws.setdefault(outlet, []).append(feed_raw)
    for outcome, _url in kept:
        assert outcome.result is not None
        outlet = outcome.page.outlet or ""
        feed_claim = parse_time_claim(outcome.page.feed_published_raw, "feed")
        pairs.append((outlet, [*outcome.result.date_claims, *([feed_claim] if feed_claim else [])]))
        feed_raws.setdefault(outlet, []).append(outcome.page.feed_published_raw)
    return outlet_zones(group_claims(pairs)), feed_days_by_outlet(feed_raws)


LINK_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("position", pa.int32()), ("href", pa.string()), ("anchor", pa.string())]
)


def resolve_canonicals(
    conn: duckdb.DuckDBPyConnection, extracted: list[PageOutcome]
) -> list[tuple[PageOutcome, str]]:
    """rel=canonical on the same site: the article takes the canonical URL, or merges into the article
    already stored under it. Returns the outcomes to store with their final URL."""
    kept = []
    for outcome in extracted:
        result, page = outcome.result, outcome.page
        assert result is not None
        url = page.url
        if result.canonical_url and same_site(result.canonical_url, page.url, page.site_url):
            canonical = normalize_url(result.canonical_url)
            owner = conn.execute("SELECT article_id FROM article_url WHERE url = ?", [canonical]).fetchone()
            if owner and owner[0] != page.article_id:
                merge_into(conn, page.article_id, owner[0])
                continue
            if owner is None:
                conn.execute("INSERT INTO article_url VALUES (?, ?)", [canonical, page.article_id])
            url = canonical
        kept.append((outcome, url))
    return kept


def write_page_batch(
    conn: duckdb.DuckDBPyConnection, updates: pa.Table, links: pa.Table, pages: pa.Table, now: datetime
) -> None:
    conn.register("page_updates", updates)
    conn.register("page_links", links)
    conn.register("page_blobs", pages)
    try:
        conn.execute(
            """UPDATE article SET url = u.url, title = coalesce(article.title, u.title), text = u.text,
                   author = u.author, site_name = u.site_name, language = coalesce(u.language, article.language),
                   canonical_url = u.canonical_url, page_published_raw = u.page_published_raw,
                   published_at = u.published_at, published_at_source = u.published_at_source,
                   published_at_precision = u.published_at_precision,
                   published_at_earliest = u.published_at_earliest, published_at_latest = u.published_at_latest,
                   published_claims = u.published_claims,
                   page_state = 'extracted', page_error = NULL, page_next_attempt_at = NULL,
                   page_attempts = coalesce(article.page_attempts, 0) + 1, updated_at = ?
               FROM page_updates u WHERE article.article_id = u.article_id""",
            [now],
        )
        conn.execute("DELETE FROM article_link WHERE article_id IN (SELECT article_id FROM page_updates)")
        conn.execute("INSERT INTO article_link SELECT * FROM page_links")
        conn.execute("DELETE FROM page WHERE article_id IN (SELECT article_id FROM page_blobs)")
        conn.execute("INSERT INTO page SELECT * FROM page_blobs")
    finally:
        for name in ("page_updates", "page_links", "page_blobs"):
            conn.unregister(name)


def merge_into(conn: duckdb.DuckDBPyConnection, duplicate_id: str, keeper_id: str) -> None:
    """``duplicate_id`` turned out to be ``keeper_id`` (same canonical page): keep one, remember its URLs."""
    conn.execute("UPDATE article_url SET article_id = ? WHERE article_id = ?", [keeper_id, duplicate_id])
    conn.execute("DELETE FROM article_link WHERE article_id = ?", [duplicate_id])
    conn.execute("DELETE FROM page WHERE article_id = ?", [duplicate_id])
    conn.execute(
        "UPDATE article SET first_seen_at = least(first_seen_at, (SELECT first_seen_at FROM article WHERE"
        " article_id = ?)) WHERE article_id = ?",
        [duplicate_id, keeper_id],
    )
    conn.execute("DELETE FROM article WHERE article_id = ?", [duplicate_id])


def start_run(conn: duckdb.DuckDBPyConnection, run_id: str, command: str, now: datetime) -> None:
    conn.execute("INSERT INTO run (run_id, command, started_at) VALUES (?, ?, ?)", [run_id, command, now])


def finish_run(
    conn: duckdb.DuckDBPyConnection, run_id: str, summary: dict[str, object], now: datetime
) -> None:
    conn.execute(
        "UPDATE run SET finished_at = ?, summary = ? WHERE run_id = ?",
        [now, json.dumps(summary, default=str), run_id],
    )
