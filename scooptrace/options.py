"""What every subcommand shares: the ``--db``/``--config`` options, the settings built from them, and how a
run's summary is printed. Imported by ``scooptrace.cli`` and by each module of ``scooptrace.commands``."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

import click

from common.settings import Settings, load_settings

F = TypeVar("F", bound=Callable[..., Any])


def db_options(
    func: F,
    db_help: str = "Database: a DuckLake catalog file or a postgresql:// URL "
    "(default: $SCOOPTRACE_DB, else ./scooptrace.ducklake).",
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


def emit_summary(summary: Any, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.as_dict(), ensure_ascii=False, default=str))
    else:
        click.echo(summary.describe(), err=True)
