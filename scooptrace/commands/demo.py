"""``scooptrace demo``: the offline news world, replayed through the real pipeline, then the app."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from common.errors import UsageError
from scooptrace.demo.replay import DEFAULT_WORLD_PORT, DemoPaths
from scooptrace.options import build_settings, db_options


def register(cli: click.Group) -> None:

    @cli.command("demo")
    @functools.partial(db_options, db_help="Database file (default: build/demo/scooptrace-demo.duckdb).")
    @click.option(
        "--port", type=click.IntRange(1, 65535), default=8501, show_default=True, help="The app's port."
    )
    @click.option("--no-app", is_flag=True, help="Build the demo database and exit (for scripts).")
    @click.option("--rebuild", is_flag=True, help="Build again even if the database is up to date.")
    @click.option(
        "--world-port",
        type=click.IntRange(0, 65535),
        default=DEFAULT_WORLD_PORT,
        show_default=True,
        help="Port of the local news world on 127.0.0.1 (0: any free port).",
    )
    def demo(
        db: str | None, config: str | None, port: int, no_app: bool, rebuild: bool, world_port: int
    ) -> None:
        """Offline demo: a local news world, ingest rounds over real HTTP, then the app.

        Builds build/demo/scooptrace-demo.duckdb (or --db) once; a second run reuses it while the world
        is unchanged."""
        from scooptrace.demo.model import load_world
        from scooptrace.demo.portcheck import busy_port_message, port_is_free
        from scooptrace.demo.replay import run_demo

        if not no_app and not port_is_free(port):
            raise UsageError(busy_port_message(port))

        settings = build_settings(db or str(DemoPaths.at(None).db), config)
        paths = DemoPaths.at(Path(settings.db_path))
        world = load_world()
        status = run_demo(
            world, paths, click.echo, app_port=port, world_port=world_port, app=not no_app, rebuild=rebuild
        )
        if status:
            raise click.exceptions.Exit(status)
