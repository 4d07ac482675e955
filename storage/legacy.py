"""``scooptrace migrate OLD.duckdb``: move a database of the earlier single-file format into a DuckLake.

The earlier builds wrote DuckDB files with DuckDB 2.x, which the pinned DuckDB 1.5 (the last line with
DuckLake packages on PyPI) cannot open. So the export runs in a throwaway virtual environment with
``duckdb==2.0.1`` from the package registry (cached under ``~/.cache/scooptrace``), which writes every table
as Parquet; DuckDB 1.5 then loads the Parquet into a new DuckLake, checks every row count, and only then puts
the DuckLake where the old file was. The old file is kept beside it as ``OLD.duckdb.pre-ducklake``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from common.errors import DatabaseError, UsageError
from storage.connection import DUCKDB_MAGIC, data_folder_for, writer

OLD_DUCKDB = "duckdb==2.0.1"

# Runs inside the throwaway environment: every base table of the old file to one Parquet file each.
_EXPORT_SCRIPT = r"""
import json, sys, duckdb
source, folder = sys.argv[1], sys.argv[2]
conn = duckdb.connect(source, read_only=True)
tables = [r[0] for r in conn.execute(
    "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY table_name").fetchall()]
counts = {}
for name in tables:
    target = f"{folder}/{name}.parquet".replace("'", "''")
    conn.execute(f'COPY "{name}" TO \'{target}\' (FORMAT parquet)')
    counts[name] = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
print(json.dumps(counts))
"""


@dataclass(frozen=True)
class MigrationReport:
    source: Path
    kept_as: Path
    rows: dict[str, int]
    skipped_tables: tuple[str, ...]

    def describe(self) -> str:
        total = sum(self.rows.values())
        lines = [
            f"migrated {self.source} into a DuckLake: {total:,} rows in {len(self.rows)} tables, all counted"
        ]
        lines += [f"  {name}: {count:,}" for name, count in sorted(self.rows.items())]
        if self.skipped_tables:
            lines.append(f"  not carried over (rebuilt by the next run): {', '.join(self.skipped_tables)}")
        lines.append(
            f"the old file is kept as {self.kept_as}; data files are in {data_folder_for(self.source)}"
        )
        return "\n".join(lines)


def is_single_file_database(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(16)[8:12] == DUCKDB_MAGIC
    except OSError:
        return False


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "scooptrace" / OLD_DUCKDB.replace("==", "-")


def old_duckdb_python() -> Path:
    """A Python with ``duckdb==2.0.1``: made once from the package registry, then reused."""
    venv = _cache_dir()
    python = venv / "bin" / "python"
    if python.exists():
        return python
    print(f"scooptrace: preparing {OLD_DUCKDB} in {venv} (once) to read the old file", file=sys.stderr)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", OLD_DUCKDB], check=True, capture_output=True
        )
    except subprocess.CalledProcessError as exc:
        raise DatabaseError(
            f"cannot install {OLD_DUCKDB} to read the old file: {exc.stderr.decode(errors='replace')[-300:]}"
        ) from exc
    return python


def _export(source: Path, folder: Path) -> dict[str, int]:
    """Every table of the old file as Parquet; with DuckDB 1.5 when it can read the file, else with 2.x."""
    try:
        conn = duckdb.connect(str(source), read_only=True)
    except duckdb.Error:
        conn = None
    if conn is not None:
        conn.close()
        python = Path(sys.executable)
    else:
        python = old_duckdb_python()
    done = subprocess.run(
        [str(python), "-c", _EXPORT_SCRIPT, str(source), str(folder)], capture_output=True, text=True
    )
    if done.returncode != 0:
        raise DatabaseError(f"cannot read {source}: {done.stderr.strip().splitlines()[-1:]}")
    counts: dict[str, int] = json.loads(done.stdout)
    return counts


def migrate_file(source: Path, lock_wait_seconds: float = 10.0) -> MigrationReport:
    """Move ``source`` (earlier single-file format) into a DuckLake at the same path, nothing lost."""
    source = source.absolute()
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    if not is_single_file_database(source):
        raise UsageError(f"{source} is not a database of the earlier single-file format: nothing to migrate")
    staging = source.with_name(source.name + ".migrating")
    kept = source.with_name(source.name + ".pre-ducklake")
    for leftover in (staging, Path(str(staging) + ".lock")):
        leftover.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="scooptrace-migrate-") as folder:
        counts = _export(source, Path(folder))
        with writer(staging, lock_wait_seconds, data_path=str(data_folder_for(source))) as w:
            rows, skipped = _load(w.conn, Path(folder), counts)
    os.replace(source, kept)
    os.replace(staging, source)
    Path(str(staging) + ".lock").unlink(missing_ok=True)
    return MigrationReport(source, kept, rows, tuple(skipped))


def _load(
    conn: duckdb.DuckDBPyConnection, folder: Path, counts: dict[str, int]
) -> tuple[dict[str, int], list[str]]:
    """Insert each exported table into the lake's table of the same name, by column name; check the counts."""
    tables = {
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'lake'"
        ).fetchall()
    }
    rows: dict[str, int] = {}
    skipped = []
    conn.execute("BEGIN")
    for name, expected in sorted(counts.items()):
        if name not in tables or name == "schema_migrations":
            skipped.append(name)
            continue
        parquet = str(folder / f"{name}.parquet").replace("'", "''")
        conn.execute(f"DELETE FROM {name}")
        conn.execute(f"INSERT INTO {name} BY NAME SELECT * FROM read_parquet('{parquet}')")
        got = conn.execute(f"SELECT count(*) FROM {name}").fetchone()
        if not got or got[0] != expected:
            conn.execute("ROLLBACK")
            raise DatabaseError(
                f"migration of table {name} lost rows: {expected} in the old file, {got} loaded"
            )
        rows[name] = expected
    conn.execute("COMMIT")
    return rows, skipped
