"""Alerts page: the saved watches, the alerts the runs raised (and where each was delivered), the Atom feed,
and a replay of what each watch would have received, minute by minute, had a run happened at every change."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pandas as pd
import streamlit as st

from scooptrace import queries
from scooptrace.pages import _common
from scooptrace.pages._text import bidi_isolate, format_time

TRIGGERS = {
    "spike_without_coverage": "📈 users complaining, no coverage yet",
    "new_story": "🆕 new story",
    "coverage_after_spike": "📰 first coverage after the spike",
    "outlets_reached": "📣 reached N outlets",
    "language_reached": "🌐 new language",
    "statement": "🏢 official statement",
}
HOW_TO_WATCH = """scooptrace watch add "Amazon outage" --terms "Amazon outage" --min-outlets 5 \\
    --webhook https://hooks.example.org/scooptrace --email you@example.org
scooptrace alerts --atom alerts.atom      # an Atom feed of the alerts for any feed reader"""


def render() -> None:
    state = _common.status()
    st.title("Alerts")
    st.caption(
        "A watch tells you when a story matching it breaks, reaches more outlets or a new language, when users "
        "complain and nobody has written about it yet, and when the company makes its first statement."
    )
    if not _common.explain_missing(state, "stories"):
        return
    frame = _common.cached(queries.watches)(state.path) if state.has("watches") else pd.DataFrame()
    if frame.empty:
        st.info("No watches yet. Add one from the command line:", icon=":material/notifications:")
        st.code(HOW_TO_WATCH, language="bash")
        return
    zone_name = _common.current_zone()
    st.subheader("Watches")
    st.dataframe(watch_frame(frame), hide_index=True, width="stretch")
    raised = _common.cached(queries.alerts)(state.path)
    st.subheader("Alerts raised")
    if raised.empty:
        st.info("No alert yet: the next ingest, import or cluster run checks the watches.")
    else:
        st.dataframe(alert_frame(raised, zone_name), hide_index=True, width="stretch", column_config=LINKS)
        st.download_button(
            "Atom feed of these alerts",
            _common.cached(queries.alerts_atom)(state.path),
            file_name="scooptrace-alerts.atom",
            mime="application/atom+xml",
            icon=":material/rss_feed:",
            help="For a feed reader; `scooptrace alerts --atom FILE` writes the same feed for a web server.",
        )
    st.subheader("Replay: what the watcher would have received, and when")
    st.caption(
        "Had a run happened at every instant something changed (an article published, a complaint spike "
        "confirmed, a status-page statement posted), these alerts would have gone out at these minutes."
    )
    replayed = _common.cached(queries.alert_replay)(state.path)
    if replayed.empty:
        st.info("Nothing in this database matches the watches.")
        return
    st.dataframe(replay_frame(replayed, zone_name), hide_index=True, width="stretch", column_config=LINKS)


LINKS = {"open": st.column_config.LinkColumn("Story", display_text="open")}


def watch_frame(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in ("outlets", "languages"):
        out[column] = out[column].map(lambda v: ", ".join(v) if v is not None and len(v) else "any")
    return out


def story_link(story_id: str) -> str | None:
    return None if story_id.startswith("spike:") else "story?id=" + quote(story_id)


def alert_frame(frame: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "raised": [format_time(v, zone_name) for v in frame["raised_at"]],
            "watch": frame["watch"],
            "trigger": frame["trigger"].map(lambda t: TRIGGERS.get(t, t)),
            "detail": frame["detail"].map(bidi_isolate),
            "delivered": [delivery(row) for row in frame.to_dict("records")],
            "open": frame["story_id"].map(story_link),
        }
    )


def delivery(row: dict[str, Any]) -> str:
    parts = [f"{channel} ✅" for channel in ("webhook", "email") if not _missing(row.get(f"{channel}_at"))]
    parts += [f"{channel} ⏳" for channel in _channels(row.get("pending_channels"))]
    parts += [f"{channel} ❌" for channel in _channels(row.get("failed_channels"))]
    return " · ".join(parts) or "app and feed only"


def _channels(value: Any) -> list[str]:
    return [str(v) for v in value] if value is not None and not isinstance(value, float) else []


def _missing(value: object) -> bool:
    return value is None or bool(pd.isna(value))  # type: ignore[call-overload]


def replay_frame(frame: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "minute": [format_time(v, zone_name) for v in frame["raised_at"]],
            "watch": frame["watch"],
            "trigger": frame["trigger"].map(lambda t: TRIGGERS.get(t, t)),
            "detail": frame["detail"].map(bidi_isolate),
            "open": frame["story_id"].map(story_link),
        }
    )


if __name__ == "__main__":
    _common.guarded(render)
