"""Every query the app runs on the public views, in one place. Reads only the views of INTERFACE.md (articles, feed_status,
stories, story_timeline, citations, signals, outlet_stats) through short-lived read-only connections that are
fetched fully and closed before returning. No Streamlit here: the pages cache these results, the benchmark
calls them directly.

A view may be missing while the stage that creates it has not run (or landed) yet: ``db_status`` says which
views exist, and the pages explain instead of failing.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from common.errors import DatabaseError, ScooptraceError
from common.settings import DEFAULT_DB
from storage.connection import POSTGRES_PREFIXES, locate, query, read_connection
from storage.migrations import migrations

_VIEW_NAME = re.compile(
    r"\bCREATE\s+(?:OR\s+REPLACE\s+)?VIEW\s+(\w+)|\bVIEW\s+\w+\s+RENAME\s+TO\s+(\w+)", re.I
)


@functools.cache
def schema_views() -> tuple[str, ...]:
    """Every view the schema creates (or renames one to), in the order it first appears: the list the app
    shows and looks for, so a view added to the schema is never missing from it."""
    names: dict[str, None] = {}
    for migration in migrations():
        for created, renamed in _VIEW_NAME.findall(migration.sql):
            names.setdefault(created or renamed, None)
    return tuple(names)


# How far around a story's coverage the outage signals are shown: complaints usually start before the first
# headline (the Amazon example: about 40 minutes), and follow-ups run for hours.
SIGNAL_LEAD = timedelta(hours=6)
SIGNAL_TRAIL = timedelta(hours=3)


def db_path_from_env(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    return Path(env.get("SCOOPTRACE_DB") or DEFAULT_DB)


def snapshot_version(db: Path | str) -> int:
    """A cache key that changes with every commit of a writer: the catalog's latest DuckLake snapshot."""
    try:
        rows = query(db, "SELECT max(snapshot_id) FROM ducklake_snapshots('lake')")
    except (DatabaseError, duckdb.Error):
        return 0
    return int(rows[0][0] or 0)


@dataclass(frozen=True)
class DbStatus:
    """What the app can show: does the file exist, which views are there, how fresh is it."""

    path: Path
    exists: bool
    modified_at: datetime | None = None
    views: frozenset[str] = frozenset()
    columns: dict[str, tuple[str, ...]] = field(default_factory=dict)
    n_articles: int = 0
    error: str | None = None

    def has(self, *views: str) -> bool:
        return all(view in self.views for view in views)

    def has_column(self, view: str, column: str) -> bool:
        return column in self.columns.get(view, ())


def file_version(db_path: Path | str) -> int:
    """A cache key that changes whenever a writer commits: the catalog file's mtime (a SQLite catalog is
    written at every commit), or the latest snapshot id for a PostgreSQL catalog; 0 if absent."""
    if str(db_path).startswith(POSTGRES_PREFIXES):
        return snapshot_version(db_path)
    try:
        return os.stat(db_path).st_mtime_ns
    except OSError:
        return 0


