"""The SQL of the alerts stage: watches, alerts, their deliveries, the stage's run state, and the story facts
the triggers read. Plain data in and out (the records below, tuples, dicts); ``alerts.store`` converts.

No keys, no ON CONFLICT, no indexes (DuckLake has none): idempotence comes from anti-joins. An alert and one
``alert_delivery`` row per channel ('pending') are written in one transaction by the caller; a channel's row
becomes 'delivered' only after the receiver accepted the message, so a run killed after raising leaves the rows
pending and the next run delivers them. Nothing is raised twice: alert ids are digests and the insert skips ids
already stored.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pyarrow as pa

from storage.helpers import Conn, affected, registered, utc, utc_or_none


@dataclass(frozen=True)
class WatchRecord:
    """One row of ``watch`` (its ``created_at`` is given when it is added)."""

    name: str
    terms: str
    outlets: tuple[str, ...]
    languages: tuple[str, ...]
    min_outlets: int | None
    webhook: str | None
    email: str | None


@dataclass(frozen=True)
class MemberFactsRecord:
    """One article of a story as the triggers read it; ``text`` cut to the length asked for."""

    outlet: str
    language: str | None
    published_at: datetime
    title: str
    text: str


@dataclass(frozen=True)
class StoryFactsRecord:
    """What the stories, first-report and signals stages stored about a story; instants in UTC."""

    story_id: str
    headline: str
    first_outlet: str | None
    first_published_at: datetime
    first_report_evidence: str | None
    members: tuple[MemberFactsRecord, ...]
    outage_service: str | None
    spike_onset_at: datetime | None
    statement_at: datetime | None
    statement_text: str | None


@dataclass(frozen=True)
class AlertRecord:
    """One row of ``alert``; ``data`` is stored as JSON."""

    alert_id: str
    watch: str
    story_id: str
    trigger: str
    raised_at: datetime
    detail: str
    data: Mapping[str, str]


@dataclass(frozen=True)
class DeliveryRecord:
    """A delivery due now: the alert, the channel and target, and how often it failed so far."""

    alert: AlertRecord
    channel: str
    target: str
    failures: int


# --- watches -------------------------------------------------------------------------------------------


def insert_watch(conn: Conn, watch: WatchRecord, now: datetime) -> bool:
    """Add a watch unless one of that name exists; returns whether it was added."""
    row = conn.execute(
        """
        INSERT INTO watch
        SELECT ?, ?, ?::VARCHAR[], ?::VARCHAR[], ?, ?, ?, ?
        WHERE NOT EXISTS (SELECT 1 FROM watch WHERE name = ?)
        """,
        [
            watch.name,
            watch.terms,
            list(watch.outlets),
            list(watch.languages),
            watch.min_outlets,
            watch.webhook,
            watch.email,
            now,
            watch.name,
        ],
    ).fetchone()
    return affected(row) > 0


def delete_watch(conn: Conn, name: str) -> int:
    """Remove a watch by name (its alerts stay, as history); returns the rows removed."""
    return affected(conn.execute("DELETE FROM watch WHERE name = ?", [name]).fetchone())


def load_watches(conn: Conn) -> list[WatchRecord]:
    """Every watch, by name."""
    rows = conn.execute(
        "SELECT name, terms, outlets, languages, min_outlets, webhook, email FROM watch ORDER BY name"
    ).fetchall()
    return [
        WatchRecord(name, terms, tuple(outlets or ()), tuple(languages or ()), min_outlets, webhook, email)
        for name, terms, outlets, languages, min_outlets, webhook, email in rows
    ]


def newest_watch_at(conn: Conn) -> datetime | None:
    """When the newest watch was added (None without watches)."""
    row = conn.execute("SELECT max(created_at) FROM watch").fetchone()
    return utc(row[0]) if row and row[0] is not None else None


# --- story facts ---------------------------------------------------------------------------------------

_STORIES_SQL = """
SELECT s.story_id, coalesce(s.headline, ''), s.first_outlet, s.first_published_at, s.first_report_evidence,
       s.outage_service, s.spike_onset_at, s.first_statement_at, s.statement_text
