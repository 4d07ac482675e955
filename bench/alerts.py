"""The cost of alerting per ingest run: the alerts stage's time beside the rest of the run, side by side.

A database is filled through the real import (articles, clustering, first reports), with real headline
wording (../shared/data/uci-slugs-dev.csv when present, and tests/data/cluster_outages.csv) repeated in copies
shifted by three days. Then WATCHES watches are added and:
1. one alerts run over every story (what the first run after adding a watch costs);
2. RUNS incremental runs, each importing one more copy (new articles, as an hourly ingest would), where the
   alerts stage looks only at the stories that changed. Delivery is not timed (no channel configured): it is
   network time, bounded by ``delivery_budget_seconds``.

    .venv/bin/python bench/alerts.py                  # 5,000 articles, 20 watches, 3 runs
    .venv/bin/python bench/alerts.py --articles 20000 --watches 50
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# This script is bench/alerts.py: without this, ``import alerts`` would find the script instead of the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
SOURCES = [
    ROOT.parent / "shared" / "data" / "uci-slugs-dev.csv",
    ROOT / "tests" / "data" / "cluster_outages.csv",
]
START = datetime(2024, 1, 1, tzinfo=UTC)
COPY_SHIFT = timedelta(days=3)
TERMS = [
    "Amazon outage", "AWS outage", "Microsoft outage", "Teams outage", "Google outage", "Apple outage",
    "Meta outage", "WhatsApp outage", "Cloudflare outage", "outage", "Amazon", "Microsoft", "Google", "Apple",
    "earnings", "launch", "hack", "layoffs", "earthquake", "Tesla",
]  # fmt: skip


def source_rows() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in SOURCES:
        if path.exists():
            with open(path, newline="", encoding="utf-8") as handle:
                rows.extend(r for r in csv.DictReader(handle) if (r.get("title") or "").strip())
    return rows


def write_copy(path: Path, rows: list[dict[str, str]], copy: int, count: int) -> None:
    """``count`` articles of copy number ``copy``: the rows spread over a day, three days after the last copy."""
    base = START + copy * COPY_SHIFT
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["url", "title", "outlet", "published_at", "language", "summary"])
        for i in range(count):
            row = rows[i % len(rows)]
            at = base + timedelta(seconds=(i * 7919) % 86_400)
            outlet = row.get("outlet") or row.get("publisher") or f"outlet{i % 40}"
            url = f"https://bench.example/{copy}/{i}"
            out.writerow(
                [
                    url,
                    row["title"],
                    outlet,
                    at.isoformat(),
                    row.get("language") or "en",
                    row.get("summary") or "",
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=5000, help="articles before the watches are added")
    parser.add_argument("--watches", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-run", type=int, default=300, help="articles each incremental run imports")
    args = parser.parse_args()

    from alerts.model import Watch
    from alerts.run import run_alerts
    from alerts.store import insert_watch
    from common.settings import load_settings
    from scooptrace.pipeline import import_file
    from storage.connection import writer

    rows = source_rows()
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(db=str(Path(tmp) / "bench.duckdb"), env={})
        copies = max(1, args.articles // len(rows))
        per_copy = args.articles // copies
        for copy in range(copies):
            write_copy(Path(tmp) / "base.csv", rows, copy, per_copy)
            import_file(settings, Path(tmp) / "base.csv", fmt=None, cluster=True)
        with writer(settings.db) as w:
            for i in range(args.watches):
                insert_watch(
                    w.conn,
                    Watch(f"w{i}", TERMS[i % len(TERMS)] + ("" if i < len(TERMS) else f" {i}")),
                    datetime.now(UTC),
                )
            n_stories = w.conn.execute("SELECT count(*) FROM story").fetchone()[0]  # type: ignore[index]
            started = time.monotonic()
            first = run_alerts(w.conn, settings, deliver=False)
            full_seconds = time.monotonic() - started
        print(f"database: {copies * per_copy:,} articles in {n_stories:,} stories, {args.watches} watches")
        print(
            f"first alerts run over every story: {full_seconds:.2f}s for {first.stories_checked:,} stories "
            f"({1000 * full_seconds / max(1, first.stories_checked):.2f} ms per story), {first.raised:,} alerts raised"
        )
        print(
            f"{'run':>4} {'new articles':>13} {'stories checked':>16} {'rest of run s':>14} {'alerts s':>9} {'alerts/rest':>12} {'ms/story':>9}"
        )
        for run in range(args.runs):
            write_copy(Path(tmp) / "run.csv", rows, copies + run, args.per_run)
            summary = import_file(settings, Path(tmp) / "run.csv", fmt=None, cluster=True)
            figures = (summary.cluster or {}).get("alerts", {})
            alerts_seconds = figures.get("raise_seconds", 0.0) + figures.get("deliver_seconds", 0.0)
            rest = summary.seconds - alerts_seconds
            checked = figures.get("stories_checked", 0)
            print(
                f"{run + 1:>4} {args.per_run:>13,} {checked:>16,} {rest:>14.2f} {alerts_seconds:>9.3f} "
                f"{alerts_seconds / rest:>12.1%} {1000 * alerts_seconds / max(1, checked):>9.2f}"
            )


if __name__ == "__main__":
    main()
