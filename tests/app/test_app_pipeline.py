"""The app on a database built by the real pipeline: ``scooptrace import`` (stories, first reports,
citations) and ``scooptrace signals import`` (complaints linked to the story)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from scooptrace import queries
from scooptrace.pages import _chart
from tests.app.test_app_pages import chart_data, charts, marks, open_app, texts
from tests.app_fixtures import ARABIC_TITLE, HOSTILE_TITLE, STATEMENT, build_pipeline_db


@pytest.fixture(scope="module")
def pipeline_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_pipeline_db(tmp_path_factory.mktemp("pipeline"))


def amazon_id(db: Path) -> str:
    frame = queries.stories(db, queries.StoryFilter(text="checkout outage"))
    return str(frame["story_id"].iloc[0])


def test_stories_page(monkeypatch: pytest.MonkeyPatch, pipeline_db: Path) -> None:
    at = open_app(monkeypatch, pipeline_db)
    frame = at.dataframe[0].value
    assert set(frame["first_outlet"]) == {"GeekWire", "Evil Daily", "The Register"}
    assert "\u2068" + HOSTILE_TITLE + "\u2069" in frame["headline"].tolist()
    at.multiselect(key="stories_languages").set_value(["ar"]).run()
    assert at.dataframe[0].value["first_outlet"].tolist() == ["GeekWire"]


def test_story_page(monkeypatch: pytest.MonkeyPatch, pipeline_db: Path) -> None:
    story_id = amazon_id(pipeline_db)
    at = open_app(monkeypatch, pipeline_db, "story", id=story_id)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["First report"] == "GeekWire"
    assert "Amazon complaints started rising at 2026\\-10\\-06 20\\:02 UTC" in texts(at)
    assert "36 min after" in texts(at)
    assert (
        r"First official statement at 2026\-10\-06 22\:24 UTC\: Checkout errors\: we are investigating "
        r"\<b\>reports\<\/b\> of \$0 carts"
    ) in texts(at)
    table = at.dataframe[0].value
    assert table["outlet"].tolist()[0] == "GeekWire" and table["lag"].tolist()[0] == "first"
    assert "\u2068" + ARABIC_TITLE + "\u2069" in table["title"].tolist()
    assert marks(charts(at)[0])[0] == "area"
    markers = [f for f in chart_data(at) if "label" in f.columns]
    # the statement's label is cut at a word with an ellipsis; the tooltip and key figures hold it whole
    assert [m["label"].item() for m in markers] == ["complaints rise", _chart.short_label(STATEMENT)]
    assert markers[1]["label"].item().endswith("…") and STATEMENT.startswith(markers[1]["label"].item()[:-1])
    edges = next(f for f in chart_data(at) if "outlet2" in f.columns)
    assert edges[["outlet", "outlet2"]].values.tolist() == [["تك عربي", "GeekWire"]]


def test_outlets_page_uses_outlet_stats(monkeypatch: pytest.MonkeyPatch, pipeline_db: Path) -> None:
    at = open_app(monkeypatch, pipeline_db, "outlets")
    frame = at.dataframe[0].value
    assert "times_credited" in frame.columns
    assert frame.loc[frame["outlet"] == "GeekWire", "times_credited"].item() == 1
    assert "computed from story_timeline" not in texts(at).lower()


def test_feeds_page_without_feeds(monkeypatch: pytest.MonkeyPatch, pipeline_db: Path) -> None:
    at = open_app(monkeypatch, pipeline_db, "feeds")
    assert "No feeds yet" in texts(at)


def test_sql_page(monkeypatch: pytest.MonkeyPatch, pipeline_db: Path) -> None:
    at: AppTest = open_app(monkeypatch, pipeline_db, "sql")
    at.text_area[0].input("SELECT cited_outlet, citing_outlet FROM citations")
    next(b for b in at.button if "sql_form" in str(b.id)).click().run()
    assert at.dataframe[0].value.values.tolist() == [["GeekWire", "تك عربي"]]
