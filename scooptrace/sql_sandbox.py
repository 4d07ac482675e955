"""The SQL page's sandbox: one read-only SELECT over the database, and no way into the machine.

Layers, each enough on its own for the escapes it names (tests/app/test_app_sql.py tries them all):

1. Only a single statement of type SELECT is accepted (``duckdb.extract_statements``): ATTACH, COPY, EXPORT,
   INSTALL, LOAD, PRAGMA, SET, CALL, CREATE, USE ... are refused before anything runs.
   Table functions are refused unless they only read the database itself: the DuckLake catalog is a SQLite
   file read through ``sqlite_scan``, which would otherwise read any SQLite file on the machine.
2. A private in-memory DuckDB instance per query attaches the database READ_ONLY, then switches
   ``enable_external_access`` off (no file or URL reading: read_csv, read_text, glob, COPY TO, ATTACH of
   another file, INSTALL/LOAD), turns spilling to disk off, caps memory and threads, and locks the
   configuration so no statement can undo that.
3. A row limit (the result is fetched through ``LIMIT n+1``) and a time limit (``interrupt()`` from a timer).

Why a private in-memory instance rather than ``duckdb.connect(file, read_only=True, config=...)``: DuckDB keeps
one instance per file and process and refuses a second connection "with a different configuration", so a
sandbox opened that way would collide with the app's ordinary read connections. An ATTACH in a separate
instance does not.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from common.errors import UsageError
from storage.connection import LAKE, attach_statements, locate

DEFAULT_ROW_LIMIT = 5000
DEFAULT_TIME_LIMIT_SECONDS = 10.0
MEMORY_LIMIT = "1GB"
THREADS = 2
MAX_SQL_CHARS = 20_000
# Table functions a query may call: they compute, they read no file, catalog or other database.
ALLOWED_TABLE_FUNCTIONS = frozenset({"range", "generate_series", "unnest"})


class SandboxError(UsageError):
    """The query was refused, failed, or ran past its time limit; the message is safe to show."""


@dataclass(frozen=True)
class SandboxResult:
    frame: pd.DataFrame
    truncated: bool  # more rows existed than the row limit
    elapsed_seconds: float


def check_statement(sql: str) -> str:
    """Return the text of the one SELECT statement in ``sql``, or raise SandboxError saying why not."""
    if len(sql) > MAX_SQL_CHARS:
        raise SandboxError(f"query is longer than {MAX_SQL_CHARS} characters")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise SandboxError(_first_line(exc)) from exc
    if not statements:
        raise SandboxError("no query given")
    if len(statements) > 1:
        raise SandboxError("one statement at a time, please")
    statement = statements[0]
    if statement.type != duckdb.StatementType.SELECT:
        kind = str(statement.type).rsplit(".", 1)[-1]
        raise SandboxError(f"only SELECT queries are allowed here (this is {kind})")
    for name in _table_functions(str(statement.query)):
        if name.lower() not in ALLOWED_TABLE_FUNCTIONS:
            raise SandboxError(f"table function {name}() is not allowed here: query the views instead")
    return str(statement.query)


def _table_functions(sql: str) -> list[str]:
    """The names of every table function the statement calls (from DuckDB's own parse tree)."""
    # A private in-memory instance: the module's default connection is shared by every thread of the app.
    with duckdb.connect() as parser:
        tree = json.loads(parser.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])  # type: ignore[index]
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
                found.append(str(node["function"].get("function_name", "")))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(tree)
    return found


def open_sandbox(db_path: Path | str) -> duckdb.DuckDBPyConnection:
    """A private instance with the database attached read-only, external access off, configuration locked."""
    conn = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
        },
    )
    try:
        for statement in attach_statements(db_path):
            conn.execute(statement)
        conn.execute("SET temp_directory = ''")  # no spilling to disk: a big query fails on memory instead
        conn.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        conn.execute(f"SET threads = {THREADS}")
        # The one folder left readable: the database's own Parquet files (small tables sit in the catalog).
        conn.execute(f"SET allowed_directories = [{_quote(_data_path(conn))}]")
        conn.execute("SET enable_external_access = false")
        conn.execute("SET lock_configuration = true")
    except duckdb.Error:
        conn.close()
        raise
    return conn


def _data_path(conn: duckdb.DuckDBPyConnection) -> str:
    row = conn.execute(f"SELECT data_path FROM ducklake_settings('{LAKE}')").fetchone()
    if row is None or not row[0]:
        raise duckdb.InvalidInputException("the database records no data folder")
    return str(row[0])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def run_query(
    db_path: Path | str,
    sql: str,
    row_limit: int = DEFAULT_ROW_LIMIT,
    time_limit_seconds: float = DEFAULT_TIME_LIMIT_SECONDS,
) -> SandboxResult:
    """Run one SELECT in the sandbox; at most ``row_limit`` rows, at most ``time_limit_seconds``."""
    statement = check_statement(sql)
    if not locate(db_path).exists():
        raise SandboxError(f"no database at {db_path} yet")
    started = time.monotonic()
    try:
        conn = open_sandbox(db_path)
    except duckdb.Error as exc:
        raise SandboxError(f"cannot open the database: {_first_line(exc)}") from exc
    timer = threading.Timer(time_limit_seconds, conn.interrupt)
    timer.start()
    try:
        frame = conn.sql(statement).limit(row_limit + 1).df()
    except duckdb.InterruptException as exc:
        raise SandboxError(f"stopped after the time limit of {time_limit_seconds:g} s") from exc
    except duckdb.Error as exc:
        raise SandboxError(_first_line(exc)) from exc
    finally:
        timer.cancel()
        conn.close()
    truncated = len(frame) > row_limit
    return SandboxResult(frame.head(row_limit), truncated, time.monotonic() - started)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
