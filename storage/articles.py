"""The SQL of articles as the ingest stage writes them: new feed entries, pages fetched or failed, their URLs
and links, and the run log. Every write is idempotent (deterministic keys, upserts), so a run killed at any
moment is completed by the next one. Plain values and Arrow tables in, rows out (``ingest.store`` builds them)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pyarrow as pa

from storage.helpers import Conn, registered

NEW_ARTICLE_COLUMNS = (
    "article_id", "url", "outlet", "feed_id", "title", "language", "published_at", "published_at_source",
    "feed_published_raw", "first_seen_at", "summary", "updated_at", "published_at_precision",
    "published_at_earliest", "published_at_latest", "published_claims",
)  # fmt: skip
PAGE_UPDATE_COLUMNS = (
    "article_id", "url", "title", "text", "author", "site_name", "language", "canonical_url",
    "page_published_raw", "published_at", "published_at_source", "published_at_precision",
    "published_at_earliest", "published_at_latest", "published_claims",
)  # fmt: skip
PAGE_FAILURE_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("state", pa.string()), ("error", pa.string()), ("attempts", pa.int32()),
     ("next_attempt_at", pa.timestamp("us", tz="UTC"))]
)  # fmt: skip
LINK_SCHEMA = pa.schema(
    [("article_id", pa.string()), ("position", pa.int32()), ("href", pa.string()), ("anchor", pa.string())]
)
# New pages, and failed ones whose retry is due (page_next_attempt_at NULL after a failure: given up).
PAGE_DUE = "(a.page_state = 'pending' OR (a.page_state = 'failed' AND a.page_next_attempt_at <= ?))"


def known_urls(conn: Conn, urls: list[str]) -> set[str]:
    """Which of ``urls`` are already stored (under any article), in one query."""
    if not urls:
        return set()
    found = conn.execute("SELECT url FROM article_url WHERE list_contains(?, url)", [urls]).fetchall()
    return {row[0] for row in found}


def article_at_url(conn: Conn, url: str) -> str | None:
    """The article stored under ``url``, if any."""
    row = conn.execute("SELECT article_id FROM article_url WHERE url = ?", [url]).fetchone()
    return str(row[0]) if row else None


def add_url(conn: Conn, url: str, article_id: str) -> None:
    conn.execute("INSERT INTO article_url VALUES (?, ?)", [url, article_id])


def insert_new_articles(conn: Conn, new_rows: pa.Table) -> None:
    """Articles from feed entries (NEW_ARTICLE_COLUMNS), pages pending; ones already stored are skipped."""
    with registered(conn, "new_rows", new_rows):
        conn.execute(
            f"""INSERT INTO article ({", ".join(NEW_ARTICLE_COLUMNS)}, page_state, origin)
                SELECT *, 'pending', 'feed' FROM new_rows n
                WHERE NOT EXISTS (SELECT 1 FROM article a WHERE a.article_id = n.article_id)"""
        )
        conn.execute(
            """INSERT INTO article_url SELECT url, article_id FROM new_rows n
               WHERE NOT EXISTS (SELECT 1 FROM article_url u WHERE u.url = n.url)"""
        )


def insert_imported(conn: Conn, values: Sequence[Any], now: datetime) -> None:
    """One article from an imported file, with its URL: (article_id, url, outlet, title, language,
    published_at, summary, text, precision, earliest, latest, claims as JSON). Its page is never fetched."""
    article_id, url, outlet, title, language, published_at, summary, text, *claim = values
    conn.execute(
        """INSERT INTO article (article_id, url, outlet, title, language, published_at,
               published_at_source, first_seen_at, summary, text, page_state, origin, updated_at,
               published_at_precision, published_at_earliest, published_at_latest, published_claims)
           VALUES (?, ?, ?, ?, ?, ?, 'feed', ?, ?, ?, 'not_fetched', 'import', ?, ?, ?, ?, ?)""",
        [article_id, url, outlet, title, language, published_at, now, summary, text, now, *claim],
    )
    add_url(conn, url, article_id)


def pending_pages(conn: Conn, now: datetime) -> list[tuple[Any, ...]]:
    """Pages due: (article_id, url, outlet, language, feed_published_raw, first_seen_at, site_url, attempts,
    feed_id), oldest first."""
    rows = conn.execute(
        f"""SELECT a.article_id, a.url, a.outlet, a.language, a.feed_published_raw, a.first_seen_at, f.site_url,
                  coalesce(a.page_attempts, 0), a.feed_id
           FROM article a LEFT JOIN feed f USING (feed_id)
           WHERE {PAGE_DUE} ORDER BY a.first_seen_at, a.article_id""",
        [now],
    ).fetchall()
    return [tuple(row) for row in rows]


def record_page_failures(conn: Conn, failures: pa.Table, now: datetime) -> None:
    """Pages that could not be used (PAGE_FAILURE_SCHEMA): the articles stay, from their feed entries, with
    the tries counted and the next one scheduled (NULL: given up)."""
    with registered(conn, "page_failures", failures):
        conn.execute(
            """UPDATE article SET page_state = f.state, page_error = f.error, page_attempts = f.attempts,
                   page_next_attempt_at = f.next_attempt_at, updated_at = ?
               FROM page_failures f WHERE article.article_id = f.article_id""",
            [now],
        )


def time_history(conn: Conn, outlets: set[str], per_outlet: int) -> list[tuple[str, Any, str | None]]:
    """(outlet, stored claims as JSON, feed date as written) of each outlet's latest ``per_outlet`` articles
    from feeds."""
    if not outlets:
        return []
    rows = conn.execute(
        """SELECT outlet, published_claims, feed_published_raw FROM article
           WHERE outlet IN (SELECT unnest(?)) AND origin IS DISTINCT FROM 'import'
           QUALIFY row_number() OVER (PARTITION BY outlet ORDER BY first_seen_at DESC) <= ?""",
        [sorted(outlets), per_outlet],
    ).fetchall()
    return [(str(outlet), claims, feed_raw) for outlet, claims, feed_raw in rows]


def write_page_batch(conn: Conn, updates: pa.Table, links: pa.Table, pages: pa.Table, now: datetime) -> None:
    """Extracted pages: the article rows (PAGE_UPDATE_COLUMNS), their links (LINK_SCHEMA) and the compressed
    HTML (article_id, url, http_status, fetched_at, html)."""
    with (
        registered(conn, "page_updates", updates),
        registered(conn, "page_links", links),
        registered(conn, "page_blobs", pages),
    ):
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


def merge_into(conn: Conn, duplicate_id: str, keeper_id: str) -> None:
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


def start_run(conn: Conn, run_id: str, command: str, now: datetime) -> None:
    conn.execute("INSERT INTO run (run_id, command, started_at) VALUES (?, ?, ?)", [run_id, command, now])


def finish_run(conn: Conn, run_id: str, summary: dict[str, object], now: datetime) -> None:
    conn.execute(
        "UPDATE run SET finished_at = ?, summary = ? WHERE run_id = ?",
        [now, json.dumps(summary, default=str), run_id],
    )
