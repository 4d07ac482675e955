"""Outlets page: who breaks news first, who follows and how fast, who gets credited."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from scooptrace import queries
from scooptrace.pages import _common

# Column names the first-report stage may use in outlet_stats; the first one present is charted.
FIRST_COLUMNS = ("stories_first", "n_first", "first_reports", "stories_reported_first", "n_stories_first")
CREDIT_COLUMNS = (
    "times_credited",
    "n_credited",
    "credited",
    "credited_by_others",
    "times_credited_by_others",
)


def render() -> None:
    state = _common.status()
    _common.sidebar(state)
    st.title("Outlets")
    st.caption("Who breaks stories first, who follows, and who gets credited by others.")
    if state.has("outlet_stats"):
        frame = _common.cached(queries.outlet_stats)(state.path)
    elif _common.explain_missing(state, "story_timeline"):
        st.caption("Computed from story_timeline (the outlet_stats view is not in this database yet).")
        frame = _common.cached(queries.outlet_stats_from_timeline)(state.path)
    else:
        return
    if frame.empty:
        st.info("No outlet has covered a story yet.")
        return
    search = st.text_input("Outlet contains", "")
    if search.strip() and "outlet" in frame.columns:
        frame = frame[frame["outlet"].fillna("").str.contains(search.strip(), case=False, regex=False)]
    chart = leaderboard(frame)
    if chart is not None:
        st.altair_chart(chart, width="stretch")
    st.dataframe(frame, hide_index=True, width="stretch")


def leaderboard(frame: pd.DataFrame, top: int = 20) -> alt.Chart | None:
    """Bars of stories reported first (and times credited, when known) for the top outlets."""
    first = next((c for c in FIRST_COLUMNS if c in frame.columns), None)
    if first is None or "outlet" not in frame.columns:
        return None
    credited = next((c for c in CREDIT_COLUMNS if c in frame.columns), None)
    measures = [first] + ([credited] if credited else [])
    ranked = frame.sort_values(measures, ascending=False).head(top)
    long = ranked.melt(id_vars=["outlet"], value_vars=measures, var_name="measure", value_name="count")
    long["measure"] = long["measure"].map({first: "reported first", credited: "credited by others"})
    order = ranked["outlet"].tolist()
    return (
        alt.Chart(long)
        .mark_bar()
        .encode(
            y=alt.Y("outlet:N", sort=order, title=None, axis=alt.Axis(labelLimit=220)),
            x=alt.X("count:Q", title="stories"),
            color=alt.Color("measure:N", legend=alt.Legend(title=None, orient="top")),
            yOffset="measure:N",
            tooltip=["outlet:N", "measure:N", "count:Q"],
        )
        .properties(height=max(120, 26 * len(order)))
    )


if __name__ == "__main__":
    _common.guarded(render)
