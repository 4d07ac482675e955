"""A running writer never makes the app show an error, and the app never blocks the writer: pages and the SQL
sandbox are read over and over while another process publishes new snapshots as fast as it can."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from scooptrace import queries, sql_sandbox
from tests.app.test_app_pages import open_app
from tests.app_fixtures import AMAZON, build_story_db

PUBLISHER = """
import sys, time
from pathlib import Path
from storage.connection import writer
db, stop, progress = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
end, published = time.monotonic() + 300, 0  # until the reader has seen enough (a bound for a lost reader)
while not stop.exists() and time.monotonic() < end:
    with writer(db, lock_wait_seconds=5) as w:
        w.conn.execute("UPDATE story SET headline = headline WHERE story_id = ?", [sys.argv[4]])
    published += 1
    progress.write_text(str(published))
"""


def test_reading_while_a_writer_publishes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = build_story_db(tmp_path / "s.duckdb")
    stop, progress = tmp_path / "stop", tmp_path / "published"
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(db), str(stop), str(progress), AMAZON],
        stdout=subprocess.DEVNULL,  # DuckDB may draw a progress bar there on a slow machine
    )
    reads = 0
    try:
        at = open_app(monkeypatch, db, "story", id=AMAZON)
        # Read over and over until the writer has published at least 3 snapshots while we read (the machine
        # may be slow: the test counts snapshots, not seconds).
        while publisher.poll() is None and (reads < 3 or published(progress) < 3):
            for page in ("stories", "story", "outlets", "feeds"):
                at.switch_page(f"scooptrace/pages/{page}.py").run()
                assert not at.exception and not at.warning, [e.value for e in (*at.exception, *at.warning)]
            assert queries.story(db, AMAZON) is not None
            assert len(queries.story_timeline(db, AMAZON)) == 7
            assert sql_sandbox.run_query(db, "SELECT count(*) AS n FROM stories").frame["n"].item() == 3
            reads += 1
            time.sleep(0.01)
    finally:
        stop.touch()
        publisher.wait(timeout=120)
    assert publisher.returncode == 0
    assert published(progress) >= 3 and reads >= 3, (published(progress), reads)


def published(progress: Path) -> int:
    try:
        return int(progress.read_text() or 0)
    except (FileNotFoundError, ValueError):
        return 0