FROM stories s
WHERE s.first_published_at IS NOT NULL AND (
    CAST(? AS TIMESTAMPTZ) IS NULL
    OR s.updated_at >= ?
    OR s.story_id IN (SELECT story_id FROM story_report WHERE computed_at >= ?)
    OR s.story_id IN (SELECT story_id FROM story_signal WHERE computed_at >= ?)
    OR s.story_id IN (SELECT g.story_id FROM story_signal g JOIN signal_spike p
                      ON p.service = g.service AND p.onset_at = g.onset_at WHERE p.computed_at >= ?)
    OR s.story_id IN (SELECT g.story_id FROM story_signal g JOIN signal_spike p
                      ON p.service = g.service AND p.onset_at = g.onset_at WHERE p.onset_at >= ?))
ORDER BY s.story_id
"""

_MEMBERS_SQL = """
SELECT m.story_id, coalesce(a.outlet, ''), a.language, a.published_at, coalesce(a.title, ''),
       left(coalesce(nullif(a.text, ''), a.summary, ''), ?)
FROM story_member m JOIN article a ON a.article_id = m.article_id
WHERE m.story_id IN (SELECT story_id FROM alert_story_ids)
ORDER BY m.story_id, a.published_at, a.article_id
"""


def _story_members(
    conn: Conn, story_ids: Sequence[str], text_chars: int
) -> dict[str, list[MemberFactsRecord]]:
    """The members of these stories, by story, oldest first."""
    with registered(conn, "alert_story_ids", {"story_id": pa.array(list(story_ids), type=pa.string())}):
        rows = conn.execute(_MEMBERS_SQL, [text_chars]).fetchall()
    members: dict[str, list[MemberFactsRecord]] = {}
    for story_id, outlet, language, published_at, title, text in rows:
        members.setdefault(story_id, []).append(
            MemberFactsRecord(outlet, language, utc(published_at), title, text)
        )
    return members


def load_story_facts(
    conn: Conn, changed_since: datetime | None, spikes_since: datetime, text_chars: int
) -> list[StoryFactsRecord]:
    """Stories changed (stories, first reports, signal links) since ``changed_since`` (all when None), and
    every story linked to a spike with an onset since ``spikes_since`` (to tell which spikes are covered)."""
    since = changed_since
    stories = conn.execute(_STORIES_SQL, [since, since, since, since, since, spikes_since]).fetchall()
    if not stories:
        return []
    members = _story_members(conn, [row[0] for row in stories], text_chars)
    return [
        StoryFactsRecord(
            sid,
            headline,
            first_outlet,
            utc(first_at),
            evidence,
            tuple(members.get(sid, ())),
            service,
            utc_or_none(onset),
            utc_or_none(statement_at),
            statement_text,
        )
        for sid, headline, first_outlet, first_at, evidence, service, onset, statement_at, statement_text in stories
    ]


# --- alerts and deliveries -----------------------------------------------------------------------------


def _ids_table(alert_ids: Sequence[str]) -> dict[str, pa.Array]:
    return {"alert_id": pa.array(list(alert_ids), type=pa.string())}


def existing_alert_ids(conn: Conn, alert_ids: Sequence[str]) -> set[str]:
    """Which of these alert ids are stored already."""
    if not alert_ids:
        return set()
    with registered(conn, "alert_ids_in", _ids_table(alert_ids)):
        rows = conn.execute(
            "SELECT alert_id FROM alert WHERE alert_id IN (SELECT alert_id FROM alert_ids_in)"
        ).fetchall()
    return {row[0] for row in rows}


def insert_alerts(conn: Conn, alerts: Sequence[AlertRecord]) -> int:
    """Store alerts whose id is not stored yet (anti-join); returns how many were new."""
    if not alerts:
        return 0
    columns = {
        "alert_id": pa.array([a.alert_id for a in alerts], type=pa.string()),
        "watch": pa.array([a.watch for a in alerts], type=pa.string()),
        "story_id": pa.array([a.story_id for a in alerts], type=pa.string()),
        "trigger": pa.array([a.trigger for a in alerts], type=pa.string()),
        "raised_at": pa.array([a.raised_at for a in alerts], type=pa.timestamp("us", tz="UTC")),
        "detail": pa.array([a.detail for a in alerts], type=pa.string()),
        "data": pa.array([json.dumps(dict(a.data), ensure_ascii=False) for a in alerts], type=pa.string()),
    }
    with registered(conn, "alert_new", columns):
        row = conn.execute(
            """
            INSERT INTO alert
            SELECT n.alert_id, n.watch, n.story_id, n.trigger, n.raised_at, n.detail, n.data::JSON
            FROM alert_new n
            WHERE n.alert_id NOT IN (SELECT alert_id FROM alert)
            """
        ).fetchone()
    return affected(row)


_INSERT_DELIVERIES_SQL = """
INSERT INTO alert_delivery
SELECT n.alert_id, n.channel, n.target, 'pending', 0, ?, NULL, NULL
FROM delivery_new n
WHERE NOT EXISTS (SELECT 1 FROM alert_delivery d WHERE d.alert_id = n.alert_id AND d.channel = n.channel)
"""


def insert_deliveries(conn: Conn, rows: Sequence[tuple[str, str, str]], now: datetime) -> int:
    """(alert_id, channel, target) as 'pending', unless that alert and channel already has a row."""
    if not rows:
        return 0
    columns = {
        "alert_id": pa.array([r[0] for r in rows], type=pa.string()),
        "channel": pa.array([r[1] for r in rows], type=pa.string()),
        "target": pa.array([r[2] for r in rows], type=pa.string()),
    }
    with registered(conn, "delivery_new", columns):
        return affected(conn.execute(_INSERT_DELIVERIES_SQL, [now]).fetchone())


_PENDING_SQL = """
SELECT a.alert_id, a.watch, a.story_id, a.trigger, a.raised_at, a.detail, a.data,
       d.channel, d.target, d.failures
