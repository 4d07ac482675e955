"""The propagation timeline, built from plain frames (no Streamlit, no database): time across, outlets down in
order of first coverage, one mark per article. The first report is a large star, independent reports are
filled circles, syndicated copies hollow squares; citation edges run from the follower to the credited outlet;
complaint counts are a faint area behind (their own axis, right), the spike onset and official statements are
rules. A second chart shows the cumulative number of outlets on the same time axis.

Times are drawn as naive wall-clock times in the viewer's chosen zone, which Vega-Lite shows unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import altair as alt
import pandas as pd

from scooptrace.pages._text import format_lag, format_time, to_zone

FIRST, INDEPENDENT, COPY = "first report", "independent report", "syndicated copy"
KIND_DOMAIN = [FIRST, INDEPENDENT, COPY]
KIND_COLOR = ["#d62728", "#1f77b4", "#9e9e9e"]
KIND_FILL = [*KIND_COLOR[:2], "white"]  # copies are hollow
KIND_SHAPE = ["diamond", "circle", "square"]
KIND_SIZE = [360, 90, 70]
ROW_HEIGHT = 34
# Sizes that follow the width of the page (Vega's containerSize(), so a phone gets a narrower outlet column):
# the outlet names take at most 150 px and about a fifth of a narrow screen, never under 70 px; both charts
# use the same value so their time axes line up.
LABEL_WIDTH = {"expr": "clamp(containerSize()[0] * 0.2, 70, 150)"}
OUTLET_LABEL_LIMIT = {"expr": "clamp(containerSize()[0] * 0.2, 70, 150) - 8"}
# A marker's label is cut with an ellipsis at a little under half the plot, so it fits on its side of the rule.
MARKER_LABEL_LIMIT = {"expr": "clamp((containerSize()[0] - 170) * 0.45, 60, 320)"}
# The legend on one row, or two rows when the page is narrow.
LEGEND_COLUMNS = {"expr": "containerSize()[0] < 560 ? 2 : 0"}
# 24-hour clock; the first tick and every midnight carry the date.
TIME_LABEL = (
    "hours(datum.value) == 0 && minutes(datum.value) == 0 ? timeFormat(datum.value, '%a %d %b')"
    " : datum.index == 0 ? timeFormat(datum.value, '%d %b %H:%M') : timeFormat(datum.value, '%H:%M')"
)
# The time axis starts this long before the first report or the spike onset, whichever is earlier: enough
# of the quiet baseline to see the rise, not hours of it squeezing the first hour of coverage.
LEAD_BEFORE_START = pd.Timedelta(minutes=20)


@dataclass(frozen=True)
class Marker:
    """A vertical rule on the timeline: the complaint spike onset or an official statement."""

    at: pd.Timestamp
    label: str
    kind: str  # "onset" | "statement"


def outlet_order(timeline: pd.DataFrame) -> list[str]:
    """Outlets in order of their first article in the story (ties by name)."""
    firsts = timeline.groupby("outlet", dropna=False)["published_at"].min().reset_index()
    firsts["outlet"] = firsts["outlet"].fillna("(unknown)")
    return firsts.sort_values(["published_at", "outlet"])["outlet"].tolist()


def article_points(timeline: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    """One row per article, ready for the chart: wall-clock time, kind, lag label, tooltip text."""
    local = to_zone(timeline["published_at"], zone_name)
    points = pd.DataFrame(
        {
            "time": local.dt.tz_localize(None),
            "when": local.dt.strftime("%Y-%m-%d %H:%M %Z"),
            "outlet": timeline["outlet"].fillna("(unknown)"),
            "title": timeline["title"].fillna(""),
            "language": timeline["language"].fillna(""),
        }
    )
    is_copy = timeline["syndicated_from_article_id"].notna()
    is_first = timeline["is_first_report"].fillna(False).astype(bool)
    points["kind"] = [
        FIRST if first else COPY if copy else INDEPENDENT
        for first, copy in zip(is_first, is_copy, strict=True)
    ]
    points["lag"] = [
        format_lag(lag, first) for lag, first in zip(timeline["lag_seconds"], is_first, strict=True)
    ]
    return points


def citation_edges(timeline: pd.DataFrame, citations: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    """From each citing article to the credited outlet's earliest article in this story (others are skipped)."""
    columns = ["time", "outlet", "time2", "outlet2", "kind", "evidence"]
    if citations.empty:
        return pd.DataFrame(columns=columns)
    firsts = timeline.groupby("outlet")["published_at"].min()
    rows = citations[citations["cited_outlet"].isin(firsts.index)]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    edges = pd.DataFrame(
        {
            "time": to_zone(rows["citing_published_at"], zone_name).dt.tz_localize(None),
            "outlet": rows["citing_outlet"],
            "time2": to_zone(rows["cited_outlet"].map(firsts), zone_name).dt.tz_localize(None),
            "outlet2": rows["cited_outlet"],
            "kind": rows["kind"],
            "evidence": rows["evidence"].fillna("").str.slice(0, 240),
        }
    )
    return edges.drop_duplicates(["outlet", "outlet2", "time"]).reset_index(drop=True)


