"""The SQL of outage signals: imported points (``signal``), detected spikes (``signal_spike``) and their
links to stories (``story_signal``). Plain data in and out; ``cluster.report_store`` converts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple, dataclass
from datetime import datetime

from storage.helpers import Conn, registered, utc


@dataclass(frozen=True)
class SignalRecord:
    """One imported signal point (a complaint count or a status statement); ``ts`` in UTC."""

    source: str
    service: str
    ts: datetime
    value: float | None
    kind: str
    text: str | None


@dataclass(frozen=True)
class SpikeRecord:
    """A complaint spike as detected: onset, the minute it was confirmed, and its peak."""

    service: str
    onset_at: datetime
    detected_at: datetime
    peak_at: datetime
    peak_value: float


@dataclass(frozen=True)
class StoryTextRecord:
    """What lines a story up with a service: its headline and member titles, its span and first outlet."""

    story_id: str
    text: str
    first_published_at: datetime
    last_published_at: datetime
    first_outlet: str


@dataclass(frozen=True)
class StorySignalRecord:
    """One row of ``story_signal`` (its ``computed_at`` is the time of writing)."""

    story_id: str
    service: str
    onset_at: datetime | None
    peak_at: datetime | None
    peak_value: float | None
    first_report_at: datetime
    lag_seconds: int | None
    statement_at: datetime | None
    statement_text: str | None
    summary: str


def replace_signals(
    conn: Conn, sources: Sequence[str], rows: Sequence[tuple[str, SignalRecord]], now: datetime
) -> None:
    """Drop every signal of these sources, then store the (signal_id, record) rows given."""
    for source in sources:
        conn.execute("DELETE FROM signal WHERE source = ?", [source])
    if rows:
        conn.executemany(
            "INSERT INTO signal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [[signal_id, r.source, r.service, r.ts, r.value, r.kind, r.text, now] for signal_id, r in rows],
        )


def signals_fingerprint(conn: Conn) -> str:
    """Changes whenever signals are imported or removed: their count and the newest import time."""
    row = conn.execute(
        "SELECT count(*) || '/' || coalesce(max(imported_at)::VARCHAR, '') FROM signal"
    ).fetchone()
    return str(row[0]) if row else ""


def load_signals(conn: Conn) -> list[SignalRecord]:
    """Every stored signal point, by service and time."""
    rows = conn.execute(
        "SELECT source, service, ts, value, kind, text FROM signal ORDER BY service, ts"
    ).fetchall()
    return [
        SignalRecord(source, service, utc(ts), value, kind, text)
        for source, service, ts, value, kind, text in rows
    ]


def replace_spikes(conn: Conn, spikes: Sequence[SpikeRecord], now: datetime) -> None:
    """Every complaint spike, linked to a story or not (the alerts stage reads them), replaced as a whole."""
    conn.execute("DELETE FROM signal_spike")
    if spikes:
        conn.executemany(
            "INSERT INTO signal_spike VALUES (?, ?, ?, ?, ?, ?)",
            [[s.service, s.onset_at, s.detected_at, s.peak_at, s.peak_value, now] for s in spikes],
        )


def load_spikes(conn: Conn) -> list[SpikeRecord]:
    """Every stored complaint spike, by onset then service."""
    rows = conn.execute(
        "SELECT service, onset_at, detected_at, peak_at, peak_value FROM signal_spike ORDER BY onset_at, service"
    ).fetchall()
    return [SpikeRecord(s, utc(o), utc(d), utc(p), float(v)) for s, o, d, p, v in rows]


def clear_story_signals(conn: Conn) -> None:
    """Forget every story-signal link (the signals changed: all stories are lined up again)."""
    conn.execute("DELETE FROM story_signal")


def forget_removed_stories(conn: Conn) -> None:
    """Drop the signal links of stories that no longer exist."""
    conn.execute("DELETE FROM story_signal WHERE story_id NOT IN (SELECT story_id FROM story)")


_STORY_TEXTS_SQL = """
SELECT s.story_id, coalesce(s.headline, '') || chr(10) || coalesce(string_agg(a.title, chr(10)), ''),
       s.first_published_at, s.last_published_at, coalesce(s.first_outlet, '')
FROM stories s
JOIN story_member m ON m.story_id = s.story_id
JOIN article a ON a.article_id = m.article_id
WHERE s.story_id IN (SELECT story_id FROM report_stories)
GROUP BY s.story_id, s.headline, s.first_published_at, s.last_published_at, s.first_outlet
ORDER BY s.story_id
"""


def story_texts(conn: Conn, story_ids: Sequence[str]) -> list[StoryTextRecord]:
    """Headline and member titles of these stories, with their first and last publication, by story id."""
    with registered(conn, "report_stories", {"story_id": list(story_ids)}):
        rows = conn.execute(_STORY_TEXTS_SQL).fetchall()
    return [
        StoryTextRecord(sid, text, utc(first), utc(last), outlet) for sid, text, first, last, outlet in rows
    ]


def replace_story_signals(
    conn: Conn, story_ids: Sequence[str], links: Sequence[StorySignalRecord], now: datetime
) -> None:
    """Replace the signal links of these stories with the links given."""
    with registered(conn, "report_stories", {"story_id": list(story_ids)}):
        conn.execute("DELETE FROM story_signal WHERE story_id IN (SELECT story_id FROM report_stories)")
    if links:
        conn.executemany(
            "INSERT INTO story_signal VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [[*astuple(o), now] for o in links],
        )
