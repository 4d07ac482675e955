"""The alerts stage's side of ``storage.alerts`` and ``storage.signals``: the same calls, in the stage's own
contracts (``alerts.model``). No SQL here; every statement lives in ``storage/``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb

from alerts.model import Alert, MemberFacts, SpikeFacts, StoryFacts, Watch
from storage import alerts as rows
from storage import signals as signal_rows
from storage.alerts import (
    delete_watch,
    existing_alert_ids,
    get_state,
    insert_deliveries,
    list_alerts,
    mark_delivered,
    mark_failed,
    newest_watch_at,
    set_state,
)
from storage.helpers import transaction

Conn = duckdb.DuckDBPyConnection
# Calls that take and return plain data are storage's own, re-exported as they are.
__all__ = [
    "PendingDelivery",
    "delete_watch",
    "existing_alert_ids",
    "get_state",
    "insert_alerts",
    "insert_deliveries",
    "insert_watch",
    "list_alerts",
    "load_spikes",
    "load_story_facts",
    "load_watches",
    "mark_delivered",
    "mark_failed",
    "newest_watch_at",
    "pending_deliveries",
    "set_state",
    "transaction",
]


@dataclass(frozen=True)
class PendingDelivery:
    alert: Alert
    channel: str
    target: str
    failures: int


# --- watches -------------------------------------------------------------------------------------------


def insert_watch(conn: Conn, watch: Watch, now: datetime) -> bool:
    """Add a watch unless one of that name exists; returns whether it was added."""
    record = rows.WatchRecord(
        watch.name,
        watch.terms,
        tuple(watch.outlets),
        tuple(watch.languages),
        watch.min_outlets,
        watch.webhook,
        watch.email,
    )
    return rows.insert_watch(conn, record, now)


def load_watches(conn: Conn) -> list[Watch]:
    """Every watch, by name."""
    return [
        Watch(r.name, r.terms, r.outlets, r.languages, r.min_outlets, r.webhook, r.email)
        for r in rows.load_watches(conn)
    ]


# --- facts ---------------------------------------------------------------------------------------------


def _story_facts(r: rows.StoryFactsRecord) -> StoryFacts:
    return StoryFacts(
        story_id=r.story_id,
        headline=r.headline,
        first_outlet=r.first_outlet,
        first_published_at=r.first_published_at,
        first_report_evidence=r.first_report_evidence,
        members=tuple(MemberFacts(m.outlet, m.language, m.published_at, m.title, m.text) for m in r.members),
        outage_service=r.outage_service,
        spike_onset_at=r.spike_onset_at,
        statement_at=r.statement_at,
        statement_text=r.statement_text,
    )


def load_story_facts(
    conn: Conn, changed_since: datetime | None, spikes_since: datetime, text_chars: int
) -> list[StoryFacts]:
    """Stories changed since ``changed_since`` (all when None) and those linked to a spike since
    ``spikes_since`` (see ``storage.alerts.load_story_facts``)."""
    return [_story_facts(r) for r in rows.load_story_facts(conn, changed_since, spikes_since, text_chars)]


def load_spikes(conn: Conn) -> list[SpikeFacts]:
    """Every stored complaint spike, by onset then service."""
    return [
        SpikeFacts(s.service, s.onset_at, s.detected_at, s.peak_at, s.peak_value)
        for s in signal_rows.load_spikes(conn)
    ]


# --- alerts and deliveries -----------------------------------------------------------------------------


def insert_alerts(conn: Conn, alerts: Sequence[Alert]) -> int:
    """Store alerts whose id is not stored yet; returns how many were new."""
    records = [
        rows.AlertRecord(a.alert_id, a.watch, a.story_id, a.trigger, a.raised_at, a.detail, a.data)
        for a in alerts
    ]
    return rows.insert_alerts(conn, records)


def pending_deliveries(conn: Conn, now: datetime) -> list[PendingDelivery]:
    """Deliveries due now: pending, and past their retry time."""
    return [
        PendingDelivery(_alert(d.alert), d.channel, d.target, d.failures)
        for d in rows.pending_deliveries(conn, now)
    ]


def _alert(r: rows.AlertRecord) -> Alert:
    return Alert(r.alert_id, r.watch, r.story_id, r.trigger, r.raised_at, r.detail, dict(r.data))
