"""Writes of the ingest stage: its records (feeds due, pending pages, page outcomes) turned into the rows that
storage.feeds and storage.articles write. Every write is idempotent (deterministic keys, upserts), so a run
killed at any moment is completed by the next one without duplicates."""

from __future__ import annotations

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
from storage import articles as article_rows
from storage import feeds as feed_rows
from storage.articles import (
    LINK_SCHEMA,
    NEW_ARTICLE_COLUMNS,
    PAGE_FAILURE_SCHEMA,
    PAGE_UPDATE_COLUMNS,
    insert_new_articles,
    known_urls,
    merge_into,
    record_page_failures,
    write_page_batch,
)
from storage.feeds import FEED_UPDATE_SCHEMA


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
    feed_rows.update_specs(conn, feed_spec_table(updates))
    feed_rows.insert_specs(conn, feed_spec_table(inserts), now)
    if exclusive:
        feed_rows.deactivate_others(conn, [*updates, *inserts])
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
    rows = feed_rows.feed_urls(conn)
    for feed_id, _configured, current in rows:
        by_url.setdefault(current, feed_id)
    for feed_id, configured, _current in rows:
        by_url[configured] = feed_id
    return by_url


def due_feeds(
    conn: duckdb.DuckDBPyConnection, now: datetime, rhythm_entries: int = 20
) -> tuple[list[FeedState], int]:
    """Active, not retired feeds whose scheduled time (rhythm, backoff or Retry-After) has passed, each with
    its recent entry times; and how many wait."""
    rows = feed_rows.active_feeds(conn, now)
    times = feed_rows.recent_entry_times(conn, now, rhythm_entries)
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


def record_feeds(conn: duckdb.DuckDBPyConnection, updates: list[FeedUpdate]) -> None:
    """What a batch of fetches changes in the feeds' rows, in one statement."""
    if not updates:
        return
    columns = {name: [getattr(u, name) for u in updates] for name in FEED_UPDATE_SCHEMA.names}
    feed_rows.record_fetches(conn, pa.table(columns, schema=FEED_UPDATE_SCHEMA))


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


def pending_pages(conn: duckdb.DuckDBPyConnection, now: datetime) -> list[PendingPage]:
    """Pages due: new, left by a killed run, or failed ones whose retry is due."""
    return [PendingPage(*row) for row in article_rows.pending_pages(conn, now)]


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


HISTORY_PER_OUTLET = 200  # stored articles per outlet read to learn its zone and feed habits


def stored_time_history(
    conn: duckdb.DuckDBPyConnection, outlets: set[str]
) -> list[tuple[str, list[TimeClaim], str | None]]:
    """(outlet, stored claims, feed date as written) of each outlet's latest stored articles."""
    rows = article_rows.time_history(conn, outlets, HISTORY_PER_OUTLET)
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
            owner = article_rows.article_at_url(conn, canonical)
            if owner and owner != page.article_id:
                merge_into(conn, page.article_id, owner)
                continue
            if owner is None:
                article_rows.add_url(conn, canonical, page.article_id)
            url = canonical
        kept.append((outcome, url))
    return kept
