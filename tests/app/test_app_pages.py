"""Every page of the app under streamlit.testing.v1.AppTest: contents, filters, deep link, empty databases,
Arabic titles, hostile titles."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest
from streamlit.testing.v1 import AppTest

from storage.connection import writer
from tests.app_fixtures import (
    AMAZON,
    ARABIC_TITLE,
    EVIL,
    HOSTILE_TITLE,
    T0,
    build_empty_db,
    build_feeds_db,
    build_story_db,
)

APP = str(Path(__file__).resolve().parent.parent.parent / "app.py")
PAGES = ("stories", "story", "outlets", "feeds", "sql")


def open_app(monkeypatch: pytest.MonkeyPatch, db: Path, page: str | None = None, **query: str) -> AppTest:
    monkeypatch.setenv("SCOOPTRACE_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60).run()
    if page is not None:
        at.switch_page(f"scooptrace/pages/{page}.py")
        for key, value in query.items():
            at.query_params[key] = value
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def charts(at: AppTest) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(e.proto.spec) for e in at.main if getattr(e, "type", "") == "vega_lite_chart"]


def texts(at: AppTest) -> str:
    parts = [e.value for e in (*at.title, *at.info, *at.markdown, *at.caption, *at.warning, *at.error)]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("page", PAGES)
def test_missing_database_explains_how_to_ingest(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, page: str
) -> None:
    at = open_app(monkeypatch, tmp_path / "nothing.duckdb", page)
    assert "No scooptrace database" in texts(at)
    assert any("scooptrace ingest" in c.value for c in at.code)


EMPTY_MESSAGES = {
    "stories": "The database has no articles yet. Run `scooptrace ingest` or `scooptrace import FILE`.",
    "story": "No stories yet: run `scooptrace ingest` or `scooptrace import FILE` first.",
    "outlets": "No outlet has covered a story yet.",
    "feeds": "No feeds yet. Add some with `scooptrace feeds import feeds.opml` or `scooptrace feeds add URL`.",
}


@pytest.mark.parametrize("page", PAGES)
def test_empty_database_explains(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, page: str) -> None:
    """A just-migrated database (every table and view, no rows): each page says what to run, never fails."""
    at = open_app(monkeypatch, build_empty_db(tmp_path / "empty.duckdb"), page)
    assert not at.error and not at.warning
    if page in EMPTY_MESSAGES:
        assert EMPTY_MESSAGES[page] in [i.value for i in at.info]
    else:
        assert at.text_area, "the SQL page offers its editor"


def test_feeds_page_failing_first_and_filters(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_feeds_db(tmp_path / "feeds.duckdb"), "feeds")
    frame = at.dataframe[0].value
    assert frame["outlet"].tolist()[0] == "Broken Times"
    assert set(frame["outlet"]) == {"Broken Times", "GeekWire", "Newcomer", "Sleepy Gazette"}
    assert frame.loc[frame["outlet"] == "Newcomer", "last_fetched_at"].item() == "never"
    assert frame["health"].tolist() == ["Failing (4 in a row)", "OK", "Never fetched", "Stale"]
    assert frame.loc[frame["outlet"] == "GeekWire", "next_due_at"].item() == (
        T0 + timedelta(hours=1)
    ).strftime("%Y-%m-%d %H:%M UTC")
    assert {m.label: m.value for m in at.metric}["Stale"] == "1"
    assert frame.loc[frame["outlet"] == "GeekWire", "articles_per_day"].item() == pytest.approx(2.0)
    assert {m.label: m.value for m in at.metric}["Failing"] == "1"
    at.toggle[0].set_value(True).run()
    assert at.dataframe[0].value["outlet"].tolist() == ["Broken Times"]
    at.toggle[0].set_value(False).run()
    at.text_input[0].input("geekwire").run()
    assert at.dataframe[0].value["outlet"].tolist() == ["GeekWire"]


def test_stories_page_lists_newest_first(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"))
    frame = at.dataframe[0].value
    assert frame["first_outlet"].tolist() == ["GeekWire", "The Register", "Evil Daily"]
    assert frame["headline"].tolist()[2] == "\u2068" + HOSTILE_TITLE + "\u2069"
    assert frame["open"].tolist()[0] == f"story?id={AMAZON}"
    assert frame["spread"].tolist()[0] == "2 h 12 min"
    assert sorted(frame["languages"].tolist()[0]) == ["ar", "en", "es"]


@pytest.mark.parametrize(
    ("widget", "value", "expected"),
    [
        ("language", ["ar"], ["GeekWire"]),
        ("outlet", ["heise online"], ["The Register"]),
        ("text", "Teams", ["The Register"]),
        ("text", "أمازون", ["GeekWire"]),
        ("text", "100%", []),
        ("min", 3, ["GeekWire"]),
        ("range", "Last 24 hours", []),
    ],
)
def test_stories_filters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, widget: str, value: Any, expected: list[str]
) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"))
    if widget == "language":
        at.multiselect(key="stories_languages").set_value(value).run()
    elif widget == "outlet":
        at.multiselect(key="stories_outlets").set_value(value).run()
    elif widget == "text":
        at.text_input(key="stories_text").input(value).run()
    elif widget == "min":
        at.number_input(key="stories_min_outlets").set_value(value).run()
    else:
        at.selectbox(key="stories_range").set_value(value).run()
    assert not at.exception
    if expected:
        assert at.dataframe[0].value["first_outlet"].tolist() == expected
    else:
        assert not at.dataframe
        assert "No story matches" in texts(at)


def test_story_deep_link(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "story", id=AMAZON)
    assert "checkout outage" in at.title[0].value
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["First report"] == "GeekWire"
    assert metrics["At (2026-10-06)"] == r"20\:38 UTC"
    assert metrics["To 5 outlets"] == "57 min"
    assert "credited as first by The Verge" in at.info[0].value
    assert "Amazon complaints started rising at 2026\\-10\\-06 20\\:02 UTC" in texts(at)
    assert "No official statement yet" in texts(at)
    assert r"Reached en at 20\:38 UTC\, es \+57 min\, ar \+1 h 52 min\; 10 outlets\: not yet\." in texts(at)
    assert len(at.get("download_button")) == 3


def test_story_figures_are_the_stored_ones(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Spread and outage figures are the ones the stages stored (one writer per fact): change them in the
    database and the page follows, though the articles are unchanged."""
    db = build_story_db(tmp_path / "s.duckdb")
    reached = "[{'language': 'en', 'first_at': TIMESTAMPTZ '2026-10-06 20:38:00+00', 'lag_seconds': 0}, " + (
        "{'language': 'ar', 'first_at': TIMESTAMPTZ '2026-10-06 21:00:00+00', 'lag_seconds': 1320}]"
    )
    with writer(db) as w:
        w.conn.execute(
            "UPDATE story_report SET seconds_to_5_outlets = 3960, seconds_to_10_outlets = 7500, "
            f"languages_reached = {reached} WHERE story_id = ?",
            [AMAZON],
        )
        w.conn.execute("UPDATE story_signal SET lag_seconds = 2400 WHERE story_id = ?", [AMAZON])
    at = open_app(monkeypatch, db, "story", id=AMAZON)
    assert {m.label: m.value for m in at.metric}["To 5 outlets"] == "1 h 06 min"
    assert r"Reached en at 20\:38 UTC\, ar \+22 min\; 10 outlets\: after 2 h 05 min\." in texts(at)
    assert "the first headline came 40 min after" in texts(at)


