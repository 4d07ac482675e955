"""Story page, the shareable deep link ``/story?id=STORY_ID``: who broke it, when, how it spread, who credited
whom, and how it lines up with the outage signal."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from common.text import plural
from scooptrace import queries
from scooptrace.pages import _chart, _common, _export
from scooptrace.pages._signals import complaint_series, markers_for
from scooptrace.pages._text import (
    bidi_isolate,
    escape_markdown,
    format_duration,
    format_lag,
    format_time,
    safe_url,
    times_in_zone,
)


def render() -> None:
    state = _common.status()
    if not _common.explain_missing(state, "stories", "story_timeline"):
        return
    story_id = st.query_params.get("id", "").strip()
    if not story_id:
        pick_story(state)
        return
    info = _common.cached(queries.story)(state.path, story_id)
    if info is None:
        st.title("Story not found")
        st.warning(f"There is no story with id {escape_markdown(story_id)} in this database.")
        st.page_link(_common.page_file("stories"), label="All stories", icon=":material/newspaper:")
        return
    timeline = _common.cached(queries.story_timeline)(state.path, story_id)
    show_story(state, info, timeline, _common.current_zone())


def pick_story(state: queries.DbStatus) -> None:
    st.title("Story")
    recent = _common.cached(queries.recent_story_ids)(state.path)
    if recent.empty:
        st.info("No stories yet: run `scooptrace ingest` or `scooptrace import FILE` first.")
        return
    labels = dict(zip(recent["story_id"], recent["headline"].fillna("(no headline)"), strict=True))
    choice = st.selectbox("Open a story", [None, *labels], format_func=lambda sid: labels.get(sid, "Choose…"))
    if choice:
        st.query_params["id"] = choice
        st.rerun()


def show_story(state: queries.DbStatus, info: dict[str, Any], timeline: pd.DataFrame, zone_name: str) -> None:
    st.title(bidi_isolate(escape_markdown(info.get("headline") or "(no headline)")))
    citations = (
        _common.cached(queries.story_citations)(state.path, info["story_id"])
        if state.has("citations")
        else pd.DataFrame()
    )
    outage = (
        _common.cached(queries.story_outage)(state.path, info["story_id"])
        if state.has("story_outages")
        else None
    )
    if outage is not None:
        info = {**info, **outage}
    signals = (
        _common.cached(queries.story_signals)(
            state.path, info["first_published_at"], info["last_published_at"], str(info.get("service"))
        )
        if state.has("signals") and info.get("service") and not timeline.empty
        else pd.DataFrame()
    )
    markers = markers_for(info, signals)
    key_figures(info, timeline, markers, zone_name)
    if timeline.empty:
        st.info("This story has no articles in story_timeline yet.")
        return
    complaints = complaint_series(signals)
    domain = _chart.time_domain(
        _chart.article_points(timeline, zone_name)["time"], complaints, markers, zone_name
    )
    st.altair_chart(
        _chart.timeline_chart(timeline, citations, complaints, markers, zone_name, domain), width="stretch"
    )
    st.caption(chart_note(complaints, zone_name))
    st.altair_chart(_chart.spread_chart(timeline, zone_name, domain), width="stretch")
    evidence = info.get("first_report_evidence")
    if evidence:  # stored in the outlet's zone; shown in the reader's, like every time on the page
        local = times_in_zone(str(evidence), info.get("first_published_at"), zone_name)
        st.info(escape_markdown(local), icon=":material/verified:")
    articles_table(timeline, zone_name)
    downloads(info, timeline)
    citations_table(citations)


def chart_note(complaints: pd.DataFrame, zone_name: str) -> str:
    note = (
        "One mark per article; outlets in order of first coverage. Dashed orange lines run from a follower to "
        "the outlet it credits."
    )
    if not complaints.empty:
        peak = complaints.loc[complaints["value"].idxmax()]
        note += (
            f" Shaded: complaints (peak {peak['value']:,.0f} at {format_time(peak['ts'], zone_name, False)}); "
            "red rule: where they began rising; green: official statements."
        )
    return escape_markdown(note + " Below: how many outlets had covered the story over time.")


def key_figures(
    info: dict[str, Any], timeline: pd.DataFrame, markers: list[_chart.Marker], zone_name: str
) -> None:
    first_at = info.get("first_published_at")
    onset = next((m for m in markers if m.kind == "onset"), None)
    statement = next((m for m in markers if m.kind == "statement"), None)
    cols = st.columns(5)
    cols[0].metric("First report", escape_markdown(info.get("first_outlet") or "?"))
    day = format_time(first_at, zone_name)[:10]
    cols[1].metric(f"At ({day})", escape_markdown(format_time(first_at, zone_name, with_date=False)))
    cols[2].metric(
        f"Outlets ({plural(int(info.get('n_articles') or 0), 'article')})", f"{info.get('n_outlets', 0)}"
    )
    to_five = format_duration(stored_seconds(info, "seconds_to_5_outlets"))
    cols[3].metric("To 5 outlets", escape_markdown(to_five or "not yet"))
    languages = info.get("languages") or []
    cols[4].metric("Languages", escape_markdown(", ".join(sorted(str(lang) for lang in languages)) or "?"))
    facts = []
    lag = stored_seconds(info, "spike_to_first_report_seconds", "lag_seconds")
    if onset is not None and lag is not None:
        service = f"{info['service']} complaints" if info.get("service") else "Complaints"
        relation = "after" if lag >= 0 else "before"
        facts.append(
            f"{service} started rising at {format_time(onset.at, zone_name)}; "
            f"the first headline came {format_duration(abs(lag))} {relation}."
        )
    if statement is not None:
        facts.append(f"First official statement at {format_time(statement.at, zone_name)}: {statement.label}")
    elif onset is not None:
        facts.append("No official statement yet.")
    if facts:
        facts = [" ".join(facts)]
    if not timeline.empty:
        facts.append(spread_sentence(info, zone_name))
    if any(facts):
        st.markdown("  \n".join(escape_markdown(fact) for fact in facts if fact))


def spread_sentence(info: dict[str, Any], zone_name: str) -> str:
    """ "Reached en at 20:38 UTC, es +57 min, ar +1 h 52 min; 10 outlets: not yet.", from the figures the
    first-report stage stored (languages_reached, seconds_to_10_outlets): the page computes none itself."""
    reached = [r for r in info.get("languages_reached") or [] if r and r.get("language")]
    if not reached:
        return ""
    parts = [f"{reached[0]['language']} at {format_time(reached[0]['first_at'], zone_name, with_date=False)}"]
    parts += [f"{r['language']} {format_lag(r.get('lag_seconds'))}" for r in reached[1:]]
    ten = format_duration(stored_seconds(info, "seconds_to_10_outlets"))
    return f"Reached {', '.join(parts)}; 10 outlets: {'after ' + ten if ten else 'not yet'}."


def stored_seconds(info: dict[str, Any], *names: str) -> float | None:
    """The first of the story's stored durations (seconds) that is known; None when none is."""
    for name in names:
        value = info.get(name)
        if value is not None and not pd.isna(value):
            return float(value)
    return None


