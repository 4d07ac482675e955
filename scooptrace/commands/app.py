"""``scooptrace app`` (serve the Streamlit app on the database) and ``scooptrace export`` (one story's
timeline as CSV, JSON or Parquet)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import duckdb

from common.errors import DatabaseError, UsageError
from scooptrace.options import build_settings, db_options
from scooptrace.pages import _export
from storage.connection import check_format, locate

DEFAULT_PORT = 8501


def app_script() -> Path:
    """app.py sits next to the scooptrace package (the repository's top level, or site-packages)."""
    return Path(__file__).resolve().parents[2] / "app.py"


def streamlit_command(port: int, address: str | None) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app_script()),
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "viewer",
    ]
    if address:
        command += ["--server.address", address]
    return command


def serve(command: list[str], env: dict[str, str]) -> None:
    """Become the Streamlit server (exec, same process id): a signal to ``scooptrace app`` (Ctrl-C, SIGTERM
    from a supervisor or a test) reaches Streamlit itself, and no orphaned server is left behind."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        os.execve(command[0], command, env)
    except OSError as exc:
        raise UsageError(f"cannot start streamlit: {exc}") from exc


def register(cli: click.Group) -> None:

    @cli.command("app")
    @db_options
    @click.option("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, show_default=True)
    @click.option(
        "--address", default=None, help="Address to listen on (default: Streamlit's, all interfaces)."
    )
    def app_command(db: str | None, config: str | None, port: int, address: str | None) -> None:
        """Serve the Streamlit app on the database; a story's page is http://HOST:PORT/story?id=STORY_ID."""
        from scooptrace.demo.portcheck import port_is_free

        if not port_is_free(port):
            raise UsageError(f"port {port} is already in use; pick another one: scooptrace app --port 8600")
        settings = build_settings(db, config)
        env = dict(os.environ, SCOOPTRACE_DB=str(Path(settings.db_path).resolve()))
        click.echo(f"scooptrace app on http://localhost:{port}/ (database {env['SCOOPTRACE_DB']})", err=True)
        serve(streamlit_command(port, address), env)

    @cli.command("export")
    @db_options
    @click.option(
        "--story", "story_id", required=True, help="The story's id (see the app or the stories view)."
    )
    @click.option("--format", "fmt", type=click.Choice(_export.FORMATS), default="csv", show_default=True)
    @click.option(
        "-o", "--output", type=click.Path(dir_okay=False), default=None, help="File (default: stdout)."
    )
    def export_command(
        db: str | None, config: str | None, story_id: str, fmt: str, output: str | None
    ) -> None:
        """Write one story's timeline (every article, UTC times, lag, first report, syndication)."""
        settings = build_settings(db, config)
        data = export_story(Path(settings.db_path), story_id, fmt)
        if output:
            Path(output).write_bytes(data)
            click.echo(f"wrote {output}", err=True)
        elif fmt == "parquet" and sys.stdout.isatty():
            raise UsageError("Parquet is binary: give -o FILE (or redirect stdout)")
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()


def export_story(db_path: Path, story_id: str, fmt: str) -> bytes:
    """The bytes ``scooptrace export`` writes; UsageError for a missing database, view or story."""
    check_format(locate(db_path))  # a file that is no database: said once, exit 2
    from scooptrace import queries  # pandas and the views: loaded when used, not for every command

    status = queries.db_status(db_path)
    if not status.exists:
        raise UsageError(f"no database at {db_path}: run `scooptrace ingest` or `scooptrace import` first")
    if status.error is not None:
        raise DatabaseError(status.error)
    if not status.has("stories", "story_timeline"):
        raise UsageError(f"{db_path} has no stories yet: run `scooptrace cluster` first")
    try:
        info = queries.story(db_path, story_id)
        if info is None:
            raise UsageError(f"no story with id {story_id!r} in {db_path}")
        timeline = queries.story_timeline(db_path, story_id)
    except duckdb.Error as exc:
        raise DatabaseError(f"cannot read {db_path}: {exc}") from exc
    return _export.to_bytes(info, timeline, fmt)
