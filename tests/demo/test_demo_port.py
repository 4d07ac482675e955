"""`make demo` / `scooptrace demo` on a busy port: an error with the way out, before anything is built.
And a stopped ingest says one line, never a traceback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from scooptrace.cli import cli, register_commands
from tests.conftest import SCOOPTRACE, Item, opml, page, rss
from tests.localserver import LocalServer, Reply

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port something listens on, as a forgotten demo would."""
    with socket.socket() as listener:
        listener.bind(("", 0))
        listener.listen()
        yield listener.getsockname()[1]


def test_demo_on_a_busy_port_fails_before_building(
    busy_port: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register_commands()
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "demo.duckdb"
    result = CliRunner().invoke(cli, ["demo", "--db", str(db), "--port", str(busy_port)])
    assert result.exit_code == 2
    assert f"port {busy_port} is already in use" in result.stderr
    assert "make demo PORT=8600" in result.stderr and "nothing was built" in result.stderr
    assert not db.exists() and not (tmp_path / "build").exists()
    assert "deep link" not in result.output


def test_app_on_a_busy_port_is_an_error(busy_port: int, tmp_path: Path) -> None:
    register_commands()
    result = CliRunner().invoke(cli, ["app", "--db", str(tmp_path / "x.duckdb"), "--port", str(busy_port)])
    assert result.exit_code == 2
    assert f"port {busy_port} is already in use" in result.stderr


def test_make_demo_checks_the_port_it_is_given(busy_port: int) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "demo", f"PORT={busy_port}", f"PYTHON={sys.executable}"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode != 0
    assert f"port {busy_port} is already in use" in result.stderr
    assert "make demo PORT=8600" in result.stderr


def test_makefile_passes_port_to_the_demo() -> None:
    dry = subprocess.run(
        ["make", "-n", "--no-print-directory", "-C", str(ROOT), "demo", "PORT=8600"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "scooptrace/demo/portcheck.py 8600" in dry.stdout
    assert "scooptrace demo --port 8600" in dry.stdout


def test_stopped_ingest_prints_one_line(server: LocalServer, tmp_path: Path, fast_config: Path) -> None:
    items = [Item(f"Story {i}", server.url(f"/p{i}"), "Mon, 06 Oct 2025 16:05:00 -0400") for i in range(30)]
    server.route("/feed.xml", Reply(200, rss(items), {"Content-Type": "application/rss+xml"}))
    for i in range(30):
        body = page(f"Story {i}")
        server.route(f"/p{i}", lambda _r, b=body: (time.sleep(0.3), Reply(200, b, {}))[1])
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    args = [SCOOPTRACE, "ingest", "--db", str(tmp_path / "n.duckdb"), "--feeds", str(feeds), "--config",
            str(fast_config), "--allow-host", "127.0.0.1", "--no-cluster"]  # fmt: skip
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not any(r.path.startswith("/p") for r in server.requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143, stderr
    assert "scooptrace: stopped (SIGTERM)" in stderr
    assert "Traceback" not in stderr and "never awaited" not in stderr


def test_world_server_is_quiet_when_a_client_goes_away(capfd: pytest.CaptureFixture[str]) -> None:
    import struct

    from scooptrace.demo.model import load_world
    from scooptrace.demo.server import DemoClock, serve_world

    world = load_world()
    with serve_world(world, DemoClock(world.rounds[0])) as server:
        client = socket.create_connection(("127.0.0.1", server.server_address[1]))
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # half a request, then a reset (an ingest killed)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        time.sleep(0.5)
    assert "Traceback" not in capfd.readouterr().err