def timeline_chart(
    timeline: pd.DataFrame,
    citations: pd.DataFrame,
    complaints: pd.DataFrame,
    markers: list[Marker],
    zone_name: str,
    domain: list[str] | None = None,
) -> alt.LayerChart:
    """The whole propagation picture; ``complaints`` has columns ts, value (may be empty)."""
    order = outlet_order(timeline)
    points = article_points(timeline, zone_name)
    domain = domain or time_domain(points["time"], complaints, markers, zone_name)
    title = axis_title(zone_name)
    x = time_axis(domain, title)
    y = alt.Y(
        "outlet:N",
        sort=order,
        scale=alt.Scale(domain=order),
        title=None,
        axis=alt.Axis(labelLimit=OUTLET_LABEL_LIMIT, minExtent=LABEL_WIDTH, maxExtent=LABEL_WIDTH),
    )
    height = 80 + ROW_HEIGHT * max(3, len(order))
    layers: list[alt.Chart | alt.LayerChart] = []
    edges = citation_edges(timeline, citations, zone_name)
    if not edges.empty:
        layers.append(edge_layer(edges, x, y))
    layers.append(point_layer(points, x, y))
    layers += marker_layers(markers, x, zone_name, domain)
    outlets = alt.layer(*layers)
    if complaints.empty:
        return cast(alt.LayerChart, outlets.properties(height=height))
    area = complaint_layer(complaints, domain, zone_name, title)
    return cast(
        alt.LayerChart, alt.layer(area, outlets).resolve_scale(y="independent").properties(height=height)
    )


def point_layer(points: pd.DataFrame, x: alt.X, y: alt.Y) -> alt.Chart:
    kind_legend = alt.Legend(title=None, orient="top", columns=LEGEND_COLUMNS, labelLimit=150)
    return (
        alt.Chart(points)
        .mark_point(filled=True, opacity=0.9, strokeWidth=2)
        .encode(
            x=x,
            y=y,
            # One merged legend: every channel keyed on kind must carry the same legend (a None drops it).
            stroke=alt.Stroke(
                "kind:N", scale=alt.Scale(domain=KIND_DOMAIN, range=KIND_COLOR), legend=kind_legend
            ),
            shape=alt.Shape(
                "kind:N", scale=alt.Scale(domain=KIND_DOMAIN, range=KIND_SHAPE), legend=kind_legend
            ),
            size=alt.Size("kind:N", scale=alt.Scale(domain=KIND_DOMAIN, range=KIND_SIZE), legend=kind_legend),
            fill=alt.Fill("kind:N", scale=alt.Scale(domain=KIND_DOMAIN, range=KIND_FILL), legend=kind_legend),
            tooltip=[
                alt.Tooltip("outlet:N", title="Outlet"),
                alt.Tooltip("title:N", title="Title"),
                alt.Tooltip("when:N", title="Published"),
                alt.Tooltip("lag:N", title="Lag"),
                alt.Tooltip("kind:N", title="Kind"),
                alt.Tooltip("language:N", title="Language"),
            ],
        )
    )


def edge_layer(edges: pd.DataFrame, x: alt.X, y: alt.Y) -> alt.Chart:
    return (
        alt.Chart(edges)
        .mark_rule(color="#ff7f0e", strokeDash=[4, 3], opacity=0.7, strokeWidth=1.5)
        .encode(
            x=x,
            y=y,
            x2="time2:T",
            y2="outlet2:N",
            tooltip=[
                alt.Tooltip("outlet:N", title="Follower"),
                alt.Tooltip("outlet2:N", title="Credits"),
                alt.Tooltip("kind:N", title="By"),
                alt.Tooltip("evidence:N", title="Evidence"),
            ],
        )
    )


MARKER_COLORS = {"onset": "#b71c1c", "statement": "#2e7d32"}