def test_story_articles_table(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "story", id=AMAZON)
    table = at.dataframe[0].value
    assert table["outlet"].tolist()[:3] == ["GeekWire", "The Verge", "AP"]
    assert table["lag"].tolist()[:3] == ["first", "+14 min", "+23 min"]
    assert table.loc[table["outlet"] == "Yahoo News", "kind"].item() == "copy of AP"
    arabic = table.loc[table["language"] == "ar", "title"].item()
    assert arabic == "\u2068" + ARABIC_TITLE + "\u2069"  # exact text, isolated for right-to-left display
    evil = table.loc[table["outlet"] == "Evil Daily"]
    assert evil["title"].item().strip("\u2068\u2069") == HOSTILE_TITLE  # shown as text, not HTML
    assert evil["link"].isna().item()  # javascript: never becomes a link
    assert table.loc[table["outlet"] == "GeekWire", "link"].item().startswith("https://www.geekwire.com/")


def chart_data(at: AppTest, index: int = 0) -> list[pd.DataFrame]:
    element = [e for e in at.main if getattr(e, "type", "") == "vega_lite_chart"][index]
    return [pa.ipc.open_stream(d.data.data).read_all().to_pandas() for d in element.proto.datasets]


def marks(spec: dict) -> list[str]:  # type: ignore[type-arg]
    own = [spec["mark"]["type"]] if "mark" in spec else []
    return own + [m for layer in spec.get("layer", []) for m in marks(layer)]


