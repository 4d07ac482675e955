"""The app's pure helpers: escaping untrusted text, links, lags, zones, spike onset, exports, queries."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from scooptrace import queries
from scooptrace.pages import _export
from scooptrace.pages._signals import markers_for
from scooptrace.pages._text import bidi_isolate, escape_markdown, format_lag, format_time, safe_url, zone
from tests.app_fixtures import AMAZON, ARABIC_TITLE, T0, TEAMS, build_empty_db, build_story_db


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("Costs of $5bn and $3bn", r"Costs of \$5bn and \$3bn"),
        ("<script>alert(1)</script>", r"\<script\>alert\(1\)\<\/script\>"),
        ("[x](javascript:alert(1))", r"\[x\]\(javascript\:alert\(1\)\)"),
        ("# not a heading\n\n* not a list", r"\# not a heading \* not a list"),
        (":red[colour] :material/home:", r"\:red\[colour\] \:material\/home\:"),
        (ARABIC_TITLE, ARABIC_TITLE.replace("،", "،")),
        (None, ""),
    ],
)
def test_escape_markdown(raw: str | None, escaped: str) -> None:
    assert escape_markdown(raw) == escaped


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://www.geekwire.com/a", True),
        ("http://example.org/x?y=1", True),
        ("HTTPS://EXAMPLE.ORG/", True),
        ("javascript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//evil.example/x", False),
        ("/relative", False),
        ("https://", False),
        ("https://a.example/x\njavascript:1", False),
        (None, False),
    ],
)
def test_safe_url(url: str | None, ok: bool) -> None:
    assert (safe_url(url) is not None) == ok


@pytest.mark.parametrize(
    ("seconds", "first", "text"),
    [(0, True, "first"), (45, False, "+45 s"), (24 * 60, False, "+24 min"), (2 * 3600 + 300, False, "+2 h 05 min"),
     (3 * 86400 + 4 * 3600, False, "+3 d 4 h"), (None, False, "")],
)  # fmt: skip
def test_format_lag(seconds: float | None, first: bool, text: str) -> None:
    assert format_lag(seconds, first) == text


def test_format_time_and_zones() -> None:
    moment = datetime(2026, 10, 6, 20, 38, tzinfo=UTC)
    assert format_time(moment, "America/New_York") == "2026-10-06 16:38 EDT"
    assert format_time(moment, "Asia/Riyadh") == "2026-10-06 23:38 +03"
    assert format_time(moment, "Not/AZone") == "2026-10-06 20:38 UTC"
    assert str(zone(None)) == "UTC"


def test_bidi_isolate() -> None:
    assert bidi_isolate(ARABIC_TITLE) == "\u2068" + ARABIC_TITLE + "\u2069"
    assert bidi_isolate("") == "" and bidi_isolate(None) == ""


def series(values: Sequence[float]) -> pd.DataFrame:
    return pd.DataFrame({"ts": [T0 + timedelta(minutes=i) for i in range(len(values))], "value": values})


def test_no_stored_onset_no_onset_marker() -> None:
    """The spike onset is the signals stage's: a complaint series without a stored onset gets no rule."""
    values = [10, 12, 9, 11, 13, 10, 8, 12, 11, 10, 16, 40, 90, 200, 400, 800, 700, 300]
    signals = series(values).assign(source="dd", service="Amazon", kind="complaints", text=None)
    assert markers_for({"spike_onset_at": None}, signals) == []


def test_markers_prefer_the_stage_columns() -> None:
    statuses = pd.DataFrame(
        {"source": ["status"], "service": ["Amazon"], "ts": [T0 + timedelta(hours=3)], "value": [None],
         "kind": ["status"], "text": ["We are investigating checkout errors"]}
    )  # fmt: skip
    markers = markers_for({"spike_onset_at": T0}, statuses)
    assert [(m.kind, m.label) for m in markers] == [
        ("onset", "complaints rise"),
        ("statement", "We are investigating checkout errors"),
    ]
    assert markers[0].at == pd.Timestamp(T0)


def test_queries_on_story_db(tmp_path: Path) -> None:
    db = build_story_db(tmp_path / "s.duckdb")
    state = queries.db_status(db)
    assert state.has("stories", "story_timeline", "citations", "signals", "articles", "feed_status")
    assert state.n_articles == 11
    flt = queries.StoryFilter(languages=("de",))
    assert queries.stories(db, flt)["story_id"].tolist() == [TEAMS]
    timeline = queries.story_timeline(db, AMAZON)
    assert timeline.loc[timeline["outlet"] == "Yahoo News", "syndicated_from_outlet"].item() == "AP"
    assert queries.story(db, "missing") is None
    citations = queries.story_citations(db, AMAZON)
    assert len(citations) == 4


def test_status_of_missing_and_empty(tmp_path: Path) -> None:
    missing = queries.db_status(tmp_path / "none.duckdb")
    assert not missing.exists and not missing.views
    empty = queries.db_status(build_empty_db(tmp_path / "e.duckdb"))
    assert empty.exists and empty.has("articles", "feed_status") and empty.n_articles == 0


@pytest.mark.parametrize("fmt", _export.FORMATS)
def test_export_formats(tmp_path: Path, fmt: str) -> None:
    db = build_story_db(tmp_path / "s.duckdb")
    info = queries.story(db, AMAZON)
    assert info is not None
    data = _export.to_bytes(info, queries.story_timeline(db, AMAZON), fmt)
    if fmt == "csv":
        frame = pd.read_csv(io.BytesIO(data))
    elif fmt == "json":
        payload = json.loads(data)
        assert payload["story"]["first_outlet"] == "GeekWire"
        assert payload["story"]["languages"] == ["ar", "en", "es"]
        frame = pd.DataFrame(payload["articles"])
    else:
        frame = pd.read_parquet(io.BytesIO(data))
    assert len(frame) == 7
    assert frame["published_at"].tolist()[0] == "2026-10-06T20:38:00+00:00"
    assert ARABIC_TITLE in frame["title"].tolist()


def test_jsonable_turns_nested_structs_into_json_values() -> None:
    from datetime import UTC, datetime

    from scooptrace.pages._export import jsonable

    reached = [{"language": "en", "first_at": datetime(2026, 10, 6, 20, 31, tzinfo=UTC), "lag_seconds": 0}]
    assert jsonable(reached) == [
        {"language": "en", "first_at": "2026-10-06T20:31:00+00:00", "lag_seconds": 0}
    ]
