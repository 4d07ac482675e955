"""`scooptrace sql`, `--print-attach`, what a wrong `--db` gets, and `scooptrace migrate` of a database of the
earlier single-file format (written by DuckDB 2.0.1, as the previous builds wrote it)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import duckdb
import pytest

from storage.connection import open_reader
from storage.legacy import old_duckdb_python
from tests.conftest import run_cli

DATA = Path(__file__).resolve().parent.parent / "data"


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("sql") / "world.duckdb"
    done = run_cli("import", str(DATA / "cluster_outages.csv"), "--db", str(db))
    assert done.returncode == 0, done.stderr
    return db


def test_sql_runs_a_query_read_only(imported: Path) -> None:
    done = run_cli("sql", "--db", str(imported), "SELECT count(*) AS n FROM articles")
    assert done.returncode == 0, done.stderr
    assert "47" in done.stdout
    # The shell is read-only on the database: a write is refused and nothing changes.
    refused = run_cli("sql", "--db", str(imported), "DELETE FROM article")
    assert refused.returncode != 0
    assert "read-only" in (refused.stderr + refused.stdout).lower()
    assert run_cli("sql", "--db", str(imported), "SELECT count(*) FROM articles").stdout.count("47") == 1


def test_print_attach_lets_any_duckdb_client_read_it(imported: Path) -> None:
    done = run_cli("sql", "--db", str(imported), "--print-attach")
    assert done.returncode == 0, done.stderr
    conn = duckdb.connect()
    for statement in done.stdout.split(";\n"):
        if statement.strip().rstrip(";"):
            conn.execute(statement.strip().rstrip(";"))
    assert conn.execute("SELECT count(*) FROM stories").fetchone()[0] > 0  # type: ignore[index]


def test_a_wrong_db_is_named_and_nothing_is_left_behind(tmp_path: Path) -> None:
    text = tmp_path / "notes.duckdb"
    text.write_text("just some notes\n", encoding="utf-8")
    for args in (
        ["sql", "SELECT 1"],
        ["feeds", "list"],
        ["ingest", "--no-cluster"],
        ["export", "--story", "x"],
    ):
        done = run_cli(*args, "--db", str(text))
        assert done.returncode == 2, (args, done.stderr)
        assert f"{text} is not a scooptrace database" in done.stderr
        assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.duckdb"]
    missing = run_cli("feeds", "list", "--db", str(tmp_path / "typo.duckdb"))
    assert missing.returncode == 1 and "no database at" in missing.stderr


def build_old_database(path: Path) -> None:
    """A database of the earlier single-file format, written by DuckDB 2.0.1 with that build's schema."""
    script = r"""
import sys, duckdb
path, schema = sys.argv[1], open(sys.argv[2]).read()
conn = duckdb.connect(path)
conn.execute(schema.split("-- migration 2:")[0])
conn.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, title VARCHAR, applied_at TIMESTAMPTZ)")
conn.execute("INSERT INTO schema_migrations VALUES (1, 'feeds, articles, pages', now())")
conn.execute("INSERT INTO feed (feed_id, configured_url, feed_url, outlet, added_at) VALUES "
             "('f1', 'https://example.org/feed', 'https://example.org/feed', 'Example', now())")
for i in range(30):
    conn.execute("INSERT INTO article (article_id, url, outlet, feed_id, title, published_at, published_at_source,"
                 " first_seen_at, page_state, origin, updated_at) VALUES (?, ?, 'Example', 'f1', ?,"
                 " TIMESTAMPTZ '2025-10-06 20:00:00+00' + to_minutes(?), 'feed', now(), 'extracted', 'feed', now())",
                 [f"a{i}", f"https://example.org/{i}", f"Story {i}", i])
    conn.execute("INSERT INTO article_url VALUES (?, ?)", [f"https://example.org/{i}", f"a{i}"])
conn.close()
"""
    python = old_duckdb_python()
    done = subprocess.run(
        [str(python), "-c", script, str(path), str(DATA / "legacy_schema_v3.sql")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_migrate_moves_an_old_file_into_a_ducklake(tmp_path: Path) -> None:
    old = tmp_path / "world.duckdb"
    build_old_database(old)
    refused = run_cli("sql", "--db", str(old), "SELECT 1")
    assert refused.returncode == 2 and f"scooptrace migrate {old}" in refused.stderr
    done = run_cli("migrate", str(old), timeout=300)
    assert done.returncode == 0, done.stderr
    assert "article: 30" in done.stdout and "feed: 1" in done.stdout
    assert (tmp_path / "world.duckdb.pre-ducklake").is_file()  # the old file is kept
    conn = open_reader(old)
    try:
        assert conn.execute("SELECT count(*), min(title) FROM articles").fetchone() == (30, "Story 0")
        assert conn.execute("SELECT count(*) FROM feed_status").fetchone() == (1,)
    finally:
        conn.close()
    # The next run works on the migrated database, and stories follow.
    clustered = run_cli("cluster", "--db", str(old))
    assert clustered.returncode == 0, clustered.stderr
    again = run_cli("migrate", str(old))
    assert again.returncode == 2 and "not a database of the earlier single-file format" in again.stderr


def test_a_catalog_without_its_tables_yet_reads_as_being_created(tmp_path: Path) -> None:
    """The window between the first writer making the catalog and committing its schema: a reader (the app,
    a cron job's neighbour) is told the database is being created, not "table articles does not exist"."""
    from storage import connection

    db = tmp_path / "new.duckdb"
    location = connection.locate(db)
    conn = duckdb.connect()
    for statement in location.load_sql():
        conn.execute(statement)
    conn.execute(location.attach_sql(read_only=False))  # DuckLake makes the catalog; no migration has run
    conn.close()
    with pytest.raises(connection.DatabaseError, match="being created"):
        connection.query(db, "SELECT count(*) FROM articles")
    connection.ensure_database(db)  # the writer goes on: then the same reader process reads it
    assert connection.query(db, "SELECT count(*) FROM articles") == [(0,)]


def test_a_new_database_gets_its_whole_schema_in_one_snapshot(tmp_path: Path) -> None:
    from storage import connection, migrations

    db = tmp_path / "new.duckdb"
    connection.ensure_database(db)
    versions = connection.query(db, "SELECT version FROM schema_migrations ORDER BY version")
    assert [v for (v,) in versions] == [m.version for m in migrations.migrations()]
    made = connection.query(
        db,
        "SELECT changes['tables_created'] FROM ducklake_snapshots('lake') WHERE changes['tables_created'] IS NOT NULL",
    )
    assert len(made) == 1  # every table in one commit
    assert {"main.schema_migrations", "main.article", "main.story"} <= set(made[0][0])