# Widths in pixels add up to the ~930 px a 1400 px window leaves beside the sidebar: no sideways scrolling.
# Rows are tall enough for Streamlit to wrap text (over 64 px), so a long headline shows whole on two lines.
ARTICLE_COLUMNS = {
    "when": st.column_config.TextColumn("Published", width=95),
    "lag": st.column_config.TextColumn("Lag", width=70),
    "outlet": st.column_config.TextColumn("Outlet", width=105),
    "title": st.column_config.TextColumn("Title", width=340),
    "language": st.column_config.TextColumn("Lang.", width=45),
    "kind": st.column_config.TextColumn("Kind", width=105),
    "link": st.column_config.LinkColumn("Link", display_text="open ↗", width=55),
    "time_source": st.column_config.TextColumn(
        "Time from", help="page metadata, feed date, or first sight", width=70
    ),
}
WRAPPING_ROW_PX = 66
CITATION_COLUMNS = {
    "citing_outlet": st.column_config.TextColumn("Citing outlet", width="small"),
    "cited_outlet": st.column_config.TextColumn("Credits", width="small"),
    "kind": st.column_config.TextColumn("By", help="link: a hyperlink; mention: named in the text", width=70),
    "evidence": st.column_config.TextColumn("Evidence", width="large"),
}


def articles_frame(timeline: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    """The articles table: plain text cells (titles isolated for right-to-left scripts), http(s) links only."""
    points = _chart.article_points(timeline, zone_name)
    kind = points["kind"].where(
        points["kind"] != _chart.COPY,
        "copy of " + timeline["syndicated_from_outlet"].fillna("another outlet"),
    )
    return pd.DataFrame(
        {
            "when": points["when"],
            "lag": points["lag"],
            "outlet": points["outlet"],
            "title": timeline["title"].fillna("").map(bidi_isolate),
            "language": points["language"],
            "kind": kind,
            "link": timeline["url"].map(safe_url),
            "time_source": timeline["published_at_source"].fillna(""),
        }
    )


def articles_table(timeline: pd.DataFrame, zone_name: str) -> None:
    st.subheader("Articles")
    frame = articles_frame(timeline, zone_name)
    _common.table(
        frame,
        ARTICLE_COLUMNS,
        row_height=WRAPPING_ROW_PX,
        height=_common.table_height(len(frame), row_px=WRAPPING_ROW_PX),
    )


def downloads(info: dict[str, Any], timeline: pd.DataFrame) -> None:
    stem = f"story-{info['story_id']}"
    col_csv, col_json, col_parquet, _ = st.columns([1, 1, 1, 4])
    for column, fmt, mime in (
        (col_csv, "csv", "text/csv"),
        (col_json, "json", "application/json"),
        (col_parquet, "parquet", "application/vnd.apache.parquet"),
    ):
        column.download_button(
            fmt.upper(),
            _export.to_bytes(info, timeline, fmt),
            f"{stem}.{fmt}",
            mime,
            icon=":material/download:",
            key=f"download_{fmt}",
        )


def citations_table(citations: pd.DataFrame) -> None:
    if citations.empty:
        return
    with st.expander(f"Who credits whom ({len(citations)} citations)"):
        shown = citations[["citing_outlet", "cited_outlet", "kind", "evidence"]].copy()
        shown["evidence"] = shown["evidence"].fillna("").map(bidi_isolate)
        _common.table(shown, CITATION_COLUMNS)


if __name__ == "__main__":
    _common.guarded(render)
