"""The ``scooptrace`` command: a thin shell over the library. Exit status: 0 done (even if some feeds or
pages failed), 1 fatal (database cannot be written), 2 bad usage or invalid input file, 3 every feed due in an
ingest run failed (no network?), 75 another writer holds the database."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from scooptrace.errors import AllFeedsFailedError, ScooptraceError
from scooptrace.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def db_options(
    func: F, db_help: str = "DuckDB file (default: $SCOOPTRACE_DB, else ./scooptrace.duckdb)."
) -> F:
    """``--db`` and ``--config`` on every command, as INTERFACE.md promises."""
    func = click.option(
        "--config",
        type=click.Path(dir_okay=False),
        default=None,
        help="TOML settings file (default: $SCOOPTRACE_CONFIG).",
    )(func)
    func = click.option("--db", type=click.Path(dir_okay=False), default=None, help=db_help)(func)
    return func


def build_settings(db: str | None, config: str | None, **flags: Any) -> Settings:
    return load_settings(db=db, config=config, **flags)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    # httpx logs every request at INFO; scooptrace writes its own one line per feed and page.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    workers: int | None,
    as_json: bool,
    progress: bool | None,
) -> None:
    """Fetch every feed (conditional GET), store new entries, fetch and extract new article pages."""
    from ingest.run import run_ingest

    settings = build_settings(db, config, allow_hosts=allow_hosts, workers=workers)
    show_progress = sys.stderr.isatty() if progress is None else progress
    summary = run_ingest(
        settings, Path(feeds_file) if feeds_file else None, cluster=not no_cluster, progress=show_progress
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
    from ingest.importer import run_import

    settings = build_settings(db, config)
    summary = run_import(settings, Path(file), fmt=fmt, cluster=not no_cluster)
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
        click.echo(f"{row['outlet']}\t{row['feed_url']}\t{row['n_articles']} articles\t{state}")


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
    click.echo(f"{added} feeds added, {known} already known")


@feeds.command("export")
@db_options
@click.option("--format", "fmt", type=click.Choice(["opml", "toml"]), default="opml")
def feeds_export(db: str | None, config: str | None, fmt: str) -> None:
    """Write the stored feeds as OPML 2.0 (or TOML) on stdout."""
    from ingest.feedcmd import export_feeds

    click.echo(export_feeds(build_settings(db, config), fmt), nl=False)


def emit_summary(summary: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, default=str))
    else:
        click.echo(summary.describe(), err=True)


def register_optional_commands() -> None:
    """Commands that live with their own stage (cluster, signals, app, demo, export)."""
    import importlib

    # Each stage owns its commands in its own module, with a ``register(cli)`` function.
    for module_name in ("cluster.cli", "cluster.report_cli", "scooptrace.app_cli", "scooptrace.demo.cli"):
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        module.register(cli)


def main(argv: list[str] | None = None) -> None:
    register_optional_commands()
    try:
        cli.main(args=argv, prog_name="scooptrace", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except ScooptraceError as exc:
        click.echo(f"scooptrace: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    sys.exit(0)
