"""``scooptrace cluster`` and ``scooptrace eval-clusters``: thin commands over cluster.store and the core."""

from __future__ import annotations

import json
from pathlib import Path

import click

from alerts.run import run_alerts
from cluster.report_store import update_reports
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
        from cluster.store import update_stories
        from storage.connection import writer

        settings = build_settings(db, config)
        with writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as w:
            summary = update_stories(w.conn, rebuild=rebuild, workers=None)
            update_reports(w.conn, full=rebuild)
            click.echo(run_alerts(w.conn, settings).describe(), err=True)
        emit_summary(summary, as_json)

    @cli.command("eval-clusters")
    @click.argument("file", type=click.Path(dir_okay=False, exists=True))
    @click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
    def eval_clusters(file: str, as_json: bool) -> None:
        """Cluster a labelled CSV (columns story, title; optional url, outlet, published_at, language,
        summary, text) with the same code and print B-cubed and pairwise precision, recall and F1."""
        from cluster.evaluate import evaluate
        from cluster.labelled import read_labelled_csv
        from cluster.stories import cluster_articles

        labelled = read_labelled_csv(Path(file))
        assignments = cluster_articles(labelled.articles)
        result = evaluate(labelled.gold, {a.article_id: a.story_id for a in assignments})
        if as_json:
            click.echo(json.dumps({"file": file, **result.as_dict()}))
        else:
            click.echo(f"{file}\n{result.describe()}")