def _fetch_df(db_path: Path, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
    conn = read_connection(db_path)
    try:
        return conn.execute(sql, params or []).df()
    finally:
        conn.close()


def db_status(db_path: Path) -> DbStatus:
    path = Path(db_path)
    if not locate(db_path).exists():
        return DbStatus(path=path, exists=False)
    modified_at = (
        None if locate(db_path).path is None else datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    )
    try:
        conn = read_connection(db_path)
    except (ScooptraceError, duckdb.Error) as exc:
        return DbStatus(path=path, exists=True, modified_at=modified_at, error=str(exc))
    try:
        rows = conn.execute(
            "SELECT table_name, list(column_name ORDER BY ordinal_position) FROM information_schema.columns "
            "WHERE table_schema = 'main' AND list_contains(?, table_name) GROUP BY table_name",
            [list(schema_views())],
        ).fetchall()
        columns = {name: tuple(cols) for name, cols in rows}
        count = conn.execute("SELECT count(*) FROM articles").fetchone() if "articles" in columns else None
    except duckdb.Error as exc:
        return DbStatus(path=path, exists=True, modified_at=modified_at, error=str(exc))
    finally:
        conn.close()
    return DbStatus(
        path=path,
        exists=True,
        modified_at=modified_at,
        views=frozenset(columns),
        columns=columns,
        n_articles=int(count[0]) if count else 0,
    )


@dataclass(frozen=True)
class StoryFilter:
    """The Stories page filters. ``since``/``until`` bound the story's first report."""

    since: datetime | None = None
    until: datetime | None = None
    outlets: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    text: str = ""
    min_outlets: int = 1
    limit: int = 200


def stories(db_path: Path, flt: StoryFilter) -> pd.DataFrame:
    """The latest stories first, with who broke each and how far it spread."""
    where: list[str] = ["n_outlets >= ?"]
    params: list[Any] = [flt.min_outlets]
    if flt.since is not None:
        where.append("first_published_at >= ?")
        params.append(flt.since)
    if flt.until is not None:
        where.append("first_published_at < ?")
        params.append(flt.until)
    if flt.languages:
        where.append("len(list_intersect(languages, ?)) > 0")
        params.append(list(flt.languages))
    if flt.outlets:
        where.append(
            "story_id IN (SELECT story_id FROM story_timeline WHERE outlet IN (SELECT unnest(?::VARCHAR[])))"
        )
        params.append(list(flt.outlets))
    if flt.text.strip():
        where.append(
            "(headline ILIKE ? ESCAPE '\\' OR story_id IN "
            "(SELECT story_id FROM story_timeline WHERE title ILIKE ? ESCAPE '\\'))"
        )
        pattern = "%" + flt.text.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        params += [pattern, pattern]
    sql = f"""
        SELECT story_id, headline, first_outlet, first_published_at, last_published_at, n_articles, n_outlets,
               languages, epoch(last_published_at - first_published_at) AS spread_seconds
        FROM stories
        WHERE {" AND ".join(where)}
        ORDER BY first_published_at DESC, story_id
        LIMIT ?"""
    return _fetch_df(db_path, sql, [*params, flt.limit])


def filter_choices(db_path: Path) -> tuple[list[str], list[str]]:
    """Outlets and languages of the stored articles, most frequent first, for the filter widgets (from
    ``articles``: a third of the cost of going through story_timeline on 1 M articles)."""
    conn = read_connection(db_path)
    try:
        outlets = conn.execute(
            "SELECT outlet FROM articles WHERE outlet IS NOT NULL GROUP BY outlet "
            "ORDER BY count(*) DESC, outlet LIMIT 500"
        ).fetchall()
        languages = conn.execute(
            "SELECT language FROM articles WHERE language IS NOT NULL GROUP BY language "
            "ORDER BY count(*) DESC, language"
        ).fetchall()
    finally:
        conn.close()
    return [row[0] for row in outlets], [row[0] for row in languages]


def story(db_path: Path, story_id: str) -> dict[str, Any] | None:
    """One row of ``stories`` as a dict, or None when there is no such story."""
    frame = _fetch_df(db_path, "SELECT * FROM stories WHERE story_id = ?", [story_id])
    if frame.empty:
        return None
    return {key: _plain(value) for key, value in frame.iloc[0].to_dict().items()}


def _plain(value: Any) -> Any:
    """numpy arrays (list columns) become lists; everything else stays as pandas gave it."""
    return value.tolist() if hasattr(value, "tolist") and not isinstance(value, pd.Timestamp) else value


def story_timeline(db_path: Path, story_id: str) -> pd.DataFrame:
    """Every article of a story in order of publication, with the source of its time and the copy's original."""
    sql = """
        SELECT t.article_id, t.outlet, t.title, t.language, t.published_at, t.lag_seconds, t.is_first_report,
               t.syndicated_from_article_id, o.outlet AS syndicated_from_outlet, t.url,
               a.published_at_source
        FROM story_timeline t
        LEFT JOIN articles a ON a.article_id = t.article_id
        LEFT JOIN story_timeline o ON o.story_id = t.story_id AND o.article_id = t.syndicated_from_article_id
        WHERE t.story_id = ?
        ORDER BY t.published_at, t.outlet, t.article_id"""
    return _fetch_df(db_path, sql, [story_id])


def story_citations(db_path: Path, story_id: str) -> pd.DataFrame:
    """Who in this story credits whom, with the evidence."""
    sql = """
        SELECT t.outlet AS citing_outlet, t.article_id AS citing_article_id, t.published_at AS citing_published_at,
               c.cited_outlet, c.cited_article_id, c.kind, c.evidence
        FROM citations c JOIN story_timeline t ON t.article_id = c.citing_article_id
        WHERE t.story_id = ? AND c.cited_outlet IS DISTINCT FROM t.outlet
        ORDER BY t.published_at, t.outlet, c.cited_outlet"""
    return _fetch_df(db_path, sql, [story_id])


def story_signals(
    db_path: Path, first_published_at: datetime, last_published_at: datetime, service: str
) -> pd.DataFrame:
    """The outage signals (complaint counts, status posts) of the story's service around its coverage."""
    sql = """
        SELECT source, service, ts, value, kind, text FROM signals
        WHERE ts BETWEEN ? AND ? AND lower(service) = lower(?)
        ORDER BY ts, source"""
    return _fetch_df(
        db_path, sql, [first_published_at - SIGNAL_LEAD, last_published_at + SIGNAL_TRAIL, service]
    )


def story_outage(db_path: Path, story_id: str) -> dict[str, Any] | None:
    """The story lined up with its service's outage (onset, lag, first statement), from ``story_outages``:
    the one with a spike onset first, then the earliest onset."""
    frame = _fetch_df(
        db_path,
        """SELECT service, onset_at, lag_seconds, statement_at, statement_text, summary FROM story_outages
           WHERE story_id = ? ORDER BY onset_at IS NULL, onset_at, service LIMIT 1""",
        [story_id],
    )
    if frame.empty:
        return None
    return {key: None if _is_missing(value) else value for key, value in frame.iloc[0].to_dict().items()}


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def outlet_stats(db_path: Path) -> pd.DataFrame:
    return _fetch_df(db_path, "SELECT * FROM outlet_stats")


def feed_health(db_path: Path, now: datetime | None = None, days: int = 7) -> pd.DataFrame:
    """Every feed with its health and articles per day over the last ``days``, the failing ones first."""
    now = now or datetime.now(UTC)
    sql = """
        WITH recent AS (
            SELECT feed_url, count(*) AS n FROM articles
            WHERE first_seen_at >= ? AND feed_url IS NOT NULL GROUP BY feed_url)
        SELECT f.outlet, f.feed_url, f.last_fetched_at, f.last_status, f.last_error, f.consecutive_failures,
               f.n_articles, coalesce(r.n, 0) / ? AS articles_per_day, f.next_due_at, f.stale
        FROM feed_status f LEFT JOIN recent r USING (feed_url)
        ORDER BY (f.last_error IS NOT NULL OR f.consecutive_failures > 0) DESC, f.consecutive_failures DESC,
                 f.outlet, f.feed_url"""
    return _fetch_df(db_path, sql, [now - timedelta(days=days), float(days)])


def recent_story_ids(db_path: Path, limit: int = 50) -> pd.DataFrame:
    """For the Story page's picker when no id is given."""
    sql = """SELECT story_id, headline, first_published_at FROM stories
             ORDER BY first_published_at DESC, story_id LIMIT ?"""
    return _fetch_df(db_path, sql, [limit])


def watches(db_path: Path) -> pd.DataFrame:
    """Every saved watch."""
    return _fetch_df(
        db_path,
        "SELECT name, terms, outlets, languages, min_outlets, webhook, email FROM watches ORDER BY name",
    )


def alerts(db_path: Path, limit: int = 500) -> pd.DataFrame:
    """The alerts raised by the runs, newest first, with where each was delivered."""
    return _fetch_df(
        db_path,
        "SELECT raised_at, watch, trigger, detail, story_id, delivered_at.webhook AS webhook_at, "
        "delivered_at.email AS email_at, pending_channels, failed_channels, delivery_error, alert_id "
        "FROM alerts ORDER BY raised_at DESC, alert_id DESC LIMIT ?",
        [limit],
    )
