"""Outlets page: who breaks news first, who follows and how fast, who gets credited."""

from __future__ import annotations

from typing import Any

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
    st.title("Outlets")
    st.caption("Who breaks stories first, who follows, and who gets credited by others.")
    if not _common.explain_missing(state, "outlet_stats"):
        return
    frame = _common.cached(queries.outlet_stats)(state.path)
    if frame.empty:
        st.info("No outlet has covered a story yet.")
        return
    search = st.text_input("Outlet contains", "")
    if search.strip() and "outlet" in frame.columns:
        frame = frame[frame["outlet"].fillna("").str.contains(search.strip(), case=False, regex=False)]
    charts = leaderboards(frame)
    for column, (title, chart) in zip(st.columns(max(1, len(charts))), charts, strict=False):
        column.markdown(f"**{title}**")
        column.altair_chart(chart, width="stretch")
    first = next((c for c in FIRST_COLUMNS if c in frame.columns), None)
    if first is not None:
        frame = frame.sort_values([first, "outlet"], ascending=[False, True])
    _common.table(frame, column_labels(frame.columns))


# Human labels, help and widths (pixels, fitting beside the sidebar at 1400 px) for the outlet_stats columns.
# A column not listed gets its name in words.
COLUMN_LABELS: dict[str, tuple[str, str | None, int]] = {
    "outlet": ("Outlet", None, 160),
    "stories_covered": ("Covered", "Stories this outlet covered", 80),
    "stories_first": ("First", "Stories this outlet reported first", 65),
    "times_credited": ("Credited", "Articles of other outlets that credit this one", 80),
    "times_credited_first": ("Credited first", "Credits that say this outlet was first", 100),
    "credited_by_outlets": ("By outlets", "How many outlets credit this one", 85),
    "median_lag_minutes_following": ("Median lag following (min)", "When not first: median delay", 175),
    "articles_crediting_others": ("Crediting", "Its articles that credit another outlet", 80),
    "outlets_credited": ("Outlets credited", "How many other outlets this one credits", 110),
}
# The same figure in seconds: the minutes column says it, the view keeps both for SQL.
HIDDEN_COLUMNS = ("median_lag_seconds_following",)


def column_labels(columns: pd.Index) -> dict[str, Any]:
    """st.column_config for every column: a human label (and help), never the raw SQL name."""
    config: dict[str, Any] = {}
    for name in map(str, columns):
        if name in HIDDEN_COLUMNS:
            config[name] = None
            continue
        label, help_text, width = COLUMN_LABELS.get(name, (name.replace("_", " ").capitalize(), None, 100))
        config[name] = st.column_config.Column(label, help=help_text, width=width)
    return config


LAG_COLUMNS = ("median_lag_minutes_following", "median_lag_minutes")
TOP = 15


def leaderboards(frame: pd.DataFrame) -> list[tuple[str, alt.Chart]]:
    """Small bar charts side by side: who reports first, who gets credited, who follows fastest."""
    if "outlet" not in frame.columns:
        return []
    charts = []
    for columns, title, ascending in (
        (FIRST_COLUMNS, "Stories reported first", False),
        (CREDIT_COLUMNS, "Times credited by others", False),
        (LAG_COLUMNS, "Median minutes behind when following", True),
    ):
        column = next((c for c in columns if c in frame.columns), None)
        if column is None:
            continue
        ranked = frame[frame[column].notna()]
        if not ascending:
            ranked = ranked[ranked[column] > 0]
        ranked = ranked.sort_values([column, "outlet"], ascending=[ascending, True]).head(TOP)
        if not ranked.empty:
            charts.append((title, bar_chart(ranked[["outlet", column]].rename(columns={column: "value"}))))
    return charts


def bar_chart(frame: pd.DataFrame) -> alt.Chart:
    order = frame["outlet"].tolist()
    bars = alt.Chart(frame).encode(
        y=alt.Y("outlet:N", sort=order, title=None, axis=alt.Axis(labelLimit=140)),
        x=alt.X("value:Q", title=None, axis=alt.Axis(tickMinStep=1)),
        tooltip=[alt.Tooltip("outlet:N", title="Outlet"), alt.Tooltip("value:Q", title="Value")],
    )
    return (
        bars.mark_bar(color="#1f77b4", cornerRadiusEnd=3)
        + bars.mark_text(align="left", dx=3).encode(text=alt.Text("value:Q", format=",.4~r"))
    ).properties(height=max(110, 30 * len(order) + 40))


if __name__ == "__main__":
    _common.guarded(render)
