"""The pipeline: the stages in order. Ingest (or import) stores articles; then, one run at a time for the whole
database, stories, first reports and citations, and alerts. Only this module knows the order; the stages never
import each other."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import duckdb

from alerts.run import run_alerts
from cluster.report_store import update_reports
from cluster.store import update_stories as cluster_update
from common.settings import Settings
from ingest.feeds import Shard
from ingest.importer import ImportSummary, run_import
from ingest.run import IngestSummary, run_ingest
from storage import connection as db

log = logging.getLogger("scooptrace.pipeline")

# A run that finishes while another run (another shard) updates the stories waits this long for its turn (the
# story update of a big run takes minutes, not hours); each update picks up every article not yet clustered.
STORIES_LOCK_WAIT_SECONDS = 600.0


def ingest(
    settings: Settings, feeds_file: Path | None, *, cluster: bool, progress: bool, shard: Shard | None = None
) -> IngestSummary:
    """``scooptrace ingest``: fetch and store, then (unless ``cluster`` is false) the later stages."""
    started = time.monotonic()
    summary = run_ingest(settings, feeds_file, progress=progress, shard=shard)
    if cluster:
        summary.cluster, summary.cluster_text = update_all(settings)
        summary.seconds = round(time.monotonic() - started, 2)
    return summary


def import_file(settings: Settings, path: Path, *, fmt: str | None, cluster: bool) -> ImportSummary:
    """``scooptrace import``: load the file, then (unless ``cluster`` is false) the later stages."""
    started = time.monotonic()
    summary = run_import(settings, path, fmt=fmt)
    if cluster:
        summary.cluster, summary.cluster_text = update_all(settings)
        summary.seconds = round(time.monotonic() - started, 2)
    return summary


def update_all(settings: Settings) -> tuple[dict[str, Any] | None, str]:
    """The stages after ingest, under the database-wide ``stories`` lock (shards take turns)."""
    wait = max(settings.lock_wait_seconds, STORIES_LOCK_WAIT_SECONDS)
    with db.writer(settings.db, wait, scope="stories", data_path=settings.data_path) as writer:
        return update_stories(writer.conn, settings)


def update_stories(
    conn: duckdb.DuckDBPyConnection, settings: Settings | None = None
) -> tuple[dict[str, Any] | None, str]:
    """The story, first-report and (with settings) alert stages: their figures (for --json) and their
    one-line summaries."""
    stories = cluster_update(conn)
    reports = update_reports(conn)
    figures: dict[str, Any] = stories.as_dict()
    figures["reports"] = reports.as_dict()
    text = f"{stories.describe()}\n{reports.describe()}"
    if settings is not None:
        figures["alerts"], alerts_text = update_alerts(conn, settings)
        text += f"\n{alerts_text}"
    return figures, text


def update_alerts(conn: duckdb.DuckDBPyConnection, settings: Settings) -> tuple[dict[str, Any], str]:
    """The alerts stage after the stories are updated. It never fails the run: an error is logged and
    reported in the summary, and the alerts are raised by the next run."""
    try:
        summary = run_alerts(conn, settings)
    except Exception as exc:
        log.exception("alerts stage failed; the next run raises what this one could not")
        return {"error": f"{type(exc).__name__}: {exc}"}, f"alerts: failed ({type(exc).__name__}: {exc})"
    return summary.as_dict(), summary.describe()
