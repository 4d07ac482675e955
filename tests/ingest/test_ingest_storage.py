"""Cron safety: killed runs, overlapping runs, readers during writes, bad files, imports, feed commands."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from storage.connection import open_reader
from tests.conftest import SCOOPTRACE, Item, ingest, opml, page, rows, rss, run_cli
from tests.localserver import LocalServer, Reply

RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def many_articles(server: LocalServer, count: int, slow: float = 0.0) -> None:
    items = [
        Item(f"Story number {i}", server.url(f"/p{i}"), "Mon, 06 Oct 2025 16:05:00 -0400")
        for i in range(count)
    ]
    server.route("/feed.xml", Reply(200, rss(items), RSS))
    for i in range(count):
        body = page(f"Story number {i}")
        server.route(f"/p{i}", lambda _r, b=body: (time.sleep(slow), Reply(200, b, HTML))[1])


def test_kill_mid_run_then_clean_rerun(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    many_articles(server, 40, slow=0.15)
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    config = tmp_path / "small-batches.toml"
    config.write_text(fast_config.read_text().replace("workers = 1", "workers = 1\nbatch_size = 5"))
    args = [SCOOPTRACE, "ingest", "--db", str(db_path), "--feeds", str(feeds), "--config", str(config),
            "--allow-host", "127.0.0.1", "--no-cluster"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 60
    while len([r for r in server.requests if r.path.startswith("/p")]) < 12 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    fetched_before = len([r for r in server.requests if r.path.startswith("/p")])
    assert fetched_before < 40, "the run finished before it could be killed"
    result = ingest(db_path, feeds, config)
    assert result.returncode == 0, result.stderr
    assert rows(
        db_path,
        "SELECT count(*), count(DISTINCT url), count(*) FILTER (page_state = 'extracted') FROM articles",
    ) == [(40, 40, 40)]
    # Pages extracted and committed before the kill were not fetched again.
    assert len([r for r in server.requests if r.path.startswith("/p")]) < 40 + fetched_before


def test_second_writer_exits_75(tmp_path: Path, db_path: Path, fast_config: Path) -> None:
    import fcntl

    feeds = opml(tmp_path / "feeds.opml", [("Outlet", "http://127.0.0.1:9/feed.xml")])
    with open(str(db_path) + ".lock", "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        started = time.monotonic()
        result = ingest(db_path, feeds, fast_config)
        waited = time.monotonic() - started
    assert result.returncode == 75
    assert "another scooptrace writer" in result.stderr
    assert waited >= 1.0  # it waited (lock_wait_seconds = 1 in the test config) before giving up


def test_reader_holding_database_during_ingest(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    many_articles(server, 3)
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    assert ingest(db_path, feeds, fast_config).returncode == 0
    reader = open_reader(db_path)  # like `scooptrace sql` left open for an hour, mid-result
    try:
        result_left_open = reader.execute("SELECT article_id FROM articles")
        assert result_left_open.fetchone() is not None  # a read transaction stays open on the catalog
        many_articles(server, 6)
        for _ in range(2):
            result = ingest(db_path, feeds, fast_config)
            assert result.returncode == 0, result.stderr  # the reader never makes the writer fail
    finally:
        reader.close()
    assert rows(db_path, "SELECT count(*) FROM articles") == [(6,)]  # a new reader sees the new data


def test_readers_in_a_loop_never_fail_during_ingest(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    many_articles(server, 20, slow=0.02)
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    assert ingest(db_path, feeds, fast_config, "--no-progress").returncode == 0
    many_articles(server, 30, slow=0.02)
    proc = subprocess.Popen(
        [SCOOPTRACE, "ingest", "--db", str(db_path), "--feeds", str(feeds), "--config", str(fast_config),
         "--allow-host", "127.0.0.1", "--no-cluster"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    reads = 0
    while proc.poll() is None:
        conn = open_reader(db_path)
        assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] >= 20
        conn.close()
        reads += 1
    assert proc.returncode == 0
    assert reads > 3


def test_invalid_feeds_file_exits_2_and_keeps_data(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    many_articles(server, 2)
    good = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    ingest(db_path, good, fast_config)
    bad = tmp_path / "bad.opml"
    bad.write_text(
        '<?xml version="1.0"?>\n<opml version="2.0"><body>\n<outline text="X" xmlUrl="not a url"/>\n</body></opml>\n'
    )
    result = ingest(db_path, bad, fast_config)
    assert result.returncode == 2
    assert f"{bad}:3: feed URL 'not a url' is not http(s)" in result.stderr
    missing = ingest(db_path, tmp_path / "nope.opml", fast_config)
    assert missing.returncode == 2 and "nope.opml: cannot read feeds file" in missing.stderr
    assert rows(db_path, "SELECT count(*) FROM articles") == [(2,)]


def test_unwritable_database_exits_1(tmp_path: Path, fast_config: Path) -> None:
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", "http://127.0.0.1:9/feed.xml")])
    result = ingest(tmp_path / "no-such-dir" / "x.duckdb", feeds, fast_config)
    assert result.returncode == 1
    assert "does not exist" in result.stderr


def test_import_csv_jsonl_parquet(tmp_path: Path, db_path: Path) -> None:
    csv_file = tmp_path / "coverage.csv"
    csv_file.write_text(
        "url,title,outlet,published_at,text,language\n"
        "https://www.geekwire.com/2025/amazon-outage/?utm_source=x,Amazon checkout down,GeekWire,"
        "2025-10-06T20:38:00Z,Shoppers could not check out.,en\n"
        "ftp://bad.example/x,Bad,Bad,2025-10-06T20:38:00Z,,\n"
        "https://a.example/2,,NoTitle,2025-10-06T20:38:00Z,,\n"
        "https://a.example/3,Later,A,not a date,,\n"
    )
    first = run_cli("import", "--db", str(db_path), "--no-cluster", str(csv_file))
    assert first.returncode == 0, first.stderr
    assert f"{csv_file}:3: url 'ftp://bad.example/x' is not http(s); row skipped" in first.stderr
    assert f"{csv_file}:4: empty title; row skipped" in first.stderr
    assert f"{csv_file}:5: published_at 'not a date' is not a date; row skipped" in first.stderr
    again = run_cli("import", "--db", str(db_path), "--no-cluster", "--json", str(csv_file))
    assert json.loads(again.stdout)["already_known"] == 1
    jsonl = tmp_path / "more.jsonl"
    jsonl.write_text(
        '{"url": "https://www.geekwire.com/2025/amazon-outage/", "title": "dup", "outlet": "GeekWire", "published_at": "2025-10-06T20:38:00Z"}\n'
        '{"url": "https://aitnews.com/x", "title": "عطل في أمازون", "outlet": "AIT", "published_at": "2025-10-07T01:00:00+03:00"}\n'
        "{broken\n"
    )
    result = run_cli("import", "--db", str(db_path), "--no-cluster", "--json", str(jsonl))
    summary = json.loads(result.stdout)
    assert (summary["added"], summary["already_known"], summary["skipped"]) == (1, 1, 1)
    parquet = tmp_path / "p.parquet"
    pq.write_table(pa.table({"url": ["https://x.example/p"], "title": ["P"], "outlet": ["X"],
                             "published_at": ["2025-10-05T10:00:00+00:00"]}), parquet)  # fmt: skip
    assert run_cli("import", "--db", str(db_path), "--no-cluster", str(parquet)).returncode == 0
    assert rows(db_path, "SELECT url, language, published_at_source FROM articles ORDER BY published_at") == [
        ("https://x.example/p", None, "feed"),
        ("https://www.geekwire.com/2025/amazon-outage/", "en", "feed"),
        ("https://aitnews.com/x", "ar", "feed"),
    ]
    header = tmp_path / "header.csv"
    header.write_text("link,headline\nhttps://x.example,X\n")
    bad = run_cli("import", "--db", str(db_path), str(header))
    assert bad.returncode == 2 and "missing column(s) url, title, outlet, published_at" in bad.stderr


def test_feeds_commands(tmp_path: Path, db_path: Path) -> None:
    assert run_cli("feeds", "add", "https://www.geekwire.com/feed/", "--outlet", "GeekWire", "--language", "en",
                   "--db", str(db_path)).returncode == 0  # fmt: skip
    imported = run_cli(
        "feeds",
        "import",
        "--db",
        str(db_path),
        str(Path(__file__).parent.parent.parent / "feeds" / "tech-news.opml"),
    )
    assert imported.returncode == 0 and "already known" in imported.stdout
    listed = json.loads(run_cli("feeds", "list", "--json", "--db", str(db_path)).stdout)
    assert len(listed) >= 30 and {"GeekWire", "The Verge"} <= {f["outlet"] for f in listed}
    exported = tmp_path / "out.opml"
    exported.write_text(run_cli("feeds", "export", "--db", str(db_path)).stdout)
    assert run_cli("feeds", "import", "--db", str(tmp_path / "copy.duckdb"), str(exported)).returncode == 0
    bad = run_cli("feeds", "add", "gopher://x", "--db", str(db_path))
    assert bad.returncode == 2 and "not http(s)" in bad.stderr


def test_every_command_has_help(db_path: Path) -> None:
    for command in (
        ["ingest"],
        ["import"],
        ["feeds"],
        ["feeds", "list"],
        ["feeds", "add"],
        ["feeds", "export"],
    ):
        result = run_cli(*command, "--help")
        assert result.returncode == 0 and "Usage:" in result.stdout, command
    missing = run_cli("feeds", "list", "--json", env={"SCOOPTRACE_DB": str(db_path)})
    assert missing.returncode == 1 and f"no database at {db_path}" in missing.stderr  # a typo is named
    assert (
        run_cli(
            "feeds", "add", "https://example.org/feed.xml", env={"SCOOPTRACE_DB": str(db_path)}
        ).returncode
        == 0
    )
    env_db = run_cli("feeds", "list", "--json", env={"SCOOPTRACE_DB": str(db_path)})
    assert env_db.returncode == 0 and [f["feed_url"] for f in json.loads(env_db.stdout)] == [
        "https://example.org/feed.xml"
    ]


def test_import_with_no_usable_row_exits_2(tmp_path: Path, db_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("url,title,outlet,published_at\nftp://x.example/1,T,O,2025-10-06T20:00:00Z\n")
    result = run_cli("import", "--db", str(db_path), str(bad))
    assert result.returncode == 2
    assert f"{bad}: no usable row (1 read): {bad}:2: url 'ftp://x.example/1' is not http(s)" in result.stderr


def test_ingest_without_feeds_says_how_to_add_some(db_path: Path) -> None:
    result = run_cli("ingest", "--db", str(db_path), "--no-cluster")
    assert result.returncode == 0
    assert (
        "no feeds to fetch: pass --feeds FILE, or add some with `scooptrace feeds add URL`" in result.stderr
    )


def test_progress_bar_replaces_page_lines(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    many_articles(server, 2)
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    plain = ingest(db_path, feeds, fast_config, "--no-progress")
    assert plain.stderr.count(" page=") == 2 and " feed=" in plain.stderr
    many_articles(server, 4)
    watched = ingest(db_path, feeds, fast_config, "--progress")
    assert watched.returncode == 0
    assert " page=" not in watched.stderr  # not even when stderr is not a terminal and the bar stays hidden
    assert json.loads(watched.stdout)["pages_fetched"] == 2
    assert rows(db_path, "SELECT count(*) FROM articles WHERE page_state = 'extracted'") == [(4,)]


def test_import_counts_a_url_repeated_in_one_file_once(tmp_path: Path, db_path: Path) -> None:
    twice = tmp_path / "twice.csv"
    twice.write_text(
        "url,title,outlet,published_at\n"
        "https://x.example/a?utm_source=1,A,X,2025-10-06T20:00:00Z\n"
        "https://x.example/a#top,A again,X,2025-10-06T20:05:00Z\n"
    )
    summary = json.loads(run_cli("import", "--db", str(db_path), "--no-cluster", "--json", str(twice)).stdout)
    assert (summary["added"], summary["already_known"]) == (1, 1)
    assert rows(db_path, "SELECT url, title FROM articles") == [("https://x.example/a", "A")]