def marker_layers(markers: list[Marker], x: alt.X, zone_name: str, domain: list[str]) -> list[alt.Chart]:
    """A dashed rule and a label per marker; constant colours so they never share the articles' colour scale.

    The onset's label sits at the bottom of the plot: outlets are drawn in order of first coverage, so the
    bottom left is empty while the first report's mark is at the top. A statement's label sits at the top.
    A label in the right half of the time axis is drawn to the left of its rule, so it is never cut."""
    layers: list[alt.Chart] = []
    start, end = pd.Timestamp(domain[0]), pd.Timestamp(domain[1])
    for kind, color in MARKER_COLORS.items():
        chosen = [m for m in markers if m.kind == kind]
        if not chosen:
            continue
        times = [to_zone(pd.Series([m.at]), zone_name).dt.tz_localize(None).iloc[0] for m in chosen]
        frame = pd.DataFrame(
            {
                "time": times,
                "label": [short_label(m.label) for m in chosen],
                "when": [format_time(m.at, zone_name) for m in chosen],
                "right_half": [(t - start) > (end - start) / 2 for t in times],
            }
        )
        base = alt.Chart(frame).encode(x=x)
        layers.append(
            base.mark_rule(strokeDash=[6, 4], strokeWidth=2, color=color).encode(
                tooltip=[alt.Tooltip("label:N", title="Marker"), alt.Tooltip("when:N", title="At")]
            )
        )
        at_bottom = kind == "onset"
        for right in (False, True):
            side = frame[frame["right_half"] == right]
            if side.empty:
                continue
            layers.append(
                alt.Chart(side)
                .mark_text(
                    align="right" if right else "left",
                    baseline="bottom" if at_bottom else "top",
                    dx=-5 if right else 5,
                    dy=-3 if at_bottom else 2,
                    fontSize=11,
                    color=color,
                    fontWeight="bold",
                    clip=True,
                    limit=MARKER_LABEL_LIMIT,
                )
                # "height": the plot's bottom edge, whatever height the page gives it
                .encode(x=x, text="label:N", y=alt.value("height" if at_bottom else 0))
            )
    return layers


MARKER_LABEL_CHARS = 60  # a statement's first words; the tooltip and the key figures hold the whole text


def short_label(text: str, limit: int = MARKER_LABEL_CHARS) -> str:
    """The label cut at a word boundary with an ellipsis, never in the middle of a word."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return cut + "…"


def complaint_layer(
    complaints: pd.DataFrame, domain: list[str], zone_name: str, title: str | None = None
) -> alt.Chart:
    frame = pd.DataFrame(
        {"time": to_zone(complaints["ts"], zone_name).dt.tz_localize(None), "value": complaints["value"]}
    )
    return (
        alt.Chart(frame)
        .mark_area(color="#e57373", opacity=0.18, interpolate="monotone", clip=True)
        .encode(
            x=time_axis(domain, title),  # the first layer's axis is the one drawn: it carries the title
            y=alt.Y("value:Q", axis=None),  # no right axis: the two charts' time axes stay aligned
            tooltip=[alt.Tooltip("value:Q", title="Complaints")],
        )
    )


def cumulative_outlets(timeline: pd.DataFrame, zone_name: str) -> pd.DataFrame:
    """Time of each outlet's first article and how many outlets had covered the story by then."""
    firsts = timeline.groupby("outlet")["published_at"].min().sort_values()
    return pd.DataFrame(
        {
            "time": to_zone(firsts.reset_index(drop=True), zone_name).dt.tz_localize(None),
            "outlets": range(1, len(firsts) + 1),
            "outlet": firsts.index.astype(str),
        }
    )


def spread_chart(timeline: pd.DataFrame, zone_name: str, domain: list[str]) -> alt.LayerChart:
    """The cumulative outlets curve, on the same time axis as the timeline."""
    frame = cumulative_outlets(timeline, zone_name)
    base = alt.Chart(frame).encode(
        x=time_axis(domain, axis_title(zone_name)),
        y=alt.Y(
            "outlets:Q",
            title=None,  # the caption says what it is; a title would shift the time axis
            axis=alt.Axis(tickMinStep=1, minExtent=LABEL_WIDTH, maxExtent=LABEL_WIDTH),
        ),
    )
    line = base.mark_line(interpolate="step-after", color="#1f77b4")
    dots = base.mark_circle(size=40, color="#1f77b4").encode(
        tooltip=[alt.Tooltip("outlet:N", title="Outlet"), alt.Tooltip("outlets:Q", title="Outlets so far")]
    )
    return cast(alt.LayerChart, alt.layer(line, dots).properties(height=130))


def time_domain(
    times: pd.Series, complaints: pd.DataFrame, markers: list[Marker], zone_name: str
) -> list[str]:
    """The shared x range: from a little before the first report or the spike onset (whichever is earlier)
    to a little after the last article or marker. The complaint series is drawn only inside it: hours of
    quiet baseline before the story would squeeze its first hour into a few pixels."""
    del complaints  # shown clipped to the range the story and its markers span
    candidates = [pd.Timestamp(t) for t in times]
    candidates += [to_zone(pd.Series([m.at]), zone_name).dt.tz_localize(None).iloc[0] for m in markers]
    start, end = min(candidates), max(candidates)
    pad = max((end - start) * 0.05, pd.Timedelta(minutes=5))
    return [(start - max(pad, LEAD_BEFORE_START)).isoformat(), (end + pad).isoformat()]


def axis_title(zone_name: str) -> str:
    """ "Time (America/New_York)": the zone every time on the page is shown in."""
    return f"Time ({zone_name})"


def time_axis(domain: list[str], title: str | None) -> alt.X:
    return alt.X(
        "time:T",
        title=title,
        scale=alt.Scale(domain=domain),
        axis=alt.Axis(labelExpr=TIME_LABEL, labelOverlap=True, grid=True, gridOpacity=0.4),
    )
