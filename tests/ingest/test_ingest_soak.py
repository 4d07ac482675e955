"""Soak: 40 feeds with injected faults, kills of the whole process group and of the main process alone, a
reader querying throughout; then clean runs leave every entry stored once and every available page with text."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from storage import connection as db
from tests.conftest import SCOOPTRACE, Item, ingest, opml, page, rows, rss
from tests.ingest.test_ingest_lifecycle import descendants, living
from tests.localserver import LocalServer, Reply, Request

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}
FEEDS = 40
ENTRIES = 5
MISSING = {(3, 4), (17, 2)}  # (feed, entry) pages that are really gone: 404 for ever


class FaultyWorld:
    """Feeds and pages whose faults heal after their first few requests (counted per path)."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.counts: Counter[str] = Counter()
        self.lock = threading.Lock()

    def nth(self, path: str) -> int:
        with self.lock:
            self.counts[path] += 1
            return self.counts[path]

    def feed(self, number: int) -> Callable[[Request], Reply]:
        items = [
            Item(f"Feed {number} story {i}", self.server.url(f"/f{number}/s{i}")) for i in range(ENTRIES)
        ]
        body = rss(items, title=f"Feed {number}")
        etag = f'"feed-{number}"'

        def handler(request: Request) -> Reply:
            n = self.nth(request.path)
            if number % 8 == 0 and n <= 2:
                return Reply(500, b"feed server error")
            if number % 8 == 1 and n == 1:  # cut off mid-XML, with validators
                return Reply(200, body[: body.index(b"story 2")], {**RSS, "ETag": etag})
            if request.headers.get("if-none-match") == etag:
                return Reply(304, b"", {"ETag": etag})
            return Reply(200, body, {**RSS, "ETag": etag})

        return handler

    def page(self, number: int, entry: int) -> Callable[[Request], Reply]:
        html = page(f"Feed {number} story {entry}", paragraphs=8)

        def handler(request: Request) -> Reply:
            n = self.nth(request.path)
            if (number, entry) in MISSING:
                return Reply(404, b"gone")
            kind = (number + entry) % 6
            if kind == 0 and n == 1:
                return Reply(500, b"page server error")
            if kind == 1 and n == 1:
                return Reply(reset=True)
            if kind == 2:
                time.sleep(0.15)  # slow, but within the deadline
            return Reply(200, html, HTML)

        return handler

    def install(self) -> list[tuple[str, str]]:
        for number in range(FEEDS):
            self.server.route(f"/f{number}/feed.xml", self.feed(number))
            for entry in range(ENTRIES):
                self.server.route(f"/f{number}/s{entry}", self.page(number, entry))
        return [(f"Outlet {n}", self.server.url(f"/f{n}/feed.xml")) for n in range(FEEDS)]

    def page_hits(self) -> int:
        return sum(1 for r in self.server.requests if "/s" in r.path)


class Reader(threading.Thread):
    """Queries the published database in a loop, as the app would, and keeps every error."""

    def __init__(self, db_path: Path) -> None:
        super().__init__(daemon=True)
        self.db_path = db_path
        self.errors: list[str] = []
        self.queries = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            if self.db_path.exists():
                try:
                    db.query(self.db_path, "SELECT count(*), count(text) FROM articles")
                    db.query(self.db_path, "SELECT feed_url, next_due_at, stale FROM feed_status")
                    self.queries += 1
                except Exception as exc:  # every failure is a finding
                    if not self.queries and "no database at" in str(exc):
                        time.sleep(0.05)
                        continue  # the first run is still making the catalog: nothing to read yet
                    self.errors.append(f"{type(exc).__name__}: {exc}")
            time.sleep(0.05)


def start_ingest(db_path: Path, feeds: Path, config: Path) -> subprocess.Popen[bytes]:
    args = ["ingest", "--db", str(db_path), "--feeds", str(feeds), "--config", str(config),
            "--allow-host", "127.0.0.1", "--no-cluster"]  # fmt: skip
    return subprocess.Popen(
        [SCOOPTRACE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )


def kill_mid_pages(proc: subprocess.Popen[bytes], world: FaultyWorld, whole_group: bool) -> set[int]:
    """Wait until pages are being fetched, then SIGKILL the group or the main process alone."""
    start = world.page_hits()
    deadline = time.monotonic() + 30
    while world.page_hits() < start + 15 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    family = descendants(proc.pid)
    if whole_group:
        os.killpg(proc.pid, signal.SIGKILL)
    else:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    return family


def test_soak_faults_kills_and_a_reader_then_clean_runs(
    server: LocalServer, tmp_path: Path, db_path: Path
) -> None:
    config = tmp_path / "soak.toml"
    config.write_text(
        "lock_wait_seconds = 2.0\nworkers = 2\nbatch_size = 20\n[fetch]\n"
        "deadline_seconds = 3.0\nconnect_timeout_seconds = 1.0\nbackoff_base_seconds = 0.0\n"
        "poll_min_seconds = 0.0\npoll_max_seconds = 0.0\npage_retry_base_seconds = 0.0\n"
        "robots_retry_seconds = 0.0\nper_host_concurrency = 8\n"
    )
    world = FaultyWorld(server)
    feeds = opml(tmp_path / "feeds.opml", world.install())
    reader = Reader(db_path)
    reader.start()
    try:
        for whole_group in (True, False):
            proc = start_ingest(db_path, feeds, config)
            try:
                family = kill_mid_pages(proc, world, whole_group)
                gone_by = time.monotonic() + 10
                while living(family) and time.monotonic() < gone_by:
                    time.sleep(0.1)
                assert living(family) == set(), f"outlived the kill (group={whole_group}): {living(family)}"
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        for _ in range(4):  # clean runs: retries are due at once in this config
            result = ingest(db_path, feeds, config)
            assert result.returncode == 0, result.stderr[-2000:]
            if '"pages_failed": 0' in result.stdout and '"feeds_failed": 0' in result.stdout:
                break
    finally:
        reader.stop.set()
        reader.join()
    assert reader.errors == [] and reader.queries > 0
    urls = [url for (url,) in rows(db_path, "SELECT url FROM article_url")]
    assert len(urls) == FEEDS * ENTRIES == len(set(urls))
    stored = rows(db_path, "SELECT count(*), count(DISTINCT url) FROM articles")[0]
    assert stored == (FEEDS * ENTRIES, FEEDS * ENTRIES)  # every entry once, the cut feeds' too
    missing = {server.url(f"/f{n}/s{e}") for n, e in MISSING}
    without_text = {url for (url,) in rows(db_path, "SELECT url FROM articles WHERE text IS NULL")}
    assert without_text == missing  # every available page has its text
    gone = rows(db_path, "SELECT DISTINCT page_state, page_next_attempt_at FROM article WHERE text IS NULL")
    assert gone == [("failed", None)]  # the really missing ones are given up, not retried for ever
