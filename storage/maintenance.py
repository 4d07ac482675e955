"""DuckLake housekeeping, run by the writers themselves: merge small files, expire old snapshots, delete
files nobody can read any more. Readers are never disturbed: a file leaves the disk only after it has been
unreferenced for ``KEEP_FILES``, far longer than any reader's query."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

import duckdb

log = logging.getLogger(__name__)

# Why each value:
# - EVERY: a cron run every few minutes adds a few files per commit; merging hourly keeps reads fast
#   (hundreds of files at most) and costs well under a second per run at 1 M articles.
# - KEEP_SNAPSHOTS: time travel is not a feature of scooptrace; an hour covers any reader's snapshot.
# - KEEP_FILES: a file merged away stays on disk this long, so a reader mid-query never loses one.
EVERY = timedelta(hours=1)
KEEP_SNAPSHOTS = "1 hour"
KEEP_FILES = "1 hour"


def _last_run(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    row = conn.execute("SELECT value FROM storage_state WHERE key = 'maintained_at'").fetchone()
    return datetime.fromisoformat(row[0]) if row else None


def maybe_maintain(conn: duckdb.DuckDBPyConnection, lake: str, force: bool = False) -> float | None:
    """Run the maintenance when it is due (or ``force``); returns the seconds it took, None when not due."""
    now = datetime.now(UTC)
    last = _last_run(conn)
    if not force and (last is None or now - last < EVERY):
        if last is None:  # a new database: nothing to merge yet; the clock starts now
            _record(conn, now)
        return None
    started = time.perf_counter()
    conn.execute(f"CALL {lake}.set_option('expire_older_than', '{KEEP_SNAPSHOTS}')")
    conn.execute(f"CALL {lake}.set_option('delete_older_than', '{KEEP_FILES}')")
    conn.execute(f"CHECKPOINT {lake}")
    _record(conn, now)
    seconds = time.perf_counter() - started
    log.info("maintenance ms=%d", round(seconds * 1000))
    return seconds


def _record(conn: duckdb.DuckDBPyConnection, at: datetime) -> None:
    conn.execute("BEGIN")
    conn.execute("DELETE FROM storage_state WHERE key = 'maintained_at'")
    conn.execute("INSERT INTO storage_state VALUES ('maintained_at', ?)", [at.isoformat()])
    conn.execute("COMMIT")
