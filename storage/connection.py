"""Every connection to the database is opened here.

The database is a DuckLake: a catalog (a SQLite file at ``--db PATH``, or a PostgreSQL database named by a
``postgresql://`` URL) plus Parquet data files in a folder (``PATH.files/`` beside a SQLite catalog, or the
``data_path`` setting). DuckDB reads and writes it through the ``ducklake`` extension, loaded by path from its
PyPI package, so nothing is downloaded at run time.

Readers attach the catalog read-only and see the last committed snapshot; they never wait for a writer and
never make one fail. Writers commit in batches; a writer lock (a file lock beside a SQLite catalog, a
PostgreSQL advisory lock for a PostgreSQL catalog) keeps two runs of the same database or shard apart, and is
released by the operating system or the server the moment its holder dies, so a dead run never blocks the next.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from common.errors import DatabaseError, LockBusyError, UsageError
from storage import maintenance, migrations

log = logging.getLogger(__name__)

LAKE = "lake"
EXTENSIONS = ("ducklake", "sqlite_scanner", "postgres_scanner")
POSTGRES_PREFIXES = ("postgresql://", "postgres://")
SQLITE_MAGIC = b"SQLite format 3\x00"
DUCKDB_MAGIC = b"DUCK"  # at byte 8 of a DuckDB database file
# Opening and migrating the catalog takes well under a second; a minute covers a migration of a big database.
SCHEMA_LOCK_WAIT_SECONDS = 60.0
# A batch that lost a commit race to another writer is redone on the new snapshot, at most this many times.
CONFLICT_RETRIES = 12
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


def extension_path(name: str) -> str:
    """The path of a DuckDB extension shipped inside its PyPI package (``duckdb-extension-<name>``)."""
    package = f"duckdb_extension_{name}"
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise DatabaseError(f"the DuckDB extension package {package} is not installed: run `make install`")
    root = Path(next(iter(spec.submodule_search_locations)))
    wanted = root / "extensions" / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if wanted.is_file():
        return str(wanted)
    found = sorted(root.glob(f"extensions/*/{name}.duckdb_extension"))
    if not found:
        raise DatabaseError(f"{package} holds no {name}.duckdb_extension for DuckDB {duckdb.__version__}")
    return str(found[-1])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class Location:
    """Where one database lives: its catalog, its data folder, and how its writers lock it."""

    display: str  # what messages call it: the path or the URL without password
    catalog: str  # the DuckLake catalog string after ``ducklake:``
    data_path: str
    path: Path | None  # the SQLite catalog file; None for PostgreSQL

    @property
    def is_postgres(self) -> bool:
        return self.path is None

    def exists(self) -> bool:
        if self.path is None:
            return True
        return self.path.is_file() and self.path.stat().st_size > 0

    def attach_sql(self, read_only: bool) -> str:
        options = (
            ["READ_ONLY"] if read_only else [f"DATA_PATH {_quote(self.data_path)}"] if self.data_path else []
        )
        suffix = f" ({', '.join(options)})" if options else ""
        return f"ATTACH {_quote('ducklake:' + self.catalog)} AS {LAKE}{suffix}"

    def load_sql(self) -> list[str]:
        needed = ["ducklake", "postgres_scanner" if self.is_postgres else "sqlite_scanner"]
        return [f"LOAD {_quote(extension_path(name))}" for name in needed]


def data_folder_for(path: Path) -> Path:
    """The data folder of a SQLite catalog: ``PATH.files`` beside it."""
    return path.with_name(path.name + ".files")


def _postgres_display(url: str) -> str:
    head, _, tail = url.partition("://")
    creds, at, host = tail.rpartition("@")
    if not at:
        return url
    user = creds.split(":", 1)[0]
    return f"{head}://{user}@{host}"


def locate(db: str | Path, data_path: str | None = None) -> Location:
    """Turn ``--db`` (a file path or a ``postgresql://`` URL) into a Location. No I/O."""
    text = str(db)
    if text.startswith(POSTGRES_PREFIXES):
        # The data folder is recorded in the catalog when it is made; only that first writer must name it.
        folder = "" if not data_path else data_path if data_path.endswith("/") else data_path + "/"
        return Location(_postgres_display(text), "postgres:" + text, folder, None)
    path = Path(text).expanduser().absolute()
    folder = data_path or str(data_folder_for(path))
    return Location(str(db), "sqlite:" + str(path), folder.rstrip("/") + "/", path)


def check_format(location: Location) -> None:
    """Refuse, with a way out, a file that is not a DuckLake catalog (an old single-file database, text...)."""
    path = location.path
    if path is None or not path.exists():
        return
    if path.is_dir():
        raise UsageError(f"{path} is a folder, not a scooptrace database file")
    with open(path, "rb") as handle:
        head = handle.read(16)
    if not head or head.startswith(SQLITE_MAGIC):
        return
    if head[8:12] == DUCKDB_MAGIC:
        raise UsageError(
            f"{location.display} is a database of the earlier single-file format; move it into a DuckLake "
            f"with `scooptrace migrate {location.display}` (nothing is lost; the old file is kept)"
        )
    raise UsageError(f"{location.display} is not a scooptrace database (not a DuckLake catalog)")


def _connect(location: Location, read_only: bool) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(config={"threads": str(max(1, os.cpu_count() or 1))})
    try:
        conn.execute("SET enable_progress_bar = false")
        for statement in location.load_sql():
            conn.execute(statement)
        conn.execute(location.attach_sql(read_only))
        conn.execute(f"USE {LAKE}")
        if read_only and not migrations.applied_versions(conn):
            conn.close()  # the first writer has made the catalog and not yet committed its tables
            raise DatabaseError(
                f"no database at {location.display} yet: it is being created (if no run is going, the first "
                "one stopped before it made the tables; the next `scooptrace ingest` or `import` makes them)"
            )
    except duckdb.Error as exc:
        conn.close()
        if read_only and "creating a new DuckLake is explicitly disabled" in str(exc):
            # The first writer has made the catalog file but not its tables yet.
            raise DatabaseError(f"no database at {location.display} yet: it is being created") from exc
        raise DatabaseError(f"cannot open database {location.display}: {_short(exc)}") from exc
    return conn


# One read-only DuckDB instance per database and process, opened on first use: loading the extensions and
# binding the catalog costs about a second, a cursor on the open instance a millisecond. Every cursor starts
# its own transactions, so each query sees the latest committed snapshot.
_READERS: dict[tuple[str, int], duckdb.DuckDBPyConnection] = {}
_READERS_LOCK = threading.Lock()


def _reader_key(location: Location) -> tuple[str, int]:
    # A catalog replaced by another file at the same path (migrate, a test's new database) is a new key.
    inode = location.path.stat().st_ino if location.path is not None else 0
    return location.catalog, inode


def _short(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def open_reader(db: str | Path, data_path: str | None = None) -> duckdb.DuckDBPyConnection:
    """A read-only connection on the last committed snapshot; the views are ready (``USE lake``). Close it
    when done (the process keeps the instance behind it for the next reader)."""
    location = locate(db, data_path)
    check_format(location)
    if not location.exists():
        raise DatabaseError(
            f"no database at {location.display}: run `scooptrace ingest` or `scooptrace import` first"
        )
    key = _reader_key(location)
    with _READERS_LOCK:
        base = _READERS.get(key)
        if base is None:
            base = _READERS[key] = _connect(location, read_only=True)
        cursor = base.cursor()
    try:
        cursor.execute(f"USE {LAKE}")
    except duckdb.Error as exc:  # the instance went bad (files removed under it): open a fresh one
        cursor.close()
        with _READERS_LOCK:
            _READERS.pop(key, None)
        raise DatabaseError(f"cannot read {location.display}: {_short(exc)}") from exc
    return cursor


# Kept for the readers written before DuckLake: the same thing under its old name.
read_connection = open_reader


def query(db: str | Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """Run one read-only query and fetch it fully before the connection closes."""
    conn = open_reader(db)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


class _FileLock:
    """``flock`` on a file beside the catalog. Python opens it close-on-exec and extraction workers come from a
    fork server, so no child holds it; the kernel drops it the moment its holder dies.

    The holder writes its pid into the file and empties it when it lets go, so a pid found there by the next
    holder is a writer that died (killed, out of memory): the takeover is logged."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle: Any = None

    def try_acquire(self) -> bool:
        if self.handle is None:
            try:
                self.handle = open(self.path, "a+")  # noqa: SIM115 - held until release()
            except OSError as exc:
                raise DatabaseError(f"cannot create lock file {self.path}: {exc.strerror}") from exc
        try:
            fcntl.flock(self.handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        previous = self._recorded()
        if previous is not None and previous != os.getpid():
            state = "still running but no longer holds it" if _alive(previous) else "gone"
            log.warning(
                "lock %s: the previous writer (process %d, %s) died without letting go; the kernel released"
                " its lock, taking over",
                self.path, previous, state,
            )  # fmt: skip
        self.handle.seek(0)
        self.handle.truncate()
        self.handle.write(f"{os.getpid()}\n")
        self.handle.flush()
        return True

    def _recorded(self) -> int | None:
        self.handle.seek(0)
        text = self.handle.read().strip()
        return int(text) if text.isdigit() else None

    def holder(self) -> str:
        try:
            return self.path.read_text().strip()
        except OSError:
            return ""

    def busy_note(self) -> str:
        holder = self.holder()
        if not holder.isdigit():
            return ""
        if _alive(int(holder)):
            return f" It is process {holder}."
        return (
            f" Its writer (process {holder}) is gone, but a process it left behind still holds {self.path}"
            f" (find it with `fuser {self.path}`)."
        )

    def release(self, clean: bool = True) -> None:
        if self.handle is not None:
            if clean:
                with suppress(OSError):
                    self.handle.seek(0)
                    self.handle.truncate()  # a clean release: the next holder finds no pid
                    self.handle.flush()
            self.handle.close()
            self.handle = None


class _AdvisoryLock:
    """A PostgreSQL session advisory lock on its own connection: the server drops it when the holder dies."""

    def __init__(self, url: str, name: str) -> None:
        self.url = url
        self.key = int.from_bytes(hashlib.sha1(name.encode()).digest()[:8], "big", signed=True)
        self.conn: Any = None

    def try_acquire(self) -> bool:
        import psycopg

        if self.conn is None:
            try:
                self.conn = psycopg.connect(self.url, autocommit=True)
            except psycopg.Error as exc:
                raise DatabaseError(f"cannot reach the PostgreSQL catalog: {_short(exc)}") from exc
        row = self.conn.execute("SELECT pg_try_advisory_lock(%s)", [self.key]).fetchone()
        return bool(row and row[0])

    def holder(self) -> str:
        return ""

    def busy_note(self) -> str:
        return ""

    def release(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def lock_name(location: Location, scope: str) -> str:
    return f"scooptrace:{location.catalog}:{scope}"


@contextmanager
def writer_lock(location: Location, scope: str, wait_seconds: float) -> Iterator[None]:
    """Hold the writer lock of ``scope`` (``db``, ``shard-2-of-4``, ``stories``) for the block.

    Waits up to ``wait_seconds`` (saying so at once), then raises LockBusyError (exit status 75).
    """
    lock: _FileLock | _AdvisoryLock
    if location.path is None:
        lock = _AdvisoryLock(location.catalog.removeprefix("postgres:"), lock_name(location, scope))
    else:
        suffix = ".lock" if scope == "db" else f".{scope}.lock"
        lock = _FileLock(location.path.with_name(location.path.name + suffix))
    deadline = time.monotonic() + wait_seconds
    told = acquired = False
    try:
        while not lock.try_acquire():
            if not told and scope != "schema":  # at once, so nobody stares at a silent terminal
                holder = lock.holder()
                who = f" (pid {holder})" if holder.isdigit() else ""
                part = "" if scope == "db" else f" ({scope})"
                log.warning(
                    "another scooptrace writer%s holds %s%s; waiting up to %gs for it to finish "
                    "(lock_wait_seconds in the settings file)",
                    who, location.display, part, wait_seconds,
                )  # fmt: skip
                told = True
            if time.monotonic() >= deadline:
                part = "" if scope == "db" else f" ({scope})"
                raise LockBusyError(
                    f"another scooptrace writer (ingest, import or cluster) is using {location.display}{part}; "
                    f"waited {wait_seconds:g}s.{lock.busy_note() or ' Try again when it has finished.'}"
                )
            time.sleep(0.1)
        acquired = True
        yield
    finally:
        if isinstance(lock, _FileLock):
            lock.release(clean=acquired)
        else:
            lock.release()


class Writer:
    """A writer's connection. Each ``transaction()`` commits one batch that readers then see."""

    def __init__(self, location: Location) -> None:
        self.location = location
        self.conn = _connect(location, read_only=False)

    def run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``work`` in one transaction and commit it; redo it when another writer's commit conflicted.

        DuckLake settles most races itself; what reaches us is a real conflict (two writers deleting from the
        same data, e.g. two shards updating rows of one table). The loser rolls back and redoes its batch on
        the new snapshot, so ``work`` must read what it depends on inside the transaction.
        """
        for attempt in range(1, CONFLICT_RETRIES + 1):
            self.conn.execute("BEGIN")
            try:
                result = work(self.conn)
                self.conn.execute("COMMIT")
                return result
            except duckdb.TransactionException as exc:
                self._rollback()
                if "conflict" not in str(exc).lower() or attempt == CONFLICT_RETRIES:
                    raise DatabaseError(f"cannot commit to {self.location.display}: {_short(exc)}") from exc
                log.info("commit conflict with another writer; retry=%d", attempt)
                time.sleep(random.uniform(0.05, 0.2) * attempt)
            except BaseException:
                self._rollback()
                raise
        raise AssertionError("unreachable")

    def _rollback(self) -> None:
        with suppress(duckdb.Error):
            self.conn.execute("ROLLBACK")

    def close(self) -> None:
        self.conn.close()


@contextmanager
def writer(
    db: str | Path,
    lock_wait_seconds: float = 10.0,
    *,
    scope: str = "db",
    data_path: str | None = None,
) -> Iterator[Writer]:
    """The one way to write: take the lock of ``scope``, open the lake, migrate, and maintain on the way out."""
    location = locate(db, data_path)
    check_format(location)
    if location.path is not None and not location.path.parent.exists():
        raise DatabaseError(f"cannot write {location.display}: folder {location.path.parent} does not exist")
    with writer_lock(location, scope, lock_wait_seconds):
        if location.path is not None:
            Path(location.data_path).mkdir(parents=True, exist_ok=True)
        # Making the catalog and migrating it happen one writer at a time (shards may start together).
        with writer_lock(location, "schema", SCHEMA_LOCK_WAIT_SECONDS):
            created = location.path is not None and not location.exists()
            if location.path is not None and not created:
                use_wal(location.path)
            w = Writer(location)
            try:
                migrations.migrate(w.conn)
            except BaseException:
                w.close()
                raise
        try:
            yield w
            maintenance.maybe_maintain(w.conn, LAKE)
        finally:
            w.close()
            if created and location.path is not None:
                use_wal(location.path)  # a new catalog: once DuckLake has made it (readers may open it then)


def use_wal(path: Path) -> None:
    """Put a SQLite catalog in WAL mode (kept in the file): a reader's open read transaction then never
    blocks a writer's commit, which the default rollback journal does ("Failed to commit DuckLake
    transaction" for an ingest while `scooptrace sql` sits on a query)."""
    try:
        with closing(sqlite3.connect(path, timeout=5)) as catalog:
            if catalog.execute("PRAGMA journal_mode").fetchone() != ("wal",):
                catalog.execute("PRAGMA journal_mode=WAL")
    except sqlite3.Error as exc:  # held by a reader this very moment: the next writer sets it
        log.info("catalog=%s journal mode not changed now: %s", path, exc)


def ensure_database(db: str | Path, lock_wait_seconds: float = 10.0, data_path: str | None = None) -> None:
    """Create an empty, migrated database if none exists yet (or finish one whose first writer stopped
    before it made the tables)."""
    location = locate(db, data_path)
    check_format(location)
    if not location.exists() or not _has_schema(location):
        with writer(db, lock_wait_seconds, data_path=data_path):
            pass


def _has_schema(location: Location) -> bool:
    """A reader opens only a catalog whose tables are made (``_connect`` checks the migrations)."""
    try:
        open_reader(location.display, location.data_path).close()
    except DatabaseError:
        return False
    return True


def attach_statements(db: str | Path, data_path: str | None = None) -> list[str]:
    """What any DuckDB 1.5 client runs to read the database: load the extensions, attach read-only, use it."""
    location = locate(db, data_path)
    return [*location.load_sql(), location.attach_sql(read_only=True), f"USE {LAKE}"]