def test_story_chart_layers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "story", id=AMAZON)
    timeline, spread = charts(at)
    assert marks(timeline) == [
        "area",
        "rule",
        "point",
        "rule",
        "text",
    ]  # complaints, citations, articles, markers
    assert marks(spread) == ["line", "circle"]
    assert spread["layer"][0]["mark"]["interpolate"] == "step-after"
    points = timeline["layer"][1]["layer"][1]["encoding"]
    assert points["y"]["sort"][:2] == ["GeekWire", "The Verge"] and points["y"]["sort"][-1] == "Evil Daily"
    frames = chart_data(at)
    articles = next(f for f in frames if "kind" in f.columns and "title" in f.columns)
    assert articles.loc[articles["outlet"] == "GeekWire", "kind"].item() == "first report"
    assert articles.loc[articles["outlet"] == "Yahoo News", "kind"].item() == "syndicated copy"
    edges = next(f for f in frames if "outlet2" in f.columns)
    assert set(edges["outlet"]) == {"The Verge", "Xataka", "تك عربي", "Yahoo News"}
    markers = next(f for f in frames if "label" in f.columns)
    assert markers["label"].tolist() == ["complaints rise"]
    assert markers["when"].item() == "2026-10-06 20:02 UTC"


def test_story_time_zone_choice(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "story", id=AMAZON)
    at.sidebar.selectbox[0].set_value("America/New_York").run()
    assert {m.label: m.value for m in at.metric}["At (2026-10-06)"] == r"16\:38 EDT"
    assert at.dataframe[0].value["when"].tolist()[0] == "2026-10-06 16:38 EDT"


def test_story_viewer_zone_offered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SCOOPTRACE_DB", str(build_story_db(tmp_path / "s.duckdb")))
    at = AppTest.from_file(APP, default_timeout=60)
    at.context["timezone"] = "Pacific/Auckland"
    at.run()
    assert "Pacific/Auckland" in at.sidebar.selectbox[0].options[1]


def test_story_unknown_id_and_picker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = build_story_db(tmp_path / "s.duckdb")
    at = open_app(monkeypatch, db, "story", id="nope'; DROP TABLE stories; --")
    assert "Story not found" in texts(at)
    at = open_app(monkeypatch, db, "story")
    picker = at.selectbox[0]
    assert len(picker.options) == 4 and "Amazon.com checkout outage leaves shoppers stuck" in picker.options
    picker.set_value(AMAZON).run()
    assert at.query_params["id"] == AMAZON
    assert {m.label: m.value for m in at.metric}["First report"] == "GeekWire"


def test_outlets_page(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "outlets")
    frame = at.dataframe[0].value
    assert frame["outlet"].tolist()[:3] == ["Evil Daily", "GeekWire", "The Register"]  # 1 first each, by name
    assert frame.loc[frame["outlet"] == "GeekWire", "stories_first"].item() == 1
    assert charts(at), "leaderboard chart"
    at.text_input[0].input("tech").run()
    assert at.dataframe[0].value["outlet"].tolist() == []


def run_sql(at: AppTest, sql: str) -> AppTest:
    at.text_area[0].input(sql)
    next(b for b in at.button if "sql_form" in str(b.id)).click().run()
    assert not at.exception
    return at


