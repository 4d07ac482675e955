"""The numbered migrations of ``schema.sql``, applied once each and recorded in the catalog."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources

import duckdb

from common.errors import DatabaseError

_MIGRATION_HEADER = re.compile(r"^-- migration (\d+): (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Migration:
    version: int
    title: str
    sql: str


def migrations() -> list[Migration]:
    """The numbered migrations of schema.sql, in order."""
    text = resources.files("storage").joinpath("schema.sql").read_text(encoding="utf-8")
    heads = list(_MIGRATION_HEADER.finditer(text))
    out = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        out.append(Migration(int(head.group(1)), head.group(2).strip(), text[head.end() : end]))
    return out


def applied_versions(conn: duckdb.DuckDBPyConnection) -> set[int]:
    tables = {
        row[0]
        for row in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()"
        ).fetchall()
    }
    if "schema_migrations" not in tables:
        return set()
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations").fetchall()}


def migrate(conn: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply every migration not yet recorded; returns the versions applied.

    A new database gets all of them in one transaction, so a reader opening it meanwhile sees either no
    schema at all ("being created") or the whole of it, never half. An existing one gets each pending
    migration in its own transaction."""
    done = applied_versions(conn)
    pending = [m for m in migrations() if m.version not in done]
    groups = [pending] if not done and pending else [[m] for m in pending]
    applied: list[int] = []
    for group in groups:
        migration = group[0]
        conn.execute("BEGIN")
        try:
            if not done and not applied:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations "
                    "(version INTEGER NOT NULL, title VARCHAR, applied_at TIMESTAMPTZ)"
                )
            for migration in group:
                conn.execute(migration.sql)
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, ?)",
                    [migration.version, migration.title, datetime.now(UTC)],
                )
            conn.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has already ended the transaction
                conn.execute("ROLLBACK")
            raise DatabaseError(f"migration {migration.version} ({migration.title}) failed: {exc}") from exc
        applied.extend(m.version for m in group)
    return applied
