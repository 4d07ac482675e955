"""``scooptrace import`` on the files people really have: Excel's Latin-1, a broken quote, a stray column,
epoch times. Through click's runner on a real database; every skipped row is accounted for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from scooptrace.cli import cli
from storage.connection import open_reader

HEADER = "url,title,outlet,published_at\n"


def row(n: int, title: str | None = None) -> str:
    return f"https://news.example/{n},{title or f'Story {n}'},Outlet,2025-10-06T20:{n:02d}:00Z\n"


def run_import(tmp_path: Path, name: str, data: bytes, *extra: str) -> Result:
    path = tmp_path / name
    path.write_bytes(data)
    return CliRunner().invoke(
        cli, ["import", "--db", str(tmp_path / "news.duckdb"), "--no-cluster", *extra, str(path)]
    )


def titles(tmp_path: Path) -> list[str]:
    conn = open_reader(tmp_path / "news.duckdb")
    try:
        return [r[0] for r in conn.execute("SELECT title FROM articles ORDER BY url").fetchall()]
    finally:
        conn.close()


@pytest.mark.parametrize(("codec", "name"), [("cp1252", "Windows-1252"), ("latin-1", "Windows-1252")])
def test_latin1_csv_is_read_and_the_encoding_said_aloud(tmp_path: Path, codec: str, name: str) -> None:
    data = (HEADER + row(1, "Café ouvert à Paris") + row(2)).encode(codec)
    result = run_import(tmp_path, "excel.csv", data)
    assert result.exit_code == 0, result.output
    assert f"excel.csv: not UTF-8 (byte 0xe9 on line 2); read as {name}" in result.stderr
    assert "Traceback" not in result.output
    assert titles(tmp_path) == ["Café ouvert à Paris", "Story 2"]


def test_utf8_with_bom_is_plain_utf8(tmp_path: Path) -> None:
    result = run_import(tmp_path, "bom.csv", ("\ufeff" + HEADER + row(1, "Café")).encode("utf-8"))
    assert result.exit_code == 0, result.output
    assert "not UTF-8" not in result.stderr
    assert titles(tmp_path) == ["Café"]


def test_binary_file_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    result = run_import(tmp_path, "utf16.csv", (HEADER + row(1)).encode("utf-16"))
    assert result.exit_code == 2
    assert "utf16.csv:1: a NUL byte: not a text file" in result.stderr
    assert not (tmp_path / "news.duckdb").exists()


def test_unclosed_quote_is_reported_where_it_opens(tmp_path: Path) -> None:
    lines = [row(n) for n in range(2, 11)]
    lines[6] = 'https://news.example/8,"Story 8 never closed,Outlet,2025-10-06T20:08:00Z\n'  # line 8
    result = run_import(tmp_path, "quote.csv", (HEADER + "".join(lines)).encode(), "--json")
    assert result.exit_code == 0, result.output
    assert (
        "quote.csv:8: a quote opened on this line is never closed (lines 8-10 were read as one field); "
        "lines 8-10 skipped" in result.stderr
    )
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["added"], summary["skipped"]) == (9, 6, 3)
    assert len(titles(tmp_path)) == 6


def test_quote_closed_lines_later_is_reported_at_its_opening_line(tmp_path: Path) -> None:
    text = (
        HEADER + row(2) + 'https://news.example/3,"Story 3,Outlet,2025-10-06T20:03:00Z\n' + '"x",y\n' + row(5)
    )
    result = run_import(tmp_path, "late.csv", text.encode(), "--json")
    assert result.exit_code == 0, result.output
    assert "late.csv:3: a quote opened on this line closes on line 4" in result.stderr
    assert "lines 3-4 skipped" in result.stderr
    summary = json.loads(result.stdout)
    assert (summary["rows"], summary["added"], summary["skipped"]) == (4, 2, 2)


def test_extra_and_missing_columns_are_reported_not_accepted(tmp_path: Path) -> None:
    text = HEADER + row(2) + row(3).rstrip("\n") + ",surplus\n" + "https://news.example/4,Story 4,Outlet\n"
    result = run_import(tmp_path, "columns.csv", text.encode(), "--json")
    assert result.exit_code == 0, result.output
    assert "columns.csv:3: 5 fields, the header has 4 (extra: 'surplus'); row skipped" in result.stderr
    assert "columns.csv:4: 3 fields, the header has 4 (missing: published_at); row skipped" in result.stderr
    assert json.loads(result.stdout)["skipped"] == 2
    assert titles(tmp_path) == ["Story 2"]


def test_a_multiline_quoted_text_is_still_one_good_row(tmp_path: Path) -> None:
    text = "url,title,outlet,published_at,text\n" + (
        'https://news.example/1,Story 1,Outlet,2025-10-06T20:01:00Z,"First paragraph.\nSecond one."\n'
    )
    result = run_import(tmp_path, "multi.csv", text.encode(), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["added"] == 1


def test_jsonl_accepts_epoch_seconds_as_signals_import_does(tmp_path: Path) -> None:
    lines = [
        {"url": "https://news.example/n", "title": "Number", "outlet": "O", "published_at": 1759781880},
        {"url": "https://news.example/s", "title": "String", "outlet": "O", "published_at": "1759781880.5"},
        {"url": "https://news.example/x", "title": "Junk", "outlet": "O", "published_at": 12},
    ]
    data = "".join(json.dumps(line) + "\n" for line in lines).encode()
    result = run_import(tmp_path, "epoch.jsonl", data, "--json")
    assert result.exit_code == 0, result.output
    assert (
        "epoch.jsonl:3: published_at '12' is not a date (a number must be epoch seconds); row skipped"
        in result.stderr
    )
    conn = open_reader(tmp_path / "news.duckdb")
    try:
        got = conn.execute("SELECT title, epoch(published_at) FROM articles ORDER BY title").fetchall()
    finally:
        conn.close()
    assert got == [("Number", 1759781880.0), ("String", 1759781880.5)]
    assert json.loads(result.stdout)["assumed_utc"] == 0


def test_nothing_usable_exits_2_with_every_problem_named(tmp_path: Path) -> None:
    result = run_import(tmp_path, "junk.csv", (HEADER + "a,b\n" + "https://x.example/1,T,O,never\n").encode())
    assert result.exit_code == 2
    assert "junk.csv: no usable row (2 read)" in result.stderr
    assert "junk.csv:2: 2 fields, the header has 4" in result.stderr
    assert "junk.csv:3: published_at 'never' is not a date" in result.stderr


def test_one_row_is_singular(tmp_path: Path) -> None:
    result = run_import(tmp_path, "one.csv", (HEADER + row(1)).encode())
    assert result.exit_code == 0, result.output
    assert "1 row: 1 added" in result.stderr and "1 rows" not in result.stderr


def test_second_writer_says_at_once_that_it_waits(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import fcntl
    import logging

    config = tmp_path / "s.toml"
    config.write_text("lock_wait_seconds = 1.0\n", encoding="utf-8")
    csv_file = tmp_path / "one.csv"
    csv_file.write_text(HEADER + row(1), encoding="utf-8")
    db = tmp_path / "news.duckdb"
    with open(str(db) + ".lock", "a+") as held, caplog.at_level(logging.WARNING, logger="storage.connection"):
        held.write("4242\n")
        held.flush()
        fcntl.flock(held, fcntl.LOCK_EX)
        result = CliRunner().invoke(cli, ["import", "--db", str(db), "--config", str(config), str(csv_file)])
    assert result.exit_code == 75
    assert (
        f"another scooptrace writer (pid 4242) holds {db}; waiting up to 1s for it to finish" in caplog.text
    )
    assert "waited 1s" in result.stderr
