"""``scooptrace watch add/list/remove`` and ``scooptrace alerts``: thin commands over alerts.store."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import click
import duckdb

from alerts.model import Watch
from common.errors import UsageError
from scooptrace.options import build_settings, db_options

T = TypeVar("T")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$|^[^@\s]+@localhost$")


def validate_watch(watch: Watch) -> Watch:
    """A watch a run can use, or a UsageError saying what is wrong with it."""
    if not watch.name.strip():
        raise UsageError("watch name must not be empty")
    if not watch.terms.strip():
        raise UsageError(f"watch {watch.name!r}: --terms must not be empty")
    if watch.min_outlets is not None and watch.min_outlets < 1:
        raise UsageError(f"watch {watch.name!r}: --min-outlets must be 1 or more, got {watch.min_outlets}")
    if watch.webhook and not re.match(r"^https?://[^/\s]+", watch.webhook):
        raise UsageError(
            f"watch {watch.name!r}: --webhook must be an http:// or https:// URL, got {watch.webhook!r}"
        )
    if watch.email and not _EMAIL.match(watch.email):
        raise UsageError(
            f"watch {watch.name!r}: --email must be an address like name@example.org, got {watch.email!r}"
        )
    return watch


def read_db(db_path: Path | str, lock_wait: float, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run ``work`` on a read-only connection; a database older than the alerts tables is migrated first."""
    from storage.connection import ensure_database, read_connection, writer

    ensure_database(db_path, lock_wait)
    for attempt in range(2):
        conn = read_connection(db_path)
        try:
            return work(conn)
        except duckdb.CatalogException:
            if attempt:
                raise
        finally:
            conn.close()
        with writer(db_path, lock_wait):
            pass  # opening the writer applies the missing migrations
    raise AssertionError("unreachable")


def describe_watch(watch: Watch) -> str:
    extra = []
    if watch.outlets:
        extra.append("outlets " + ", ".join(watch.outlets))
    if watch.languages:
        extra.append("languages " + ", ".join(watch.languages))
    if watch.min_outlets:
        extra.append(f"min {watch.min_outlets} outlets")
    if watch.webhook:
        extra.append(f"webhook {watch.webhook}")
    if watch.email:
        extra.append(f"e-mail {watch.email}")
    return f"{watch.name}\t{watch.terms}\t{'; '.join(extra)}"


def register(cli: click.Group) -> None:
    """Add ``watch`` (add, list, remove) and ``alerts`` to the ``scooptrace`` group."""

    @cli.group("watch")
    def watch_group() -> None:
        """Saved watches: be told when a story matching them breaks, spreads or gets a statement."""

    _register_watch_add(watch_group)
    _register_watch_list_remove(watch_group)
    _register_alerts(cli)


def _register_watch_add(watch_group: click.Group) -> None:

    @watch_group.command("add")
    @db_options
    @click.argument("name")
    @click.option("--terms", required=True, help='Words that must all match, e.g. "Amazon outage".')
    @click.option(
        "--outlet", "outlets", multiple=True, help="Only stories covered by this outlet (repeatable)."
    )
    @click.option(
        "--language", "languages", multiple=True, help="Only stories in this language (repeatable)."
    )
    @click.option(
        "--min-outlets", type=int, default=None, help="Alert when a story reaches this many outlets."
    )
    @click.option("--webhook", help="POST each alert as signed JSON to this URL.")
    @click.option("--email", help="E-mail each alert to this address (SMTP settings in [alerts]).")
    def watch_add(
        db: str | None,
        config: str | None,
        name: str,
        terms: str,
        outlets: tuple[str, ...],
        languages: tuple[str, ...],
        min_outlets: int | None,
        webhook: str | None,
        email: str | None,
    ) -> None:
        """Save a watch. Terms match across languages through the aliases: "Amazon outage" also matches
        "عطل أمازون" and "caída de Amazon"."""
        from alerts.match import compile_watch, load_aliases
        from alerts.store import insert_watch
        from storage.connection import writer

        settings = build_settings(db, config)
        watch = validate_watch(
            Watch(
                name.strip(),
                terms.strip(),
                outlets,
                tuple(x.lower() for x in languages),
                min_outlets,
                webhook,
                email,
            )
        )
        with writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as w:
            if not insert_watch(w.conn, watch, datetime.now(UTC)):
                raise UsageError(
                    f"a watch named {name!r} exists already; `scooptrace watch remove {name}` first"
                )
        matcher = compile_watch(watch, load_aliases())
        terms_text = ", ".join(f"{r.term} ({len(r.forms)} forms)" for r in matcher.requirements)
        click.echo(f"added watch {watch.name}: every one of {terms_text}")


