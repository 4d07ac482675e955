"""The SQL page's sandbox: read-only SELECTs over the views work; every way into the machine is refused."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from scooptrace import sql_sandbox
from scooptrace.sql_sandbox import SandboxError, run_query
from storage.connection import data_folder_for, read_connection
from tests.app_fixtures import ARABIC_TITLE, build_story_db


@pytest.fixture
def story_db(tmp_path: Path) -> Path:
    return build_story_db(tmp_path / "s.duckdb")


def test_select_over_views(story_db: Path) -> None:
    result = run_query(story_db, "SELECT title FROM story_timeline WHERE language = 'ar'")
    assert result.frame["title"].tolist() == [ARABIC_TITLE]
    assert not result.truncated


def test_reads_the_parquet_files_of_the_database(story_db: Path) -> None:
    """Tables too big for the catalog live in Parquet files: the sandbox reads them, and nothing else."""
    files = list(data_folder_for(story_db).rglob("*.parquet"))
    assert files, "the story world has Parquet data files"
    frame = run_query(story_db, "SELECT count(*) AS n FROM story_member").frame
    assert frame["n"].item() == 11
    with pytest.raises(SandboxError, match="not allowed here"):
        run_query(story_db, f"SELECT * FROM read_parquet('{files[0]}')")


@pytest.mark.parametrize(
    "sql",
    [
        "FROM stories",
        "WITH s AS (SELECT * FROM stories) SELECT count(*) FROM s",
        "DESCRIBE stories",
        "SHOW TABLES",
        "SELECT * FROM articles;",
        "-- a comment\nSELECT 1",
    ],
)
def test_harmless_selects_run(story_db: Path, sql: str) -> None:
    assert run_query(story_db, sql).frame is not None


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("ATTACH '{tmp}/other.duckdb' AS other", "only SELECT"),
        ("ATTACH ':memory:' AS m", "only SELECT"),
        ("DETACH scooptrace", "only SELECT"),
        ("COPY stories TO '{tmp}/stolen.csv'", "only SELECT"),
        ("COPY (SELECT 1) TO '{tmp}/stolen.parquet' (FORMAT parquet)", "only SELECT"),
        ("EXPORT DATABASE '{tmp}/dump'", "only SELECT"),
        ("INSTALL httpfs", "only SELECT"),
        ("LOAD httpfs", "only SELECT"),
        ("SET enable_external_access = true", "only SELECT"),
        ("RESET lock_configuration", "only SELECT"),
        ("PRAGMA enable_profiling", "only SELECT"),
        ("CALL pragma_version()", "only SELECT"),
        ("CREATE TABLE x AS SELECT 1", "only SELECT"),
        ("CREATE MACRO m() AS 1", "only SELECT"),
        ("DROP VIEW stories", "only SELECT"),
        ("DELETE FROM article", "only SELECT"),
        ("USE memory", "only SELECT"),
        ("PIVOT stories ON first_outlet", "one statement"),
        ("SELECT 1; ATTACH '{tmp}/x.duckdb'", "one statement"),
        ("SELECT * FROM read_csv('/etc/passwd')", "not allowed here"),
        ("SELECT * FROM read_text('/etc/passwd')", "not allowed here"),
        ("SELECT * FROM read_blob('/etc/hostname')", "not allowed here"),
        ("SELECT * FROM read_json_auto('/etc/hosts')", "not allowed here"),
        ("SELECT * FROM read_parquet('https://example.com/x.parquet')", "not allowed here"),
        ("SELECT * FROM glob('/etc/*')", "not allowed here"),
        ("SELECT * FROM sniff_csv('/etc/passwd')", "not allowed here"),
        ("SELECT * FROM '/etc/passwd'", "does not exist"),
        ("SELECT * FROM query('ATTACH ''{tmp}/y.duckdb'' AS y')", "not allowed here"),
        ("SELECT * FROM query('SELECT 1')", "not allowed here"),
        ("SELECT getenv('HOME')", "getenv does not exist"),
        ("SELECT * FROM memory.main.stolen", "does not exist"),
        ("", "no query"),
    ],
)
def test_escapes_are_refused(story_db: Path, tmp_path: Path, sql: str, message: str) -> None:
    before = {p.name for p in tmp_path.iterdir()}  # the catalog, its data folder and lock files
    with pytest.raises(SandboxError, match=message):
        run_query(story_db, sql.format(tmp=tmp_path))
    created = {p.name for p in tmp_path.iterdir()} - before
    # SQLite's own companions of the catalog in WAL mode (-wal, -shm) come and go with its readers.
    wal = {f"{story_db.name}-wal", f"{story_db.name}-shm"}
    assert not created - wal, created


def test_configuration_is_locked(story_db: Path) -> None:
    conn = sql_sandbox.open_sandbox(story_db)
    try:
        for statement in (
            "SET enable_external_access = true",
            "SET memory_limit = '64GB'",
            "RESET temp_directory",
        ):
            with pytest.raises(duckdb.Error, match=r"locked|disabled"):
                conn.execute(statement)
        settings = dict(
            conn.execute(
                "SELECT name, value FROM duckdb_settings() WHERE name IN "
                "('enable_external_access', 'lock_configuration', 'temp_directory', 'access_mode')"
            ).fetchall()
        )
        assert settings["enable_external_access"] == "false"
        assert settings["lock_configuration"] == "true"
        assert settings["temp_directory"] == ""
        with pytest.raises(duckdb.Error, match="read-only"):
            conn.execute("CREATE TABLE lake.main.x (i INTEGER)")
    finally:
        conn.close()


def test_row_limit(story_db: Path) -> None:
    result = run_query(story_db, "SELECT * FROM range(100000)", row_limit=250)
    assert len(result.frame) == 250 and result.truncated


def test_time_limit_interrupts(story_db: Path) -> None:
    slow = "SELECT count(*) FROM range(200000) a, range(200000) b WHERE (a.range * b.range) % 7 = 3"
    started = time.monotonic()
    with pytest.raises(SandboxError, match="time limit"):
        run_query(story_db, slow, time_limit_seconds=0.5)
    assert time.monotonic() - started < 10


def test_sandbox_and_app_readers_coexist(story_db: Path) -> None:
    """DuckDB refuses two configurations on one file per process; the sandbox's own instance avoids that."""
    plain = read_connection(story_db)
    try:
        assert run_query(story_db, "SELECT count(*) AS n FROM stories").frame["n"].item() == 3
        assert plain.execute("SELECT count(*) FROM stories").fetchone() == (3,)
    finally:
        plain.close()


def test_concurrent_queries(story_db: Path) -> None:
    errors: list[BaseException] = []

    def work() -> None:
        try:
            run_query(story_db, "SELECT count(*) FROM story_timeline")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


def test_missing_database(tmp_path: Path) -> None:
    with pytest.raises(SandboxError, match="no database"):
        run_query(tmp_path / "none.duckdb", "SELECT 1")
    assert not (tmp_path / "none.duckdb").exists()


def test_overlong_query(story_db: Path) -> None:
    with pytest.raises(SandboxError, match="longer than"):
        run_query(story_db, "SELECT 1 " + " " * sql_sandbox.MAX_SQL_CHARS)
