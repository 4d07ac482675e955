"""``run_alerts``: the alerts stage of a pipeline run, called after the stories, first reports and signal links
are updated (ingest, import, cluster, signals import). Raise first (alerts and their pending deliveries in one
transaction), then deliver what is due, within a time budget. Delivery failures never raise.
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from alerts import store
from alerts.deliver import DeliverySummary, deliver_pending
from alerts.match import load_aliases
from alerts.model import Alert
from alerts.params import PARAMS, AlertParams
from alerts.triggers import new_alerts
from common.settings import Settings

log = logging.getLogger("scooptrace.alerts")
LAST_RUN_KEY = "last_run_at"


@dataclass(frozen=True)
class AlertSummary:
    watches: int
    stories_checked: int
    raised: int
    delivered: int
    delivery_failed: int
    left_pending: int
    raise_seconds: float
    deliver_seconds: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        return (
            f"alerts: {self.watches} watches, {self.stories_checked} stories checked, {self.raised} raised, "
            f"{self.delivered} delivered, {self.delivery_failed} failed, {self.left_pending} left pending, "
            f"{self.raise_seconds + self.deliver_seconds:.2f}s"
        )


def run_alerts(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    now: datetime | None = None,
    *,
    deliver: bool = True,
    params: AlertParams = PARAMS,
) -> AlertSummary:
    """Raise the alerts the stored facts call for, then deliver every due delivery."""
    now = now or datetime.now(UTC)
    started = time.monotonic()
    watches, checked, raised = raise_alerts(conn, now, params)
    raised_done = time.monotonic()
    sent = DeliverySummary()
    if deliver:
        sent = deliver_pending(conn, settings.alerts, now, params)
    return AlertSummary(
        watches,
        checked,
        len(raised),
        sent.delivered,
        sent.failed,
        sent.left_pending,
        round(raised_done - started, 4),
        round(time.monotonic() - raised_done, 4),
    )


def raise_alerts(
    conn: duckdb.DuckDBPyConnection, now: datetime, params: AlertParams = PARAMS
) -> tuple[int, int, list[Alert]]:
    """Store new alerts and one pending delivery per configured channel, in one transaction.
    Returns (watches, stories checked, alerts raised)."""
    watches = store.load_watches(conn)
    if not watches:
        return 0, 0, []
    since = _changed_since(conn)
    spikes = store.load_spikes(conn)
    stories = store.load_story_facts(conn, since, now - params.spike_max_age, params.text_chars)
    candidates = new_alerts(watches, stories, spikes, (), now, load_aliases(), params)
    known = store.existing_alert_ids(conn, [a.alert_id for a in candidates])
    fresh = [a for a in candidates if a.alert_id not in known]
    by_name = {w.name: w for w in watches}
    deliveries = [
        (alert.alert_id, channel, target)
        for alert in fresh
        for channel, target in (
            ("webhook", by_name[alert.watch].webhook),
            ("email", by_name[alert.watch].email),
        )
        if target
    ]
    with store.transaction(conn):
        store.insert_alerts(conn, fresh)
        store.insert_deliveries(conn, deliveries, now)
        store.set_state(conn, LAST_RUN_KEY, now.isoformat())
    for alert in fresh:
        log.info("alert raised watch=%s trigger=%s story=%s", alert.watch, alert.trigger, alert.story_id)
    return len(watches), len(stories), fresh


def _changed_since(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """Stories changed since the last run need a look; all of them when a watch is newer than that run."""
    last = store.get_state(conn, LAST_RUN_KEY)
    if last is None:
        return None
    last_at = datetime.fromisoformat(last)
    newest_watch = store.newest_watch_at(conn)
    if newest_watch is not None and newest_watch >= last_at:
        return None
    return last_at