def _register_watch_list_remove(watch_group: click.Group) -> None:

    @watch_group.command("list")
    @db_options
    @click.option("--json", "as_json", is_flag=True, help="Print the watches as JSON.")
    def watch_list(db: str | None, config: str | None, as_json: bool) -> None:
        """Show every watch."""
        from alerts.store import load_watches

        settings = build_settings(db, config)
        watches = read_db(settings.db, settings.lock_wait_seconds, load_watches)
        if as_json:
            rows = [
                {
                    "name": w.name,
                    "terms": w.terms,
                    "outlets": list(w.outlets),
                    "languages": list(w.languages),
                    "min_outlets": w.min_outlets,
                    "webhook": w.webhook,
                    "email": w.email,
                }
                for w in watches
            ]
            click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
            return
        if not watches:
            click.echo('no watches; add one with scooptrace watch add NAME --terms "WORDS"', err=True)
        for watch in watches:
            click.echo(describe_watch(watch))

    @watch_group.command("remove")
    @db_options
    @click.argument("name")
    def watch_remove(db: str | None, config: str | None, name: str) -> None:
        """Remove a watch (its alerts stay, as history)."""
        from alerts.store import delete_watch
        from storage.connection import writer

        settings = build_settings(db, config)
        with writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as w:
            removed = delete_watch(w.conn, name)
        if not removed:
            raise UsageError(f"no watch named {name!r} (see `scooptrace watch list`)")
        click.echo(f"removed watch {name}")


def _register_alerts(cli: click.Group) -> None:

    @cli.command("alerts")
    @db_options
    @click.option("--json", "as_json", is_flag=True, help="Print the alerts as JSON.")
    @click.option(
        "--atom", "atom_file", type=click.Path(dir_okay=False), help="Write an Atom feed of the alerts."
    )
    @click.option("--limit", type=int, default=None, help="Only the newest N alerts.")
    @click.option("--deliver", is_flag=True, help="First raise new alerts and send every due delivery.")
    def alerts_command(
        db: str | None,
        config: str | None,
        as_json: bool,
        atom_file: str | None,
        limit: int | None,
        deliver: bool,
    ) -> None:
        """Alerts raised so far, newest first (also the `alerts` view and the app's Alerts page)."""
        from alerts.store import list_alerts

        settings = build_settings(db, config)
        if deliver:
            _deliver(settings)
        rows = read_db(settings.db, settings.lock_wait_seconds, lambda c: list_alerts(c, limit))
        if atom_file:
            _write_atom(Path(atom_file), rows, settings.alerts.app_url)
        if as_json:
            click.echo(json.dumps(rows, ensure_ascii=False, default=str, indent=2))
            return
        for row in rows:
            click.echo(_alert_line(row))


def _deliver(settings: Any) -> None:
    from alerts.run import run_alerts
    from storage.connection import writer

    with writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as w:
        summary = run_alerts(w.conn, settings)
    click.echo(summary.describe(), err=True)


def _write_atom(path: Path, rows: Sequence[dict[str, Any]], app_url: str | None) -> None:
    from alerts.deliver import atom_feed
    from alerts.model import Alert

    alerts = [
        Alert(r["alert_id"], r["watch"], r["story_id"], r["trigger"], r["raised_at"], r["detail"], {})
        for r in rows
    ]
    data = atom_feed(alerts, feed_id="urn:scooptrace:alerts", now=datetime.now(UTC), app_url=app_url)
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write the Atom feed: {exc.strerror}") from exc
    click.echo(f"wrote {len(alerts)} alerts to {path}", err=True)


def _alert_line(row: dict[str, Any]) -> str:
    delivered = row["delivered_at"] or {}
    channels = [f"{k} {v:%Y-%m-%d %H:%M}" for k, v in delivered.items() if v is not None]
    pending = list(row["pending_channels"] or [])
    state = "; ".join([*(f"delivered {c}" for c in channels), *(f"pending {c}" for c in pending)]) or "-"
    return (
        f"{row['raised_at']:%Y-%m-%d %H:%M} UTC\t{row['watch']}\t{row['trigger']}\t{row['detail']}\t{state}"
    )
