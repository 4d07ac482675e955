"""The report commands through the CLI runner, on a real DuckDB file."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from common.errors import UsageError
from scooptrace.commands.signals import register
from storage.connection import open_reader

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def cli() -> click.Group:
    @click.group()
    def group() -> None:
        """A stand-in for the scooptrace group."""

    register(group)
    return group


def _count(db: Path, sql: str) -> int:
    conn = open_reader(db)
    try:
        row = conn.execute(sql).fetchone()
    finally:
        conn.close()
    assert row is not None
    return int(row[0])


def test_signals_import_csv_and_feed(cli: click.Group, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    runner = CliRunner()
    result = runner.invoke(
        cli, ["signals", "import", str(DATA / "signals_amazon_complaints.csv"), "--db", str(db)]
    )
    assert result.exit_code == 0, result.output
    assert "300 signals stored, 0 rows skipped" in result.output
    assert "spike began 2026-10-06T20:03:00+00:00, peak 4600" in result.output
    feed = runner.invoke(
        cli, ["signals", "import", str(DATA / "signals_amazon_status.atom"), "--db", str(db), "--json"]
    )
    assert feed.exit_code == 0, feed.output
    report = json.loads(feed.stdout)
    assert report["services"]["Amazon"]["status_entries"] == 2
    assert _count(db, "SELECT count(*) FROM signals WHERE kind = 'status'") == 2
    again = runner.invoke(
        cli, ["signals", "import", str(DATA / "signals_amazon_complaints.csv"), "--db", str(db)]
    )
    assert again.exit_code == 0
    assert _count(db, "SELECT count(*) FROM signals") == 302


def test_signals_import_reports_bad_rows_by_line(cli: click.Group, tmp_path: Path) -> None:
    db = tmp_path / "s.duckdb"
    result = CliRunner().invoke(cli, ["signals", "import", str(DATA / "signals_bad.csv"), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert "signals_bad.csv:3: count 'many' is not a number; skipped" in result.stderr
    assert "signals_bad.csv:4: timestamp 'yesterday'" in result.stderr
    assert "2 signals stored, 4 rows skipped" in result.stderr
    # No service column value: the file's name would be used; here the column names Amazon.
    assert _count(db, "SELECT count(*) FROM signals WHERE service = 'Amazon'") == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (b"ts,count\nnope,1\n", "no usable"),
        (b"<html><p>not a feed</p></html>", "not a usable Atom/RSS feed"),
        (b"\xff\xfe\x00garbage", "not UTF-8"),
    ],
)
def test_unusable_signal_file_is_a_usage_error(
    cli: click.Group, tmp_path: Path, content: bytes, message: str
) -> None:
    bad = tmp_path / "bad.dat"
    bad.write_bytes(content)
    result = CliRunner().invoke(cli, ["signals", "import", str(bad), "--db", str(tmp_path / "x.duckdb")])
    assert isinstance(result.exception, UsageError)
    assert result.exception.exit_code == 2
    assert str(bad) in str(result.exception) and message in str(result.exception)
    assert not (tmp_path / "x.duckdb").exists()


def test_missing_signal_file(cli: click.Group, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["signals", "import", str(tmp_path / "nope.csv")])
    assert isinstance(result.exception, UsageError)
    assert "cannot read signal file" in str(result.exception)


def test_eval_citations_prints_precision_and_recall(cli: click.Group) -> None:
    result = CliRunner().invoke(cli, ["eval-citations", str(DATA / "citations_sentences.csv")])
    assert result.exit_code == 0, result.output
    assert "81 sentences, precision 1.000, recall 1.000" in result.output
    as_json = CliRunner().invoke(cli, ["eval-citations", "--json"])
    files = {Path(r["file"]).name: r for r in json.loads(as_json.output)}
    assert set(files) == {
        "citations_sentences.csv",
        "citations_heldout.csv",
        "citations_fresh.csv",
        "citations_test.csv",
        "citations_final.csv",
    }
    assert files["citations_test.csv"]["precision"] == 1.0


def test_eval_citations_bad_file(cli: click.Group, tmp_path: Path) -> None:
    bad = tmp_path / "labels.csv"
    bad.write_text("lang,sentence\nen,hello\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval-citations", str(bad)])
    assert isinstance(result.exception, UsageError)
    assert "labels.csv:1: missing column(s) citing_outlet, expected" in str(result.exception)


def test_all_junk_signals_file_lists_its_problem_rows(cli: click.Group, tmp_path: Path) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_text("ts,count\n" + "".join(f"never{n},x\n" for n in range(12)), encoding="utf-8")
    result = CliRunner().invoke(cli, ["signals", "import", str(junk), "--db", str(tmp_path / "x.duckdb")])
    assert isinstance(result.exception, UsageError)
    message = str(result.exception)
    assert "no usable ts,count[,service] rows (12 rows with problems)" in message
    assert "line 2: timestamp 'never0' is not ISO 8601 or epoch seconds" in message
    assert "line 11: timestamp 'never9'" in message and "never10" not in message
    assert "... and 2 more" in message


def test_signals_help_has_no_rst_backquotes(cli: click.Group) -> None:
    result = CliRunner().invoke(cli, ["signals", "import", "--help"])
    assert result.exit_code == 0
    assert "ts,count[,service]" in result.output and "``" not in result.output


def test_one_row_skipped_is_singular(cli: click.Group, tmp_path: Path) -> None:
    one = tmp_path / "one.csv"
    one.write_text("ts,count\n2026-10-06T20:00:00Z,1\n2026-10-06T20:01:00Z,many\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["signals", "import", str(one), "--db", str(tmp_path / "x.duckdb")])
    assert result.exit_code == 0, result.output
    assert "1 signal stored, 1 row skipped" in result.stderr
