"""The database layer shared by ingest, cluster and the app.

DuckDB lets one process open a file read-write *or* many open it read-only, never both, and has no busy
timeout. So writers never touch the file readers open. A writer (ingest, import, cluster) holds an exclusive
lock file, works on a private copy (``<db>.work``), and *publishes* by copying it to a temporary file and
``os.replace``-ing that over ``<db>``. A reader that has the old file open keeps reading the old snapshot
(its open file survives the rename); the next reader opens the new one. Nobody ever waits on anybody.
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb

from scooptrace.errors import DatabaseError, LockBusyError

_MIGRATION_HEADER = re.compile(r"^-- migration (\d+): (.+)$", re.MULTILINE)
LOCKED_MESSAGE = "Could not set lock on file"
log = logging.getLogger("scooptrace.db")


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    sql: str


def migrations() -> list[Migration]:
    """The numbered migrations of schema.sql, in order."""
    text = resources.files("scooptrace").joinpath("schema.sql").read_text(encoding="utf-8")
    heads = list(_MIGRATION_HEADER.finditer(text))
    out = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out.append(Migration(int(head.group(1)), head.group(2).strip(), text[head.end() : end]))
    return out


def migrate(conn: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied now."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, title VARCHAR, applied_at TIMESTAMPTZ)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for migration in migrations():
        if migration.version in done:
            continue
        conn.execute("BEGIN")
        try:
            conn.execute(migration.sql)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                [migration.version, migration.title, utcnow()],
            )
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            conn.execute("ROLLBACK")
            raise DatabaseError(f"migration {migration.version} ({migration.title}) failed: {exc}") from exc
        applied.append(migration.version)
    return applied


def utcnow() -> datetime:
    return datetime.now(UTC)


def work_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".work")


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


def _recorded_holder(handle: Any) -> int | None:
    """The pid a writer wrote into the lock file, or None (empty file: the last writer let go cleanly)."""
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None


def _busy_message(db_path: Path, holder: int | None, wait_seconds: float) -> str:
    base = (
        f"another scooptrace writer (ingest, import or cluster) is using {db_path}; waited {wait_seconds:g}s."
    )
    if holder is None:
        return f"{base} Try again when it has finished."
    if _pid_alive(holder):
        return f"{base} It is process {holder}. Try again when it has finished."
    return (
        f"{base} Its writer (process {holder}) is gone, but a process it left behind still holds"
        f" {lock_path(db_path)} (find it with `fuser {lock_path(db_path)}`)."
    )


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def exclusive_lock(db_path: Path, wait_seconds: float) -> Iterator[None]:
    """Hold ``<db>.lock`` for the duration; wait up to ``wait_seconds``, then raise LockBusyError.

    The holder writes its pid into the file and empties it when it lets go, so a pid found there by the
    next holder is a writer that died (killed, out of memory): the kernel released its flock, and the
    takeover is logged. The descriptor is close-on-exec (Python's default), and extraction workers are
    started by a fork server, so no child process ever holds the lock.
    """
    path = lock_path(db_path)
    try:
        handle = open(path, "a+")  # noqa: SIM115 - held for the whole block
    except OSError as exc:
        raise DatabaseError(f"cannot create lock file {path}: {exc.strerror}") from exc
    deadline = time.monotonic() + wait_seconds
    locked = False
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                locked = True
                break
            except BlockingIOError as exc:
                if time.monotonic() >= deadline:
                    holder = _recorded_holder(handle)
                    raise LockBusyError(_busy_message(db_path, holder, wait_seconds)) from exc
                time.sleep(0.1)
        previous = _recorded_holder(handle)
        if previous is not None and previous != os.getpid():
            state = "still running but no longer holds it" if _pid_alive(previous) else "gone"
            log.warning(
                "lock %s: the previous writer (process %d, %s) died without letting go; the kernel released"
                " its lock, taking over",
                path,
                previous,
                state,
            )
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        if locked:
            handle.seek(0)
            handle.truncate()  # a clean release: the next holder finds no pid
            handle.flush()
        handle.close()


class Writer:
    """The single writer's connection to the private working copy, and the publishing of snapshots."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.work = work_path(db_path)
        self.conn = self._open()
        self.last_published = time.monotonic()

    def _open(self) -> duckdb.DuckDBPyConnection:
        if not self.work.exists() and self.db_path.exists():
            # A published file without its working copy (copied from elsewhere, or work file removed).
            shutil.copyfile(self.db_path, self.work)
        try:
            conn = duckdb.connect(str(self.work))
        except (duckdb.Error, OSError) as exc:
            raise DatabaseError(f"cannot open database {self.work}: {exc}") from exc
        migrate(conn)
        return conn

    def publish(self) -> None:
        """Make everything committed so far visible to readers, atomically."""
        try:
            self.conn.execute("CHECKPOINT")
            self.conn.close()
            tmp = self.db_path.with_name(f".{self.db_path.name}.{os.getpid()}.tmp")
            shutil.copyfile(self.work, tmp)
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(tmp, self.db_path)
        except (duckdb.Error, OSError) as exc:
            raise DatabaseError(f"cannot publish {self.db_path}: {exc}") from exc
        finally:
            self.conn = self._open()
        self.last_published = time.monotonic()

    def maybe_publish(self, every_seconds: float) -> None:
        if every_seconds > 0 and time.monotonic() - self.last_published >= every_seconds:
            self.publish()

    def close(self) -> None:
        self.conn.close()


@contextmanager
def writer(db_path: Path, lock_wait_seconds: float = 10.0) -> Iterator[Writer]:
    """The one way to write: lock, open the working copy, and publish on success."""
    db_path = Path(db_path)
    if db_path.parent and not db_path.parent.exists():
        raise DatabaseError(f"cannot write {db_path}: folder {db_path.parent} does not exist")
    with exclusive_lock(db_path, lock_wait_seconds):
        w = Writer(db_path)
        try:
            yield w
            w.publish()
        finally:
            w.close()


def ensure_published(db_path: Path, lock_wait_seconds: float = 10.0) -> None:
    """Create an empty, migrated database for readers if none exists yet."""
    if not Path(db_path).exists():
        with writer(db_path, lock_wait_seconds):
            pass


def read_connection(db_path: Path, attempts: int = 20, delay: float = 0.05) -> duckdb.DuckDBPyConnection:
    """A short-lived read-only connection, retried while someone holds a conflicting lock."""
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            return duckdb.connect(str(db_path), read_only=True)
        except duckdb.IOException as exc:
            if LOCKED_MESSAGE not in str(exc):
                raise DatabaseError(f"cannot open {db_path}: {exc}") from exc
            last = exc
            time.sleep(delay * (attempt + 1))
    raise DatabaseError(f"{db_path} stayed locked by a writer: {last}") from last


def query(db_path: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one read-only query and fetch it fully before the connection closes."""
    conn = read_connection(db_path)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()
