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


@dataclass(frozen=True)
class PendingPage:
    article_id: str
    url: str
    outlet: str | None
    feed_language: str | None
    feed_published_raw: str | None
    first_seen_at: datetime
    site_url: str | None = None  # the outlet's home page, from the feeds file
    feed_id: str | None = None  # the feed it came from (its shard decides which worker fetches it)


def sync_feeds(conn: duckdb.DuckDBPyConnection, specs: list[FeedSpec], now: datetime, exclusive: bool) -> int:
    """Insert or update the given feeds; with ``exclusive`` the others become inactive. Returns new count."""
    added = 0
    keep: list[str] = []
    for spec in specs:
        row = conn.execute(
            "SELECT feed_id FROM feed WHERE configured_url = ? OR feed_url = ? LIMIT 1", [spec.url, spec.url]
        ).fetchone()
        if row:
            conn.execute(
                "UPDATE feed SET outlet = ?, site_url = coalesce(?, site_url), language = coalesce(?, language),"
                " active = TRUE WHERE feed_id = ?",
                [spec.outlet, spec.site_url, spec.language, row[0]],
            )
            keep.append(row[0])
            continue
        feed_id = stable_id(spec.url)
        conn.execute(
            "INSERT INTO feed (feed_id, configured_url, feed_url, outlet, site_url, language, added_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [feed_id, spec.url, spec.url, spec.outlet, spec.site_url, spec.language, now],
        )
        keep.append(feed_id)
        added += 1
    if exclusive:
        conn.execute("UPDATE feed SET active = FALSE WHERE NOT list_contains(?, feed_id)", [keep])
    return added


def due_feeds(conn: duckdb.DuckDBPyConnection, now: datetime) -> tuple[list[FeedState], int]:
    """Active, not retired feeds whose backoff or Retry-After has passed; and how many wait."""
    rows = conn.execute(
        "SELECT feed_id, feed_url, outlet, language, etag, last_modified, body_sha1, consecutive_failures,"
        " next_fetch_after IS NOT NULL AND next_fetch_after > ? AS waiting"
        " FROM feed WHERE active AND retired_at IS NULL ORDER BY feed_url",
        [now],
    ).fetchall()
    due = [FeedState(*row[:8]) for row in rows if not row[8]]
    return due, len(rows) - len(due)


def record_feed(conn: duckdb.DuckDBPyConnection, update: FeedUpdate) -> None:
    conn.execute(
        """UPDATE feed SET last_fetched_at = ?, last_status = ?, last_error = ?, consecutive_failures = ?,
               next_fetch_after = ?,
               etag = CASE WHEN ? THEN etag ELSE ? END,
               last_modified = CASE WHEN ? THEN last_modified ELSE ? END,
               body_sha1 = coalesce(?, body_sha1),
               feed_url = coalesce(?, feed_url),
               retired_at = CASE WHEN ? THEN ? ELSE retired_at END
           WHERE feed_id = ?""",
        [
            update.fetched_at,
            update.status,
            update.error,
            update.failures,
            update.next_fetch_after,
            update.keep_validators,
            update.etag,
            update.keep_validators,
            update.last_modified,
            update.body_sha1,
            update.new_url,
            update.retired,
            update.fetched_at,
            update.feed_id,
        ],
    )


def known_urls(conn: duckdb.DuckDBPyConnection, urls: list[str]) -> set[str]:
    """Which of ``urls`` are already stored, in one query."""
    if not urls:
        return set()
    found = conn.execute("SELECT url FROM article_url WHERE list_contains(?, url)", [urls]).fetchall()
    return {row[0] for row in found}


def add_entries(
    conn: duckdb.DuckDBPyConnection, feed: FeedState, entries: Iterable[FeedEntry], now: datetime
) -> int:
    """Store entries not seen before (under any of their URLs); returns how many articles are new."""
    fresh: dict[str, FeedEntry] = {}
    for entry in entries:
        fresh.setdefault(normalize_url(entry.link), entry)
    for url in known_urls(conn, list(fresh)):
        del fresh[url]
    if not fresh:
        return 0
    columns: dict[str, list[object]] = {name: [] for name in NEW_ARTICLE_COLUMNS}
    feed_days = feed_days_by_outlet({"": [e.published_raw for e in fresh.values()]})[""]
    for url, entry in fresh.items():
        when = entry_time(entry.published_raw, now, feed_days)
        values = (stable_id(url), url, feed.outlet, feed.feed_id, entry.title, feed.language, when.published_at,
                  when.source, entry.published_raw, now, entry.summary, now, when.precision, when.earliest,
                  when.latest, claims_json(when))  # fmt: skip
        for name, value in zip(NEW_ARTICLE_COLUMNS, values, strict=True):
            columns[name].append(value)
    new_rows = pa.table(columns)
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
    return len(fresh)


NEW_ARTICLE_COLUMNS = (
    "article_id", "url", "outlet", "feed_id", "title", "language", "published_at", "published_at_source",
    "feed_published_raw", "first_seen_at", "summary", "updated_at", "published_at_precision",
    "published_at_earliest", "published_at_latest", "published_claims",
)  # fmt: skip


def has_pending_pages(conn: duckdb.DuckDBPyConnection) -> bool:
    """Whether a page is waiting (left by a killed run), without loading the list."""
    return conn.execute("SELECT 1 FROM article WHERE page_state = 'pending' LIMIT 1").fetchone() is not None


def pending_pages(conn: duckdb.DuckDBPyConnection) -> list[PendingPage]:
    rows = conn.execute(
        """SELECT a.article_id, a.url, a.outlet, a.language, a.feed_published_raw, a.first_seen_at, f.site_url,
                  a.feed_id
           FROM article a LEFT JOIN feed f USING (feed_id)
           WHERE a.page_state = 'pending' ORDER BY a.first_seen_at, a.article_id"""
    ).fetchall()
    return [PendingPage(*row) for row in rows]


def record_page_failure(
    conn: duckdb.DuckDBPyConnection, page: PendingPage, state: str, error: str, now: datetime
) -> None:
    """The page could not be used: the article stays, from its feed entry (title, summary, feed date)."""
    conn.execute(
        "UPDATE article SET page_state = ?, page_error = ?, updated_at = ? WHERE article_id = ?",
        [state, error, now, page.article_id],
    )


@dataclass(frozen=True)
class PageOutcome:
    """What happened to one pending page: extracted (``result``) or not (``state`` and ``error``)."""

    page: PendingPage
    result: PageResult | None
    state: str  # extracted | failed | robots
    error: str
    status: int


def record_pages(conn: duckdb.DuckDBPyConnection, outcomes: list[PageOutcome], now: datetime) -> None:
    """Store a batch of page outcomes with a few set-based statements (one transaction by the caller)."""
    extracted = [o for o in outcomes if o.result is not None]
    for outcome in outcomes:
        if outcome.result is None:
            record_page_failure(conn, outcome.page, outcome.state, outcome.error, now)
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
                   page_state = 'extracted', page_error = NULL, updated_at = ?
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
