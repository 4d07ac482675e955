"""The ``scooptrace`` command: a thin shell over the library. Exit status: 0 done (even if some feeds or
pages failed), 1 fatal (database cannot be written), 2 bad usage or invalid input file, 3 every feed due in an
ingest run failed (no network?), 75 another writer holds the database."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from common.errors import AllFeedsFailedError, ScooptraceError
from common.text import plural
from scooptrace.commands import alerts, app, demo, signals, stories
from scooptrace.options import build_settings, db_options, emit_summary


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO; scooptrace writes its own one line per feed and page.
    logging.getLogger("httpx").setLevel(logging.WARNING)


class ScooptraceGroup(click.Group):
    """The ``scooptrace`` group: an error raised on purpose becomes one line on stderr and its exit status,
    the same under ``main()`` and click's test runner."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ScooptraceError as exc:
            click.echo(f"scooptrace: error: {exc}", err=True)
            ctx.exit(exc.exit_code)


@click.group(cls=ScooptraceGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
@click.version_option(package_name="scooptrace")
def cli(verbose: bool) -> None:
    """scooptrace: watch news feeds, group coverage into stories, find who reported first."""
    setup_logging(verbose)


@cli.command()
@db_options
@click.option("--feeds", "feeds_file", type=click.Path(dir_okay=False), help="OPML 2.0 or TOML feeds file.")
@click.option(
    "--allow-host", "allow_hosts", multiple=True, help="Admit a host, IP or CIDR block (repeatable)."
)
@click.option("--no-cluster", is_flag=True, help="Skip the story and first-report update.")
@click.option(
    "--shard",
    "shard_text",
    metavar="K/N",
    default=None,
    help="Handle only the feeds whose stable hash falls in shard K of N (run N workers, e.g. from cron).",
)
@click.option(
    "--workers", type=int, default=None, help="Extraction worker processes (default: one per core)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON on stdout.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: when stderr is a TTY).")
def ingest(
    db: str | None,
    config: str | None,
    feeds_file: str | None,
    allow_hosts: tuple[str, ...],
    no_cluster: bool,
    shard_text: str | None,
    workers: int | None,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Fetch every feed (conditional GET), store new entries, fetch and extract new article pages."""
    from ingest.feeds import Shard

    try:
        shard = Shard.parse(shard_text) if shard_text else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--shard") from exc
    settings = build_settings(db, config, allow_hosts=allow_hosts, workers=workers)
    show_progress = sys.stderr.isatty() if progress is None else progress
    from scooptrace import pipeline  # the stages load when a command runs, not for --help

    summary = pipeline.ingest(
        settings,
        Path(feeds_file) if feeds_file else None,
        cluster=not no_cluster,
        progress=show_progress,
        shard=shard,
    )
    emit_summary(summary, as_json)
    if summary.all_feeds_failed:
        raise AllFeedsFailedError(
            f"every feed due in this run failed ({summary.feeds_failed} of {summary.feeds_due}); is the network down?"
        )


@cli.command("import")
@db_options
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl", "parquet"]), default=None)
@click.option("--no-cluster", is_flag=True, help="Skip the story update.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def import_(
    db: str | None, config: str | None, file: str, fmt: str | None, no_cluster: bool, as_json: bool
) -> None:
    """Load articles from CSV, JSON Lines or Parquet (url, title, outlet, published_at; optional text,
    summary, language). Idempotent by url; rows with problems are reported by line and skipped."""

    settings = build_settings(db, config)
    from scooptrace import pipeline

    summary = pipeline.import_file(settings, Path(file), fmt=fmt, cluster=not no_cluster)
    if as_json:  # the JSON holds them too; a person watching the terminal sees them at once
        for line in [*summary.notes, *summary.problems]:
            click.echo(line, err=True)
    emit_summary(summary, as_json)


@cli.group()
def feeds() -> None:
    """List, add, import and export the feeds stored in the database."""


@feeds.command("list")
@db_options
@click.option("--json", "as_json", is_flag=True)
def feeds_list(db: str | None, config: str | None, as_json: bool) -> None:
    """Show every stored feed with its health."""
    from ingest.feedcmd import list_feeds

    rows = list_feeds(build_settings(db, config))
    if as_json:
        click.echo(json.dumps(rows, default=str, ensure_ascii=False, indent=2))
        return
    for row in rows:
        state = row["last_error"] or (f"HTTP {row['last_status']}" if row["last_status"] else "never fetched")
        click.echo(f"{row['outlet']}\t{row['feed_url']}\t{plural(row['n_articles'], 'article')}\t{state}")


@feeds.command("add")
@db_options
@click.argument("url")
@click.option("--outlet", help="Outlet name (default: the URL's host).")
@click.option("--language", help="ISO 639-1 language of the outlet.")
@click.option("--site", "site_url", help="The outlet's home page.")
def feeds_add(
    db: str | None,
    config: str | None,
    url: str,
    outlet: str | None,
    language: str | None,
    site_url: str | None,
) -> None:
    """Add one feed URL."""
    from ingest.feedcmd import add_feed

    spec = add_feed(build_settings(db, config), url, outlet=outlet, language=language, site_url=site_url)
    click.echo(f"added {spec.outlet}: {spec.url}")


@feeds.command("import")
@db_options
@click.argument("file", type=click.Path(dir_okay=False))
def feeds_import(db: str | None, config: str | None, file: str) -> None:
    """Add every feed of an OPML 2.0 or TOML feeds file."""
    from ingest.feedcmd import import_feeds

    added, known = import_feeds(build_settings(db, config), Path(file))
    click.echo(f"{plural(added, 'feed')} added, {known} already known")


@feeds.command("export")
@db_options
@click.option("--format", "fmt", type=click.Choice(["opml", "toml"]), default="opml")
def feeds_export(db: str | None, config: str | None, fmt: str) -> None:
    """Write the stored feeds as OPML 2.0 (or TOML) on stdout."""
    from ingest.feedcmd import export_feeds

    click.echo(export_feeds(build_settings(db, config), fmt), nl=False)


@cli.command()
@db_options
@click.argument("query", required=False)
@click.option(
    "--print-attach", is_flag=True, help="Print the statements any DuckDB 1.5 client runs to read it."
)
def sql(db: str | None, config: str | None, query: str | None, print_attach: bool) -> None:
    """The DuckDB shell on the database: read-only, views ready, offline. With QUERY, run it and print the
    result. Readers never wait for a writer and never make one fail."""
    from storage import connection

    settings = build_settings(db, config)
    statements = [
        "SET autoinstall_known_extensions = false",
        *connection.attach_statements(settings.db, settings.data_path),
    ]
    if print_attach:
        click.echo(";\n".join(statements) + ";")
        return
    connection.open_reader(settings.db, settings.data_path).close()  # a clear message when there is none
    shell = duckdb_shell()
    args = [shell, "-cmd", "; ".join(statements)]
    if query is not None:
        args += ["-c", query]
        done = subprocess.run(args, check=False)
        sys.exit(done.returncode)
    os.execv(shell, args)


def duckdb_shell() -> str:
    """The DuckDB 1.5 command-line shell of the ``duckdb-cli`` package (``.venv/bin/duckdb``)."""
    import importlib.util

    spec = importlib.util.find_spec("duckdb_cli")
    if spec is not None and spec.submodule_search_locations:
        binary = Path(next(iter(spec.submodule_search_locations))) / "duckdb"
        if binary.is_file():
            return str(binary)
    raise ScooptraceError("the duckdb shell (package duckdb-cli) is not installed: run `make install`")


@cli.command()
@click.argument("old", type=click.Path(dir_okay=False))
def migrate(old: str) -> None:
    """Move a database of the earlier single-file format (OLD.duckdb) into a DuckLake at the same path.

    Nothing is lost: every table is copied and its rows counted; the old file is kept as
    OLD.duckdb.pre-ducklake."""
    from storage.legacy import migrate_file

    report = migrate_file(Path(old))
    click.echo(report.describe())


def register_commands() -> None:
    """Add the commands of each area (stories, signals, alerts, app, demo) to the group."""
    for module in (stories, signals, alerts, app, demo):
        module.register(cli)


STOPPED_BY: list[str] = []  # the signal that stopped this process, for its one-line message


def on_sigterm(signum: int, frame: object) -> None:
    """SIGTERM is handled as Ctrl-C is (asyncio cancels its tasks, every ``with`` block unwinds: worker
    pools, the writer's lock), then reported as SIGTERM."""
    STOPPED_BY.append("SIGTERM")
    signal.raise_signal(signal.SIGINT)


def main(argv: list[str] | None = None) -> None:
    register_commands()
    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        status = cli.main(args=argv, prog_name="scooptrace", standalone_mode=False)
    except click.exceptions.Abort:
        # click turns Ctrl-C (and our SIGTERM) into Abort; one line, never a traceback
        terminated = bool(STOPPED_BY)
        # Cancelled connection attempts are collected at exit with a warning each: noise after a stop.
        warnings.filterwarnings("ignore", "coroutine .* was never awaited", RuntimeWarning)
        click.echo(f"scooptrace: stopped ({'SIGTERM' if terminated else 'Ctrl-C'})", err=True)
        sys.exit(143 if terminated else 130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ScooptraceError as exc:
        click.echo(f"scooptrace: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    # Outside standalone mode click returns an ``Exit``'s status instead of raising it.
    sys.exit(status if isinstance(status, int) else 0)
