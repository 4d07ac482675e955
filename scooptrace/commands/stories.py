"""``scooptrace cluster`` and ``scooptrace eval-clusters``: thin commands over cluster.store and the core."""

from __future__ import annotations

import json
from pathlib import Path

import click

from scooptrace.options import build_settings, db_options, emit_summary


def register(cli: click.Group) -> None:
    """Add the story commands to the ``scooptrace`` group."""

    @cli.command("cluster")
    @db_options
    @click.option(
        "--rebuild", is_flag=True, help="Recompute every story from scratch (gives the same stories)."
    )
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
    def cluster_command(db: str | None, config: str | None, rebuild: bool, as_json: bool) -> None:
        """Group articles into stories: incrementally, or from scratch with --rebuild."""
        from alerts.run import run_alerts
        from cluster.report_store import update_reports
        from cluster.store import update_stories
        from storage.connection import writer

        settings = build_settings(db, config)
        with writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as w:
            summary = update_stories(w.conn, rebuild=rebuild, workers=None)
            update_reports(w.conn, full=rebuild)
            click.echo(run_alerts(w.conn, settings).describe(), err=True)
        emit_summary(summary, as_json)

    @cli.command("eval-clusters")
    @click.argument("files", nargs=-1, type=click.Path(dir_okay=False, exists=True))
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON, one line per file.")
    @click.option("--gate", is_flag=True, help="Exit 1 when a file falls below its pinned figures.")
    @click.option(
        "--times",
        type=click.Choice(["given", "none", "concurrent"]),
        default="given",
        show_default=True,
        help="given: the files' times. none: every article at one instant (the words alone). concurrent: "
        "every gold story starts at the same instant (all bursts overlap).",
    )
    def eval_clusters(files: tuple[str, ...], as_json: bool, gate: bool, times: str) -> None:
        """Cluster labelled CSVs (columns story, title; optional url, outlet, published_at, url_date,
        language, summary, text) with the same code and print B-cubed and pairwise precision, recall and F1.
        Without FILES: both shared dev sets (when beside the checkout) and the bundled outage set."""
        if gate and times != "given":
            raise click.UsageError("--gate pins the figures with the files' own times: drop --times")
        from cluster.evaluate import default_files, evaluate_file, gate_failures, read_gate, table

        paths = [Path(file) for file in files] or default_files()
        results = [(path.name, evaluate_file(path, times=times)) for path in paths]
        if as_json:
            for path, (_, result) in zip(paths, results, strict=True):
                click.echo(json.dumps({"file": str(path), "times": times, **result.as_dict()}))
        else:
            if times != "given":
                click.echo(f"times: {times}")
            click.echo(table(results))
        if gate:
            floors = {floor.file: floor for floor in read_gate()}
            failures = [
                line
                for name, result in results
                if name in floors
                for line in gate_failures(result, floors[name])
            ]
            for line in failures:
                click.echo(f"below the gate: {line}", err=True)
            if failures:
                raise SystemExit(1)
