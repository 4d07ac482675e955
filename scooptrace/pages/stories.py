"""Stories page: the latest stories first, with who broke each, when, and how far it spread."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pandas as pd
import streamlit as st

from common.text import plural
from scooptrace import queries
from scooptrace.pages import _common
from scooptrace.pages._text import bidi_isolate, format_duration, to_zone

RANGES = {
    "Last 24 hours": timedelta(days=1),
    "Last 7 days": timedelta(days=7),
    "Last 30 days": timedelta(days=30),
    "Last year": timedelta(days=365),
    "All time": None,
}


def render() -> None:
    state = _common.status()
    st.title("Stories")
    st.caption("Who broke it, when, and how fast it spread. Select a row to open its timeline.")
    if not _common.explain_missing(state, "stories", "story_timeline"):
        return
    outlets, languages = _common.cached(queries.filter_choices)(state.path)
    flt = filters(outlets, languages)
    frame = _common.cached(queries.stories)(state.path, flt)
    if frame.empty:
        if state.n_articles == 0:
            st.info("The database has no articles yet. Run `scooptrace ingest` or `scooptrace import FILE`.")
        else:
            st.info("No story matches these filters. Widen the time range or clear the filters.")
        return
    shown = display_frame(frame, _common.current_zone())
    event = _common.table(shown, COLUMNS, on_select="rerun", selection_mode="single-row", key="stories_table")
    st.caption(f"{plural(len(frame), 'story', 'stories')} shown (newest first, at most {flt.limit}).")
    rows = event.selection.rows if event is not None else []
    if rows:
        st.switch_page(_common.page_file("story"), query_params={"id": str(frame.iloc[rows[0]]["story_id"])})


def filters(outlets: list[str], languages: list[str]) -> queries.StoryFilter:
    """The filter row; the time range is relative to now, in whole minutes so the cache key stays stable."""
    col_range, col_text = st.columns([1, 2])
    range_label = col_range.selectbox(
        "First reported", list(RANGES), index=len(RANGES) - 1, key="stories_range"
    )
    text = col_text.text_input(
        "Headline or title contains", "", placeholder="e.g. outage, Amazon, عطل", key="stories_text"
    )
    col_outlet, col_lang, col_min = st.columns([2, 1, 1])
    chosen_outlets = col_outlet.multiselect("Covered by outlet", outlets, key="stories_outlets")
    chosen_languages = col_lang.multiselect("Language", languages, key="stories_languages")
    min_outlets = col_min.number_input(
        "At least N outlets", min_value=1, max_value=500, value=1, step=1, key="stories_min_outlets"
    )
    span = RANGES[range_label]
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return queries.StoryFilter(
        since=now - span if span is not None else None,
        outlets=tuple(chosen_outlets),
        languages=tuple(chosen_languages),
        text=text,
        min_outlets=int(min_outlets),
    )


# The headline first, then who broke it: on a phone (420 px) those two are what fits. The headline column is
# narrower than a phone's screen, so a right-to-left headline, drawn from the cell's right edge, shows its
# start; on a wide screen the grid stretches every column to fill the page.
COLUMNS = {
    "headline": st.column_config.TextColumn("Headline", width=260),
    "first_outlet": st.column_config.TextColumn("Broken by", width=110),
    "first_time": st.column_config.TextColumn("First report", width=140),
    "n_outlets": st.column_config.NumberColumn("Outlets", format="%d"),
    "spread": st.column_config.TextColumn("Spread", help="From the first report to the latest article"),
    "languages": st.column_config.ListColumn("Languages"),
    "n_articles": st.column_config.NumberColumn("Articles", format="%d"),
    "open": st.column_config.LinkColumn("Link", display_text="open", help="Shareable link to the story"),
}


def display_frame(frame: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    out = pd.DataFrame(index=frame.index)
    out["first_time"] = to_zone(frame["first_published_at"], zone_name).dt.strftime("%Y-%m-%d %H:%M %Z")
    out["first_outlet"] = frame["first_outlet"]
    out["headline"] = frame["headline"].map(bidi_isolate)
    out["n_outlets"] = frame["n_outlets"]
    out["n_articles"] = frame["n_articles"]
    out["languages"] = frame["languages"].map(lambda value: sorted(value) if value is not None else [])
    out["spread"] = frame["spread_seconds"].map(format_duration)
    out["open"] = "story?id=" + frame["story_id"].astype(str).map(quote)
    return out[list(COLUMNS)].reset_index(drop=True)


if __name__ == "__main__":
    _common.guarded(render)
