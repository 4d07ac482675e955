"""A running writer never makes the app show an error, and the app never blocks the writer: pages and the SQL
sandbox are read over and over while another process publishes new snapshots as fast as it can."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from scooptrace import queries, sql_sandbox
from tests.app_fixtures import AMAZON, build_story_db
from tests.test_app_pages import open_app

PUBLISHER = """
import sys, time
from pathlib import Path
from storage.connection import writer
db, seconds = Path(sys.argv[1]), float(sys.argv[2])
end, published = time.monotonic() + seconds, 0
while time.monotonic() < end:
    with writer(db, lock_wait_seconds=5) as w:
        w.conn.execute("UPDATE story SET headline = headline WHERE story_id = ?", [sys.argv[3]])
    published += 1
print(published)
"""


def test_reading_while_a_writer_publishes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = build_story_db(tmp_path / "s.duckdb")
    publisher = subprocess.Popen(
        [sys.executable, "-c", PUBLISHER, str(db), "6", AMAZON], stdout=subprocess.PIPE, text=True
    )
    reads = 0
    try:
        at = open_app(monkeypatch, db, "story", id=AMAZON)
        while publisher.poll() is None:
            for page in ("stories", "story", "outlets", "feeds"):
                at.switch_page(f"scooptrace/pages/{page}.py").run()
                assert not at.exception and not at.warning, [e.value for e in (*at.exception, *at.warning)]
            assert queries.story(db, AMAZON) is not None
            assert len(queries.story_timeline(db, AMAZON)) == 7
            assert sql_sandbox.run_query(db, "SELECT count(*) AS n FROM stories").frame["n"].item() == 3
            reads += 1
            time.sleep(0.01)
    finally:
        out, _ = publisher.communicate(timeout=60)
    assert publisher.returncode == 0
    assert int(out) >= 3 and reads >= 3, (out, reads)
