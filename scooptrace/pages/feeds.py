"""Feeds page: the health of every feed, the failing ones first."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from scooptrace import queries
from scooptrace.pages import _common
from scooptrace.pages._text import safe_url, to_zone


def render() -> None:
    state = _common.status()
    st.title("Feeds")
    if not _common.explain_missing(state, "feed_status", "articles"):
        return
    frame = _common.cached(queries.feed_health)(state.path)
    if frame.empty:
        st.info(
            "No feeds yet. Add some with `scooptrace feeds import feeds.opml` or `scooptrace feeds add URL`."
        )
        return
    failing = frame["last_error"].notna() | (frame["consecutive_failures"] > 0)
    col_total, col_failing, col_stale, col_never = st.columns(4)
    col_total.metric("Feeds", len(frame))
    col_failing.metric("Failing", int(failing.sum()))
    col_stale.metric("Stale", int(frame["stale"].fillna(False).astype(bool).sum()), help=STALE_HELP)
    col_never.metric("Never fetched", int(frame["last_fetched_at"].isna().sum()))
    only_failing = st.toggle("Only failing feeds", value=False)
    search = st.text_input("Outlet or URL contains", "")
    shown = frame[failing] if only_failing else frame
    if search.strip():
        needle = search.strip().lower()
        hit = shown["outlet"].fillna("").str.lower().str.contains(needle, regex=False) | shown[
            "feed_url"
        ].str.lower().str.contains(needle, regex=False)
        shown = shown[hit]
    _common.table(display_frame(shown, _common.current_zone()), COLUMNS)


STALE_HELP = "Stopped publishing far beyond its own rhythm (over 4 times its usual gap, and over 2 days)."
# Widths in pixels that fit beside the sidebar of a 1400 px window (wider pages stretch them).
COLUMNS = {
    "health": st.column_config.TextColumn("Health", width=125),
    "outlet": st.column_config.TextColumn("Outlet", width=120),
    "feed_url": st.column_config.LinkColumn("Feed", width=190),
    "last_fetched_at": st.column_config.TextColumn("Last fetch", width=135),
    "next_due_at": st.column_config.TextColumn(
        "Next fetch", help="Set by the feed's own publishing rhythm.", width=135
    ),
    "last_status": st.column_config.NumberColumn("HTTP", format="%d", width=50),
    "last_error": st.column_config.TextColumn("Last error", width=130),
    "consecutive_failures": st.column_config.NumberColumn(
        "Failures", format="%d", help="Failed fetches in a row", width=65
    ),
    "n_articles": st.column_config.NumberColumn("Articles", format="%d", width=60),
    "articles_per_day": st.column_config.NumberColumn(
        "Per day", format="%.1f", help="Articles a day over the last 7 days", width=55
    ),
}


def display_frame(frame: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    out = frame.copy()
    out["feed_url"] = out["feed_url"].map(safe_url)
    out["last_error"] = out["last_error"].fillna("")
    fetched = to_zone(out["last_fetched_at"], zone_name)
    out["last_fetched_at"] = fetched.dt.strftime("%Y-%m-%d %H:%M %Z").where(fetched.notna(), "never")
    due = to_zone(out["next_due_at"], zone_name)
    out["next_due_at"] = due.dt.strftime("%Y-%m-%d %H:%M %Z").where(due.notna(), "not scheduled")
    out["health"] = [
        health(error, failures, fetched, stale)
        for error, failures, fetched, stale in zip(
            frame["last_error"],
            frame["consecutive_failures"],
            frame["last_fetched_at"],
            frame["stale"],
            strict=True,
        )
    ]
    return out[list(COLUMNS)]


def health(error: object, failures: float | None, fetched: object, stale: object = False) -> str:
    """Plain words, no emoji: a machine without an emoji font shows an emoji as an empty box."""
    if fetched is None or pd.isna(fetched):
        return "Never fetched"
    count = int(failures) if failures is not None and not pd.isna(failures) else 0
    if count > 0 or (error is not None and not pd.isna(error)):
        return f"Failing ({count} in a row)" if count else "Failing"
    if stale is True or (stale is not None and not pd.isna(stale) and bool(stale)):
        return "Stale"
    return "OK"


if __name__ == "__main__":
    _common.guarded(render)
