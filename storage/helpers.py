"""Helpers every storage module shares: a transaction block, Arrow registration, UTC instants, row counts."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

Conn = duckdb.DuckDBPyConnection


@contextmanager
def transaction(conn: Conn) -> Iterator[None]:
    """Run the block in one transaction: committed when it ends, rolled back when it raises."""
    conn.execute("BEGIN")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _arrow_column(values: pa.Array | Sequence[Any]) -> pa.Array:
    if isinstance(values, pa.Array):
        return values
    # An empty list has no type to infer; a string column joins like any other.
    return pa.array(list(values), type=pa.string()) if not values else pa.array(list(values))


@contextmanager
def registered(
    conn: Conn, name: str, columns: pa.Table | Mapping[str, pa.Array | Sequence[Any]]
) -> Iterator[None]:
    """Register an Arrow table (or columns to make one) under ``name`` for the block (DuckDB joins it like
    a table)."""
    if isinstance(columns, pa.Table):
        table = columns
    else:
        table = pa.table({key: _arrow_column(values) for key, values in columns.items()})
    conn.register(name, table)
    try:
        yield
    finally:
        conn.unregister(name)


def utc(value: datetime) -> datetime:
    """An instant in UTC; a naive value is taken to be UTC already."""
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def utc_or_none(value: datetime | None) -> datetime | None:
    """``utc`` of a value that may be missing."""
    return utc(value) if value else None


def affected(row: tuple[Any, ...] | None) -> int:
    """The affected-row count DuckDB returns for INSERT, UPDATE and DELETE (no RETURNING: DuckLake-safe)."""
    return int(row[0]) if row else 0
