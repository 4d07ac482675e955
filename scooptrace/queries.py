"""The app's queries. Their SQL is in ``storage.views`` (the public views of INTERFACE.md, read through
short-lived read-only connections); the two that replay or render alerts with the alerts stage's own code live
here, above both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from storage.connection import read_connection
from storage.views import (
    DbStatus,
    StoryFilter,
    alerts,
    db_path_from_env,
    db_status,
    feed_health,
    file_version,
    filter_choices,
    outlet_stats,
    recent_story_ids,
    schema_views,
    snapshot_version,
    stories,
    story,
    story_citations,
    story_outage,
    story_signals,
    story_timeline,
    watches,
)

__all__ = [
    "DbStatus",
    "StoryFilter",
    "alert_replay",
    "alerts",
    "alerts_atom",
    "db_path_from_env",
    "db_status",
    "feed_health",
    "file_version",
    "filter_choices",
    "outlet_stats",
    "recent_story_ids",
    "schema_views",
    "snapshot_version",
    "stories",
    "story",
    "story_citations",
    "story_outage",
    "story_signals",
    "story_timeline",
    "watches",
]


def alert_replay(db_path: Path) -> pd.DataFrame:
    """What each watch would have received had a run happened at every instant something changed (an
    article published, a complaint spike confirmed, a statement posted), and at what minute."""
    from alerts.match import load_aliases
    from alerts.params import PARAMS
    from alerts.store import load_spikes, load_story_facts, load_watches
    from alerts.triggers import replay

    conn = read_connection(db_path)
    try:
        watch_list = load_watches(conn)
        spikes = load_spikes(conn) if watch_list else []
        facts = (
            load_story_facts(conn, None, datetime.min.replace(tzinfo=UTC), PARAMS.text_chars)
            if watch_list
            else []
        )
    finally:
        conn.close()
    replayed = replay(watch_list, facts, spikes, load_aliases())
    return pd.DataFrame(
        {
            "raised_at": [a.raised_at for a in replayed],
            "watch": [a.watch for a in replayed],
            "trigger": [a.trigger for a in replayed],
            "detail": [a.detail for a in replayed],
            "story_id": [a.story_id for a in replayed],
        }
    )


def alerts_atom(db_path: Path, app_url: str | None = None) -> bytes:
    """The Atom feed of the stored alerts (the same document as ``scooptrace alerts --atom FILE``)."""
    from alerts.deliver import atom_feed
    from alerts.model import Alert
    from alerts.store import list_alerts

    conn = read_connection(db_path)
    try:
        rows = list_alerts(conn)
    finally:
        conn.close()
    items = [
        Alert(r["alert_id"], r["watch"], r["story_id"], r["trigger"], r["raised_at"], r["detail"])
        for r in rows
    ]
    return atom_feed(items, feed_id="urn:scooptrace:alerts", now=datetime.now(UTC), app_url=app_url)
