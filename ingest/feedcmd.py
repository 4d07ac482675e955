"""``scooptrace feeds ...``: the stored feed list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from common.errors import UsageError
from common.settings import Settings
from ingest import store
from ingest.feeds import FeedSpec, check_language, check_url, load_feeds_file, to_opml, to_toml
from storage import connection as db
from storage import feeds as feed_rows


def list_feeds(settings: Settings) -> list[dict[str, Any]]:
    return feed_rows.feed_status(settings.db)


def add_feed(
    settings: Settings, url: str, *, outlet: str | None, language: str | None, site_url: str | None
) -> FeedSpec:
    problem = check_url(url)
    code, language_problem = check_language(language)
    if problem or language_problem:
        raise UsageError(problem or f"--language: {language_problem}")
    from urllib.parse import urlsplit

    spec = FeedSpec(url, outlet or urlsplit(url).hostname or url, site_url, code)
    with db.writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as writer:
        store.sync_feeds(writer.conn, [spec], db.utcnow(), exclusive=False)
    return spec


def import_feeds(settings: Settings, path: Path) -> tuple[int, int]:
    specs = load_feeds_file(path)
    with db.writer(settings.db, settings.lock_wait_seconds, data_path=settings.data_path) as writer:
        added = store.sync_feeds(writer.conn, specs, db.utcnow(), exclusive=False)
    return added, len(specs) - added


def export_feeds(settings: Settings, fmt: str) -> str:
    specs = [
        FeedSpec(row["feed_url"], row["outlet"], row["site_url"], row["language"])
        for row in list_feeds(settings)
        if row["active"] and row["retired_at"] is None
    ]
    return to_toml(specs) if fmt == "toml" else to_opml(specs)
