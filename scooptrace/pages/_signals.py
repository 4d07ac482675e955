"""The outage signal around a story, for the timeline: the complaint series, the spike onset and official
statements. The spike onset is the one the signals stage stored (stories.spike_onset_at, story_outages.onset_at):
the page never finds one of its own, so it shows what the alerts and the SQL see."""

from __future__ import annotations

from typing import Any

import pandas as pd

from scooptrace.pages._chart import Marker

ONSET_COLUMNS = ("spike_onset_at", "signal_onset_at", "outage_onset_at", "onset_at")
STATEMENT_COLUMNS = ("first_statement_at", "official_statement_at", "statement_at")


def complaint_series(signals: pd.DataFrame) -> pd.DataFrame:
    """Complaint counts summed per timestamp (all sources of the story's window)."""
    if signals.empty:
        return pd.DataFrame(columns=["ts", "value"])
    rows = signals[signals["kind"] == "complaints"]
    if rows.empty:
        return pd.DataFrame(columns=["ts", "value"])
    return rows.groupby("ts", as_index=False)["value"].sum().sort_values("ts").reset_index(drop=True)


def markers_for(info: dict[str, Any], signals: pd.DataFrame) -> list[Marker]:
    """The onset rule and official-statement rules for a story. ``info`` is the story's row, merged with its
    ``story_outages`` row where the first-report stage linked one."""
    markers: list[Marker] = []
    onset = _first_value(info, ONSET_COLUMNS)
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