def test_sql_page_runs_select(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "sql")
    run_sql(at, "SELECT outlet, title FROM story_timeline WHERE language = 'ar'")
    assert at.dataframe[0].value["title"].tolist() == [ARABIC_TITLE]
    assert len(at.get("download_button")) == 1


@pytest.mark.parametrize(
    "sql",
    [
        "ATTACH '/tmp/x.duckdb' AS x",
        "COPY stories TO '/tmp/stolen.csv'",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SET enable_external_access = true",
        "INSTALL httpfs",
    ],
)
def test_sql_page_refuses_escapes(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sql: str) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "sql")
    run_sql(at, sql)
    assert at.error and not at.dataframe


def test_hostile_headline_is_text(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "story", id=EVIL)
    title = at.title[0].value
    assert "\\<script\\>" in title and "\\$5bn" in title and "\\[click\\]\\(javascript\\:" in title
    # The stored evidence names the other outlet, whose name is hostile too: shown escaped (no HTML, no LaTeX).
    assert r"not certain\: Evil \<b\>Weekly\<\/b\> \$2 \*\*bold\*\* at" in at.info[0].value
    table = at.dataframe[0].value
    assert table["link"].tolist()[0] == "https://evil.example/first" and pd.isna(table["link"].tolist()[1])


def test_follow_new_data(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = build_story_db(tmp_path / "s.duckdb")
    at = open_app(monkeypatch, db, "story", id=AMAZON)
    at.sidebar.toggle(key="scooptrace_follow").set_value(True).run()
    assert not at.exception
    with writer(db) as w:  # a new snapshot: the next run shows it
        w.conn.execute("UPDATE story SET headline = 'Amazon checkout restored' WHERE story_id = ?", [AMAZON])
    at.run()
    assert "Amazon checkout restored" in at.title[0].value


def test_time_zone_is_kept_across_pages(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "feeds")
    at.sidebar.selectbox[0].set_value("Asia/Riyadh").run()
    at.switch_page("scooptrace/pages/story.py")
    at.query_params["id"] = AMAZON
    at.run()
    assert at.sidebar.selectbox[0].value == "Asia/Riyadh"
    assert at.dataframe[0].value["when"].tolist()[0] == "2026-10-06 23:38 +03"


def test_sql_result_survives_a_rerun(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_app(monkeypatch, build_story_db(tmp_path / "s.duckdb"), "sql")
    run_sql(at, "SELECT count(*) AS n FROM stories")
    at.sidebar.selectbox[0].set_value("Asia/Tokyo").run()
    assert at.dataframe[0].value["n"].tolist() == [3]


def test_old_single_file_database_says_how_to_move_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    db = tmp_path / "old.duckdb"
    duckdb.connect(str(db)).close()  # a database of the format before DuckLake
    for page in PAGES:
        at = open_app(monkeypatch, db, page)
        assert "could not be read" in texts(at) and "scooptrace migrate" in texts(at)


def test_unreadable_file_is_a_message(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = tmp_path / "broken.duckdb"
    db.write_bytes(b"this is not a DuckDB file" * 100)
    for page in PAGES:
        at = open_app(monkeypatch, db, page)
        assert "could not be read" in texts(at)


def test_time_zone_in_the_link(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    db = build_story_db(tmp_path / "s.duckdb")
    monkeypatch.setenv("SCOOPTRACE_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["tz"] = "Asia/Riyadh"  # the first run of a session opened from a link
    at.run()
    assert at.dataframe[0].value["first_time"].tolist()[0] == "2026-10-06 23:38 +03"
    at.switch_page("scooptrace/pages/story.py")
    at.query_params["id"] = AMAZON
    at.run()
    assert at.dataframe[0].value["when"].tolist()[0] == "2026-10-06 23:38 +03"
    at.sidebar.selectbox[0].set_value("America/New_York").run()
    assert at.query_params["tz"] == "America/New_York" and at.query_params["id"] == AMAZON
    bogus = open_app(monkeypatch, db, "story", id=AMAZON, tz="../../etc/passwd")
    assert bogus.sidebar.selectbox[0].value == "UTC"
