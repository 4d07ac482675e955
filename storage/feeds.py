"""The SQL of the feeds table: the feeds file's specs synced in, which feeds are due, what each fetch changed.
Plain values and Arrow tables in, rows out; the ingest stage (``ingest.store``) builds its own records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyarrow as pa

from storage.connection import query
from storage.helpers import Conn, registered

# What a batch of fetches changes in the feeds' rows (ingest.store.FeedUpdate, column by column).
FEED_UPDATE_SCHEMA = pa.schema(
    [("feed_id", pa.string()), ("fetched_at", pa.timestamp("us", tz="UTC")), ("status", pa.int32()),
     ("error", pa.string()), ("failures", pa.int32()), ("next_fetch_after", pa.timestamp("us", tz="UTC")),
     ("keep_validators", pa.bool_()), ("etag", pa.string()), ("last_modified", pa.string()),
     ("body_sha1", pa.string()), ("new_url", pa.string()), ("retired", pa.bool_()), ("stale", pa.bool_()),
     ("ttl_seconds", pa.int32())]
)  # fmt: skip


def feed_urls(conn: Conn) -> list[tuple[str, str, str]]:
    """(feed_id, configured_url, feed_url) of every stored feed, oldest first."""
    rows = conn.execute(
        "SELECT feed_id, configured_url, feed_url FROM feed ORDER BY added_at, feed_id"
    ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def update_specs(conn: Conn, specs: pa.Table) -> None:
    """Outlet, site and language of known feeds from the feeds file (columns feed_id, url, outlet,
    site_url, language); they become active again."""
    if specs.num_rows == 0:
        return
    with registered(conn, "feed_specs", specs):
        conn.execute(
            """UPDATE feed SET outlet = s.outlet, site_url = coalesce(s.site_url, feed.site_url),
                   language = coalesce(s.language, feed.language), active = TRUE
               FROM feed_specs s WHERE feed.feed_id = s.feed_id"""
        )


def insert_specs(conn: Conn, specs: pa.Table, now: datetime) -> None:
    """New feeds from the feeds file (same columns as ``update_specs``)."""
    if specs.num_rows == 0:
        return
    with registered(conn, "feed_specs", specs):
        conn.execute(
            """INSERT INTO feed (feed_id, configured_url, feed_url, outlet, site_url, language, added_at)
               SELECT feed_id, url, url, outlet, site_url, language, ? FROM feed_specs""",
            [now],
        )


def deactivate_others(conn: Conn, keep: list[str]) -> None:
    """Every active feed not in ``keep`` becomes inactive."""
    # An anti-join against the list (list_contains per row would compare every feed with every kept id).
    conn.execute(
        "UPDATE feed SET active = FALSE WHERE active AND feed_id NOT IN (SELECT unnest(?::VARCHAR[]))", [keep]
    )


def active_feeds(conn: Conn, now: datetime) -> list[tuple[Any, ...]]:
    """Active, not retired feeds: (feed_id, feed_url, outlet, language, etag, last_modified, body_sha1,
    consecutive_failures, ttl_seconds, site_url, waiting: scheduled after ``now``), by URL."""
    rows = conn.execute(
        "SELECT feed_id, feed_url, outlet, language, etag, last_modified, body_sha1, consecutive_failures,"
        " ttl_seconds, site_url, next_fetch_after IS NOT NULL AND next_fetch_after > ? AS waiting"
        " FROM feed WHERE active AND retired_at IS NULL ORDER BY feed_url",
        [now],
    ).fetchall()
    return [tuple(row) for row in rows]


def recent_entry_times(conn: Conn, now: datetime, limit: int) -> dict[str, tuple[datetime, ...]]:
    """The publication times of each feed's ``limit`` latest articles (no later than now), in one query."""
    rows = conn.execute(
        """SELECT feed_id, list(published_at ORDER BY published_at DESC)[1:?]
           FROM article WHERE feed_id IS NOT NULL AND published_at <= ? GROUP BY feed_id""",
        [limit, now],
    ).fetchall()
    return {feed_id: tuple(times) for feed_id, times in rows}


def record_fetches(conn: Conn, updates: pa.Table) -> None:
    """What a batch of fetches changes in the feeds' rows (FEED_UPDATE_SCHEMA), in one statement."""
    if updates.num_rows == 0:
        return
    with registered(conn, "feed_updates", updates):
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


FEED_STATUS_COLUMNS = (
    "feed_url", "outlet", "site_url", "language", "active", "retired_at", "last_fetched_at", "last_status",
    "last_error", "consecutive_failures", "n_articles",
)  # fmt: skip


def feed_status(db: str) -> list[dict[str, Any]]:
    """Every stored feed as the ``feed_status`` view shows it (FEED_STATUS_COLUMNS), by outlet, read-only."""
    columns = ", ".join(FEED_STATUS_COLUMNS)
    rows = query(db, f"SELECT {columns} FROM feed_status ORDER BY outlet, feed_url")
    return [dict(zip(FEED_STATUS_COLUMNS, row, strict=True)) for row in rows]
