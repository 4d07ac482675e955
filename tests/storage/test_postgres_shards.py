"""Several ingest workers write one database: a DuckLake catalog in a real PostgreSQL (Debian's package, started
from a temp folder on a loopback port), four `scooptrace ingest --shard K/4` processes at once."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from storage.connection import open_reader
from tests.conftest import SCOOPTRACE, Item, opml, page, rss
from tests.localserver import LocalServer, Reply
from tests.postgres import PostgresServer, running_postgres

RSS = {"Content-Type": "application/rss+xml"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
N_FEEDS = 12
PER_FEED = 3


@pytest.fixture(scope="module")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> PostgresServer:
    base = tmp_path_factory.mktemp("postgres")
    with running_postgres(base) as server:
        yield server  # type: ignore[misc]


def world(server: LocalServer) -> list[tuple[str, str]]:
    feeds = []
    for f in range(N_FEEDS):
        items = []
        for i in range(PER_FEED):
            path = f"/o{f}/story-{i}"
            title = f"Outlet {f} reports event {i} at the harbour of town {f * 10 + i}"
            items.append(Item(title, server.url(path), "Mon, 06 Oct 2025 16:05:00 -0400"))
            server.route(path, Reply(200, page(title), HTML))
        server.route(f"/o{f}/feed.xml", Reply(200, rss(items), RSS))
        feeds.append((f"Outlet {f}", server.url(f"/o{f}/feed.xml")))
    return feeds


def test_four_shards_write_one_postgres_catalog(
    postgres: PostgresServer, server: LocalServer, tmp_path: Path
) -> None:
    url = postgres.create_database("shards")
    data = tmp_path / "lake-data"
    config = tmp_path / "settings.toml"
    config.write_text(f'data_path = "{data}"\nworkers = 1\nlock_wait_seconds = 5.0\n', encoding="utf-8")
    feeds = opml(tmp_path / "feeds.opml", world(server))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOOPTRACE_")}
    # The first run makes the catalog; then four workers start at the same moment.
    base = [SCOOPTRACE, "ingest", "--db", url, "--config", str(config), "--allow-host", "127.0.0.1"]
    procs = [
        subprocess.Popen([*base, "--feeds", str(feeds), "--shard", f"{k}/4"], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(1, 5)
    ]  # fmt: skip
    outputs = [proc.communicate(timeout=240) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    conn = open_reader(url)
    try:
        articles = conn.execute(
            "SELECT count(*), count(DISTINCT url), count(*) FILTER (page_state = 'extracted') FROM articles"
        ).fetchall()
        members = conn.execute("SELECT count(*), count(DISTINCT article_id) FROM story_timeline").fetchall()
        feeds_seen = conn.execute(
            "SELECT count(*), count(*) FILTER (last_status = 200) FROM feed_status"
        ).fetchall()
    finally:
        conn.close()
    total = N_FEEDS * PER_FEED
    assert articles == [(total, total, total)]  # every article stored once, every page extracted
    assert members == [(total, total)]  # and clustered once
    assert feeds_seen == [(N_FEEDS, N_FEEDS)]
    # Every page was fetched exactly once across the four workers.
    page_hits = [r for r in server.requests if "/story-" in r.path]
    assert len(page_hits) == total


def test_sql_reads_a_postgres_catalog(postgres: PostgresServer, tmp_path: Path) -> None:
    url = postgres.create_database("sqlread")
    config = tmp_path / "settings.toml"
    config.write_text(f'data_path = "{tmp_path / "d"}"\n', encoding="utf-8")
    made = subprocess.run([SCOOPTRACE, "feeds", "add", "https://example.org/feed.xml", "--db", url,
                           "--config", str(config)], capture_output=True, text=True)  # fmt: skip
    assert made.returncode == 0, made.stderr
    done = subprocess.run([SCOOPTRACE, "sql", "--db", url, "SELECT count(*) AS n FROM feed_status"],
                          capture_output=True, text=True)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "1" in done.stdout.split("│")[-2] if "│" in done.stdout else "1" in done.stdout
