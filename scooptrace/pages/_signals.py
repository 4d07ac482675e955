"""The outage signal around a story, for the timeline: the complaint series, the spike onset and official
statements. Where the stories view carries the first-report stage's own onset and statement times, those are
used; otherwise a simple robust onset is found here so the chart is still useful."""

from __future__ import annotations

from typing import Any

import pandas as pd

from scooptrace.pages._chart import Marker

ONSET_COLUMNS = ("spike_onset_at", "signal_onset_at", "outage_onset_at", "onset_at")
STATEMENT_COLUMNS = ("first_statement_at", "official_statement_at", "statement_at")
# A rise counts when it stays above the baseline by this many robust standard deviations (MAD * 1.4826) for
# SUSTAIN samples in a row: one noisy minute does not make an outage.
NOISE_SIGMAS = 5.0
MIN_RISE = 3.0
SUSTAIN = 3


def complaint_series(signals: pd.DataFrame) -> pd.DataFrame:
    """Complaint counts summed per timestamp (all sources of the story's window)."""
    if signals.empty:
        return pd.DataFrame(columns=["ts", "value"])
    rows = signals[signals["kind"] == "complaints"]
    if rows.empty:
        return pd.DataFrame(columns=["ts", "value"])
    return rows.groupby("ts", as_index=False)["value"].sum().sort_values("ts").reset_index(drop=True)


def detect_onset(series: pd.DataFrame) -> pd.Timestamp | None:
    """Where a sustained rise above the baseline begins (not its peak), or None."""
    if len(series) < SUSTAIN + 3:
        return None
    values = series["value"].astype(float).tolist()
    peak = max(range(len(values)), key=values.__getitem__)
    head = values[: max(3, peak // 2)] if peak > 3 else values[:3]
    baseline = float(pd.Series(head).median())
    spread = float((pd.Series(head) - baseline).abs().median()) * 1.4826
    threshold = baseline + max(NOISE_SIGMAS * spread, MIN_RISE, 0.5 * baseline)
    for index in range(len(values) - SUSTAIN + 1):
        if all(v > threshold for v in values[index : index + SUSTAIN]):
            start = index
            while start > 0 and baseline < values[start - 1] < values[start]:
                start -= 1
            return pd.Timestamp(series["ts"].iloc[start])
    return None


def markers_for(info: dict[str, Any], signals: pd.DataFrame) -> list[Marker]:
    """The onset rule and official-statement rules for a story. ``info`` is the story's row, merged with its
    ``story_outages`` row where the first-report stage linked one."""
    markers: list[Marker] = []
    onset = _first_value(info, ONSET_COLUMNS)
    if onset is None:
        onset = detect_onset(complaint_series(signals))
    if onset is not None:
        markers.append(Marker(pd.Timestamp(onset), "complaints rise", "onset"))
    statement = _first_value(info, STATEMENT_COLUMNS)
    statuses = signals[signals["kind"] == "status"] if not signals.empty else signals
    if statement is not None:
        label = str(info.get("statement_text") or "official statement").strip()
        markers.append(Marker(pd.Timestamp(statement), label, "statement"))
    elif not statuses.empty:
        for row in statuses.head(3).itertuples():
            label = str(row.text or "status update").strip()
            markers.append(Marker(pd.Timestamp(row.ts), label, "statement"))
    return markers


def _first_value(info: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        value = info.get(name)
        if value is not None and not pd.isna(value):
            return value
    return None
