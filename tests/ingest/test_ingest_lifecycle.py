"""A killed ingest leaves nothing behind: its workers die with it and the next run takes over the lock."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import SCOOPTRACE, Item, ingest, opml, page, rss
from tests.localserver import LocalServer, Reply, Request

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def proc_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process now."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def descendants(root: int) -> set[int]:
    table = proc_table()
    found: set[int] = set()
    frontier = [root]
    while frontier:
        parent = frontier.pop()
        for pid, (ppid, _state) in table.items():
            if ppid == parent and pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def living(pids: set[int]) -> set[int]:
    table = proc_table()
    return {pid for pid in pids if pid in table and table[pid][1] != "Z"}


@pytest.fixture
def slow_world(server: LocalServer) -> Iterator[LocalServer]:
    def slow_page(request: Request) -> Reply:
        time.sleep(0.3)
        return Reply(200, page(f"Story {request.path}", paragraphs=40), HTML)

    items = [Item(f"Story number {i}", server.url(f"/a{i}")) for i in range(40)]
    server.route("/feed.xml", Reply(200, rss(items), RSS))
    for i in range(40):
        server.route(f"/a{i}", slow_page)
    yield server


def test_killing_the_main_process_alone_leaves_nothing_and_next_run_proceeds(
    slow_world: LocalServer, tmp_path: Path, db_path: Path
) -> None:
    config = tmp_path / "settings.toml"
    config.write_text(
        "lock_wait_seconds = 1.0\nworkers = 2\n[fetch]\ndeadline_seconds = 5.0\npoll_min_seconds = 0.0\npoll_max_seconds = 0.0\n"
    )
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", slow_world.url("/feed.xml"))])
    args = ["ingest", "--db", str(db_path), "--feeds", str(feeds), "--config", str(config),
            "--allow-host", "127.0.0.1", "--no-cluster"]  # fmt: skip
    proc = subprocess.Popen(
        [SCOOPTRACE, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        family: set[int] = set()
        # In the middle of page work: pages being fetched and extraction workers running.
        while time.monotonic() < deadline:
            family = descendants(proc.pid)
            if len(slow_world.hits("/a5")) and len(family) >= 2:
                break
            time.sleep(0.1)
        assert len(family) >= 2, f"no extraction workers appeared: {family}"
        assert proc.poll() is None, "ingest finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        gone_by = time.monotonic() + 10
        while living(family) and time.monotonic() < gone_by:
            time.sleep(0.1)
        assert living(family) == set(), f"processes outlived the killed ingest: {living(family)}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert db_path.with_name(db_path.name + ".lock").read_text().strip() == str(proc.pid)
    second = ingest(db_path, feeds, config)
    assert second.returncode == 0, second.stderr
    assert f"previous writer (process {proc.pid}, gone) died without letting go" in second.stderr
    assert db_path.with_name(db_path.name + ".lock").read_text() == ""  # released cleanly this time