FROM alert_delivery d JOIN alert a USING (alert_id)
WHERE d.state = 'pending' AND d.next_attempt_at <= ?
ORDER BY d.channel, d.target, a.raised_at, a.alert_id
"""


def pending_deliveries(conn: Conn, now: datetime) -> list[DeliveryRecord]:
    """Deliveries due now: pending, and past their retry time."""
    rows = conn.execute(_PENDING_SQL, [now]).fetchall()
    return [
        DeliveryRecord(_alert_row(row[:7]), channel, target, failures)
        for *row, channel, target, failures in rows
    ]


def _alert_row(row: Sequence[Any]) -> AlertRecord:
    alert_id, watch, story_id, trigger, raised_at, detail, data = row
    parsed = json.loads(data) if isinstance(data, str) and data else {}
    return AlertRecord(alert_id, watch, story_id, trigger, utc(raised_at), detail, parsed)


def mark_delivered(conn: Conn, alert_ids: Sequence[str], channel: str, now: datetime) -> None:
    """The receiver accepted these alerts on this channel."""
    with registered(conn, "alert_ids_in", _ids_table(alert_ids)):
        conn.execute(
            """
            UPDATE alert_delivery SET state = 'delivered', delivered_at = ?, last_error = NULL
            WHERE channel = ? AND state = 'pending' AND alert_id IN (SELECT alert_id FROM alert_ids_in)
            """,
            [now, channel],
        )


def mark_failed(
    conn: Conn, alert_ids: Sequence[str], channel: str, error: str, retry_at: datetime, give_up_after: int
) -> None:
    """One more failure; past ``give_up_after`` failures the delivery is 'failed' for good."""
    with registered(conn, "alert_ids_in", _ids_table(alert_ids)):
        conn.execute(
            """
            UPDATE alert_delivery
            SET failures = failures + 1, last_error = ?, next_attempt_at = ?,
                state = CASE WHEN failures + 1 >= ? THEN 'failed' ELSE 'pending' END
            WHERE channel = ? AND state = 'pending' AND alert_id IN (SELECT alert_id FROM alert_ids_in)
            """,
            [error[:500], retry_at, give_up_after, channel],
        )


def list_alerts(conn: Conn, limit: int | None = None) -> list[dict[str, Any]]:
    """The ``alerts`` view, newest first, as plain dicts."""
    sql = (
        "SELECT alert_id, watch, story_id, trigger, raised_at, detail, delivered_at, pending_channels, "
        "failed_channels, delivery_error FROM alerts ORDER BY raised_at DESC, alert_id DESC"
    )
    result = conn.execute(sql + (f" LIMIT {int(limit)}" if limit else ""))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


# --- run state -------------------------------------------------------------------------------------------


def get_state(conn: Conn, key: str) -> str | None:
    """A value of ``alert_state`` (None when never set)."""
    row = conn.execute("SELECT max(value) FROM alert_state WHERE key = ?", [key]).fetchone()
    return row[0] if row else None


def set_state(conn: Conn, key: str, value: str) -> None:
    """Set a value of ``alert_state``."""
    conn.execute(
        "MERGE INTO alert_state t USING (SELECT ? AS key, ? AS value) s ON t.key = s.key "
        "WHEN MATCHED THEN UPDATE SET value = s.value WHEN NOT MATCHED THEN INSERT VALUES (s.key, s.value)",
        [key, value],
    )
