"""What a new user's first hour tripped over in the app, held by AppTest: the chart's time axis (title, zone,
range, date on the first tick), the marker labels' places, human column labels, blank empty cells, tables
sized to their rows, the SQL page's list of views, the evidence sentence in the reader's zone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from scooptrace import queries
from scooptrace.pages import _chart
from scooptrace.pages._text import times_in_zone
from tests.app_fixtures import AMAZON, build_feeds_db, build_story_db

APP = str(Path(__file__).resolve().parent.parent.parent / "app.py")


def open_page(
    monkeypatch: pytest.MonkeyPatch, db: Path, page: str, zone: str | None = None, **query: str
) -> AppTest:
    monkeypatch.setenv("SCOOPTRACE_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page(f"scooptrace/pages/{page}.py")
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    if zone is not None:
        at.sidebar.selectbox[0].set_value(zone).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def specs(at: AppTest) -> list[dict[str, Any]]:
    return [json.loads(e.proto.spec) for e in at.main if getattr(e, "type", "") == "vega_lite_chart"]


def layers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """Every leaf layer of a (nested) layered spec."""
    if "layer" not in spec:
        return [spec]
    return [leaf for layer in spec["layer"] for leaf in layers(layer)]


def column_config(at: AppTest, index: int = 0) -> dict[str, Any]:
    config: dict[str, Any] = json.loads(at.dataframe[index].proto.columns)
    return config


@pytest.fixture
def story_db(tmp_path: Path) -> Path:
    return build_story_db(tmp_path / "s.duckdb")


def test_time_axis_is_titled_with_the_readers_zone(monkeypatch: pytest.MonkeyPatch, story_db: Path) -> None:
    at = open_page(monkeypatch, story_db, "story", "America/New_York", id=AMAZON)
    timeline, spread = specs(at)
    drawn = timeline["layer"][0]["encoding"]["x"]  # the first layer's axis is the one Vega-Lite draws
    assert drawn["title"] == "Time (America/New_York)"
    assert spread["layer"][0]["encoding"]["x"]["title"] == "Time (America/New_York)"
    label = drawn["axis"]["labelExpr"]
    assert "datum.index == 0" in label and "%d %b %H:%M" in label  # the first tick carries the date


def test_time_axis_starts_shortly_before_the_onset_not_at_the_baseline(
    monkeypatch: pytest.MonkeyPatch, story_db: Path
) -> None:
    at = open_page(monkeypatch, story_db, "story", id=AMAZON)
    timeline, _ = specs(at)
    start, end = (pd.Timestamp(t) for t in timeline["layer"][0]["encoding"]["x"]["scale"]["domain"])
    onset = pd.Timestamp("2026-10-06 20:02")  # the complaints began rising here (UTC)
    assert onset - pd.Timedelta(minutes=30) <= start < onset
    assert end > pd.Timestamp("2026-10-06 22:50")  # the last article, 2 h 12 min after 20:38
    area = timeline["layer"][0]
    assert area["mark"]["type"] == "area" and area["mark"]["clip"] is True


def test_onset_label_sits_at_the_bottom_away_from_the_first_report(
    monkeypatch: pytest.MonkeyPatch, story_db: Path
) -> None:
    at = open_page(monkeypatch, story_db, "story", id=AMAZON)
    timeline, _ = specs(at)
    texts = [leaf for leaf in layers(timeline) if leaf.get("mark", {}).get("type") == "text"]
    assert len(texts) == 1
    onset = texts[0]
    assert onset["mark"]["baseline"] == "bottom" and onset["mark"]["align"] == "left"
    assert onset["encoding"]["y"]["value"] == "height"  # the plot's bottom edge
    assert "expr" in onset["mark"]["limit"]  # cut to fit the page's width, never past the edge


def test_statement_label_in_the_right_half_is_drawn_leftwards() -> None:
    timeline = pd.DataFrame(
        {
            "published_at": pd.to_datetime(["2026-10-06 20:00", "2026-10-06 22:00"], utc=True),
            "outlet": ["A", "B"],
            "title": ["a", "b"],
            "language": ["en", "en"],
            "syndicated_from_article_id": [None, None],
            "is_first_report": [True, False],
            "lag_seconds": [0, 7200],
        }
    )
    markers = [
        _chart.Marker(pd.Timestamp("2026-10-06 19:50", tz="UTC"), "complaints rise", "onset"),
        _chart.Marker(
            pd.Timestamp("2026-10-06 21:50", tz="UTC"), "We are investigating checkout", "statement"
        ),
    ]
    spec = _chart.timeline_chart(timeline, pd.DataFrame(), pd.DataFrame(), markers, "UTC").to_dict()
    texts = {
        leaf["data"]["values"][0]["label"]
        if "values" in leaf.get("data", {})
        else leaf["mark"]["baseline"]: leaf
        for leaf in layers(spec)
        if leaf.get("mark", {}).get("type") == "text"
    }
    marks = {leaf["mark"]["baseline"]: leaf["mark"] for leaf in texts.values()}
    assert marks["bottom"]["align"] == "left"  # the onset, early: to the right of its rule
    assert marks["top"]["align"] == "right" and marks["top"]["dx"] < 0  # the statement, late: to the left


def test_marker_label_is_cut_at_a_word() -> None:
    text = "Investigating: some customers may be unable to complete checkout on Amazon.com"
    assert _chart.short_label(text) == "Investigating: some customers may be unable to complete…"
    assert _chart.short_label("complaints rise") == "complaints rise"


def test_legend_and_outlet_names_follow_the_page_width(
    monkeypatch: pytest.MonkeyPatch, story_db: Path
) -> None:
    at = open_page(monkeypatch, story_db, "story", id=AMAZON)
    timeline, spread = specs(at)
    points = next(leaf for leaf in layers(timeline) if leaf.get("mark", {}).get("type") == "point")
    axis = points["encoding"]["y"]["axis"]
    assert "containerSize()" in axis["maxExtent"]["expr"] and "150" in axis["maxExtent"]["expr"]
    assert axis["maxExtent"] == spread["layer"][0]["encoding"]["y"]["axis"]["maxExtent"]  # axes line up
    assert "containerSize()" in points["encoding"]["stroke"]["legend"]["columns"]["expr"]


def test_evidence_sentence_in_the_readers_zone(monkeypatch: pytest.MonkeyPatch, story_db: Path) -> None:
    utc = open_page(monkeypatch, story_db, "story", id=AMAZON)
    assert utc.info[0].value.startswith(r"GeekWire at 20\:38 UTC")
    tokyo = open_page(monkeypatch, story_db, "story", "Asia/Tokyo", id=AMAZON)
    assert tokyo.info[0].value.startswith(r"GeekWire at 05\:38 JST")


def test_times_in_zone_reads_each_abbreviation() -> None:
    first = pd.Timestamp("2026-10-06 20:31", tz="UTC")
    text = "A at 13:31 PDT (page); B is earlier on paper at 13:05 PDT; first seen at 20:40 UTC; C 23:50 UTC+03:00"
    assert times_in_zone(text, first, "America/New_York") == (
        "A at 16:31 EDT (page); B is earlier on paper at 16:05 EDT; first seen at 16:40 EDT; C 16:50 EDT"
    )
    assert (
        times_in_zone("X at 23:59 PDT", pd.Timestamp("2026-10-07 06:59", tz="UTC"), "UTC") == "X at 06:59 UTC"
    )
    assert times_in_zone("no time here", first, "UTC") == "no time here"


def test_articles_and_citations_have_human_labels_and_fit(
    monkeypatch: pytest.MonkeyPatch, story_db: Path
) -> None:
    at = open_page(monkeypatch, story_db, "story", id=AMAZON)
    articles = column_config(at, 0)
    labels = {name: spec.get("label") for name, spec in articles.items()}
    assert labels["when"] == "Published" and labels["time_source"] == "Time from"
    widths = {name: spec["width"] for name, spec in articles.items() if name != "_index"}
    assert all(isinstance(width, int) for width in widths.values())
    assert sum(widths.values()) <= 930  # what a 1400 px window leaves beside the sidebar: no sideways scroll
    assert widths["title"] >= 300
    assert at.dataframe[0].proto.row_height > 64  # Streamlit wraps text only in rows taller than 4rem
    citations = {name: spec.get("label") for name, spec in column_config(at, 1).items()}
    assert citations["citing_outlet"] == "Citing outlet" and citations["cited_outlet"] == "Credits"


def test_tables_are_as_tall_as_their_rows() -> None:
    from scooptrace.pages._common import table_height

    assert table_height(12) == 35 * 13 + 3  # header and twelve rows, none cut in half (was a fixed 400 px)
    assert table_height(0) == table_height(1)
    assert table_height(500) == table_height(30)  # a long table scrolls inside 30 rows


def test_outlets_table_has_human_labels(monkeypatch: pytest.MonkeyPatch, story_db: Path) -> None:
    at = open_page(monkeypatch, story_db, "outlets")
    config = column_config(at)
    labels = {name: spec.get("label") for name, spec in config.items() if not spec.get("hidden")}
    assert "_" not in "".join(str(label) for label in labels.values())
    assert "median_lag_seconds_following" not in labels  # the minutes column says it
    if "median_lag_minutes_following" in labels:
        assert labels["median_lag_minutes_following"] == "Median lag following (min)"
    assert labels["outlet"] == "Outlet"


def test_feeds_table_blank_errors_and_plain_health(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    at = open_page(monkeypatch, build_feeds_db(tmp_path / "f.duckdb"), "feeds")
    frame = at.dataframe[0].value
    ok = frame.loc[frame["health"] == "OK"]
    assert ok["last_error"].tolist() == [""]
    assert at.dataframe[0].proto.placeholder == ""  # any other empty cell is blank too, not "None"
    assert all(text.isascii() for text in frame["health"])  # no emoji that needs an emoji font


def test_sql_page_lists_every_view_of_the_schema(monkeypatch: pytest.MonkeyPatch, story_db: Path) -> None:
    at = open_page(monkeypatch, story_db, "sql")
    caption = at.caption[0].value
    for view in queries.schema_views():
        assert f"`{view}`" in caption
    assert "`story_outages`" in caption and "`story_reports`" in caption


def test_schema_views_come_from_the_schema_text() -> None:
    views = queries.schema_views()
    assert {"articles", "stories", "story_timeline", "citations", "signals", "feed_status"} <= set(views)
    assert {"story_outages", "story_reports", "outlet_stats"} <= set(views)
    assert len(views) == len(set(views))
