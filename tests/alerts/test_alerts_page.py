"""The Alerts page under streamlit.testing.v1.AppTest, on a database built by the real import and alert run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from alerts.model import Watch
from alerts.run import run_alerts
from alerts.store import insert_watch
from common.settings import load_settings
from scooptrace.pipeline import import_file
from storage.connection import writer

APP = str(Path(__file__).resolve().parent.parent.parent / "app.py")
DATA = Path(__file__).parent.parent / "data"


def open_alerts(monkeypatch: pytest.MonkeyPatch, db: Path) -> AppTest:
    monkeypatch.setenv("SCOOPTRACE_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("scooptrace/pages/alerts.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.title, *at.info, *at.markdown, *at.caption, *at.subheader))


def test_page_lists_watches_alerts_and_the_replay(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = load_settings(db=str(tmp_path / "a.duckdb"), env={})
    import_file(settings, DATA / "cluster_outages.csv", fmt=None, cluster=True)
    with writer(settings.db_path) as w:
        insert_watch(w.conn, Watch("amazon", "Amazon outage", min_outlets=4), datetime.now(UTC))
        summary = run_alerts(w.conn, settings)
    assert summary.raised > 0
    at = open_alerts(monkeypatch, settings.db_path)
    assert "Alerts raised" in texts(at) and "Replay" in texts(at)
    watches, raised, replayed = (frame.value for frame in at.dataframe)
    assert list(watches["name"]) == ["amazon"] and list(watches["languages"]) == ["any"]
    assert len(raised) == summary.raised
    assert set(raised["delivered"]) == {"app and feed only"}
    assert any("new story" in t for t in raised["trigger"])
    assert "🆕 new story" in set(replayed["trigger"]) and "🌐 new language" in set(replayed["trigger"])
    # Replayed minutes are the articles' own times, not the time of the run.
    assert all(minute.startswith("2025-") for minute in replayed["minute"])
    assert at.get("download_button")


def test_page_without_watches_says_how_to_add_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    settings = load_settings(db=str(tmp_path / "b.duckdb"), env={})
    import_file(settings, DATA / "cluster_outages.csv", fmt=None, cluster=True)
    at = open_alerts(monkeypatch, settings.db_path)
    assert "No watches yet" in texts(at)
    assert any("scooptrace watch add" in c.value for c in at.code)
