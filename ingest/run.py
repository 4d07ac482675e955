"""The ingest run: feeds, then pages, then the story update. The shell around the pure stages."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click
import duckdb

from ingest import store
from ingest.extract import extract_page, warm_up
from ingest.feeds import load_feeds_file
from ingest.fetch import Fetcher, Response
from ingest.parse import parse_feed
from ingest.workers import extraction_pool
from scooptrace import db
from scooptrace.errors import FetchError
from scooptrace.settings import FetchSettings, Settings

log = logging.getLogger("scooptrace.ingest")
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
RETRY_STATUSES = frozenset({429, 503})


@dataclass
class IngestSummary:
    feeds_total: int = 0
    feeds_fetched: int = 0
    feeds_unchanged: int = 0
    feeds_failed: int = 0
    feeds_waiting: int = 0
    new_articles: int = 0
    pages_fetched: int = 0
    pages_failed: int = 0
    pages_robots: int = 0
    seconds: float = 0.0
    cluster: dict[str, Any] | None = None
    failures: list[str] = field(default_factory=list)
    cluster_text: str = field(default="", repr=False)  # the stages' own one-line summaries

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        del out["cluster_text"]
        return out

    def describe(self) -> str:
        text = (
            f"feeds: {self.feeds_fetched} fetched, {self.feeds_unchanged} unchanged, {self.feeds_failed} failed,"
            f" {self.feeds_waiting} waiting (of {self.feeds_total}); new articles: {self.new_articles};"
            f" pages: {self.pages_fetched} fetched, {self.pages_failed} failed, {self.pages_robots} disallowed by"
            f" robots.txt; {self.seconds:.1f}s"
        )
        if self.cluster_text:
            text += f"\n{self.cluster_text}"
        if self.feeds_total == 0:
            text += "\nno feeds to fetch: pass --feeds FILE, or add some with `scooptrace feeds add URL`"
        return text


def run_ingest(
    settings: Settings, feeds_file: Path | None, *, cluster: bool, progress: bool
) -> IngestSummary:
    """Fetch every due feed, store new entries, fetch and extract new pages, update stories."""
    started = time.monotonic()
    specs = load_feeds_file(feeds_file) if feeds_file else None  # a bad file fails before any write
    summary = IngestSummary()
    with db.writer(settings.db_path, settings.lock_wait_seconds) as writer:
        run_id = uuid.uuid4().hex[:12]
        store.start_run(writer.conn, run_id, "ingest", db.utcnow())
        if specs is not None:
            store.sync_feeds(writer.conn, specs, db.utcnow(), exclusive=True)
        asyncio.run(crawl(settings, writer, summary, progress))
        if cluster:
            summary.cluster, summary.cluster_text = update_stories(writer.conn)
        summary.seconds = round(time.monotonic() - started, 2)
        store.finish_run(writer.conn, run_id, summary.as_dict(), db.utcnow())
    return summary


def update_stories(conn: duckdb.DuckDBPyConnection) -> tuple[dict[str, Any] | None, str]:
    """The story and first-report stages: their figures (for --json) and their one-line summaries."""
    from cluster.report_store import update_reports
    from cluster.store import update_stories as cluster_update

    stories = cluster_update(conn)
    reports = update_reports(conn)
    figures: dict[str, Any] = stories.as_dict()
    figures["reports"] = reports.as_dict()
    return figures, f"{stories.describe()}\n{reports.describe()}"


async def crawl(settings: Settings, writer: db.Writer, summary: IngestSummary, progress: bool) -> None:
    async with Fetcher(settings.fetch) as fetcher:
        feeds, summary.feeds_waiting = store.due_feeds(writer.conn, db.utcnow())
        summary.feeds_total = len(feeds) + summary.feeds_waiting
        with extraction_pool(settings.worker_count()) as pool:
            loop = asyncio.get_running_loop()

            def warm_workers() -> None:
                # Workers import the extractor (about a second) while the other feeds are fetched.
                for _ in range(settings.worker_count()):
                    loop.run_in_executor(pool, warm_up)

            if store.has_pending_pages(writer.conn):
                warm_workers()
            await fetch_feeds(fetcher, settings, writer, feeds, summary, on_first_new=warm_workers)
            pages = store.pending_pages(writer.conn)
            await fetch_pages(fetcher, pool, settings, writer, pages, summary, progress)


async def fetch_feeds(
    fetcher: Fetcher,
    settings: Settings,
    writer: db.Writer,
    feeds: list[store.FeedState],
    summary: IngestSummary,
    on_first_new: Callable[[], None] | None = None,
) -> None:
    tasks = [asyncio.create_task(fetch_one_feed(fetcher, settings.fetch, feed)) for feed in feeds]
    in_batch = 0
    writer.conn.execute("BEGIN")
    for task in asyncio.as_completed(tasks):
        feed, update, entries, elapsed_ms = await task
        store.record_feed(writer.conn, update)
        new = store.add_entries(writer.conn, feed, entries, db.utcnow()) if entries else 0
        if new and on_first_new is not None:
            on_first_new()
            on_first_new = None
        count_feed(summary, update, new)
        log.info(
            "feed=%s status=%s new=%d ms=%d%s",
            feed.feed_url,
            update.status if update.status is not None else "-",
            new,
            elapsed_ms,
            f" error={update.error!r}" if update.error else "",
        )
        in_batch += max(1, new)
        if in_batch >= settings.batch_size:
            writer.conn.execute("COMMIT")
            writer.conn.execute("BEGIN")
            in_batch = 0
    writer.conn.execute("COMMIT")
    writer.maybe_publish(settings.publish_every_seconds)


def count_feed(summary: IngestSummary, update: store.FeedUpdate, new: int) -> None:
    summary.new_articles += new
    if update.error:
        summary.feeds_failed += 1
        summary.failures.append(f"{update.feed_id}: {update.error}")
    elif update.status == 304 or (update.status == 200 and update.body_sha1 is None):
        summary.feeds_unchanged += 1
    else:
        summary.feeds_fetched += 1


async def fetch_one_feed(
    fetcher: Fetcher, fetch: FetchSettings, feed: store.FeedState
) -> tuple[store.FeedState, store.FeedUpdate, list[Any], int]:
    now = db.utcnow()
    started = time.monotonic()
    try:
        response = await fetcher.get(
            feed.feed_url, etag=feed.etag, last_modified=feed.last_modified, accept=FEED_ACCEPT
        )
    except FetchError as exc:
        update = failed_update(fetch, feed, now, None, exc.reason)
        return feed, update, [], int((time.monotonic() - started) * 1000)
    update, entries = interpret_feed_response(fetch, feed, response, now)
    return feed, update, entries, response.elapsed_ms


def failed_update(
    fetch: FetchSettings, feed: store.FeedState, now: datetime, status: int | None, error: str,
    retry_after: float | None = None, new_url: str | None = None,
) -> store.FeedUpdate:  # fmt: skip
    failures = feed.consecutive_failures + 1
    if retry_after is not None:
        wait = min(retry_after, fetch.retry_after_max_seconds)
    else:
        wait = min(fetch.backoff_base_seconds * 2 ** (failures - 1), fetch.backoff_max_seconds)
    return store.FeedUpdate(
        feed.feed_id, now, status, error, failures, now + timedelta(seconds=wait), new_url=new_url,
        keep_validators=True,
    )  # fmt: skip


def interpret_feed_response(
    fetch: FetchSettings, feed: store.FeedState, response: Response, now: datetime
) -> tuple[store.FeedUpdate, list[Any]]:
    """Decide from one response what the feed's row becomes and which entries to store (pure)."""
    status = response.status
    new_url = response.permanent_url
    if status == 304:
        return store.FeedUpdate(feed.feed_id, now, 304, None, 0, new_url=new_url, keep_validators=True), []
    if status == 410:
        update = store.FeedUpdate(
            feed.feed_id, now, 410, "410 Gone: feed retired, no longer fetched", feed.consecutive_failures + 1,
            retired=True, keep_validators=True,
        )  # fmt: skip
        return update, []
    if status in RETRY_STATUSES:
        retry_after = response.retry_after_seconds(now)
        note = f", Retry-After {retry_after:.0f}s" if retry_after is not None else ""
        return failed_update(fetch, feed, now, status, f"HTTP {status}{note}", retry_after, new_url), []
    if status != 200:
        return failed_update(fetch, feed, now, status, f"HTTP {status}", new_url=new_url), []
    digest = hashlib.sha1(response.body).hexdigest()
    etag, last_modified = response.headers.get("etag"), response.headers.get("last-modified")
    if digest == feed.body_sha1:
        unchanged = store.FeedUpdate(
            feed.feed_id, now, 200, None, 0, new_url=new_url, etag=etag, last_modified=last_modified
        )
        return unchanged, []
    parsed = parse_feed(response.body, response.headers, response.url)
    if parsed.problem:
        return failed_update(fetch, feed, now, 200, parsed.problem, new_url=new_url), []
    if parsed.warning:
        log.warning("feed=%s warning=%r", feed.feed_url, parsed.warning)
    update = store.FeedUpdate(
        feed.feed_id,
        now,
        200,
        None,
        0,
        etag=etag,
        last_modified=last_modified,
        body_sha1=digest,
        new_url=new_url,
    )
    return update, list(parsed.entries)


async def fetch_pages(
    fetcher: Fetcher,
    pool: ProcessPoolExecutor,
    settings: Settings,
    writer: db.Writer,
    pages: list[store.PendingPage],
    summary: IngestSummary,
    progress: bool,
) -> None:
    """Fetch and extract every pending page with a bounded number in flight, writing in batches."""
    queue: asyncio.Queue[store.PendingPage] = asyncio.Queue()
    for page in pages:
        queue.put_nowait(page)
    batch: list[store.PageOutcome] = []
    bar = click.progressbar(length=len(pages), label="pages", file=sys.stderr) if progress and pages else None
    # A person watching gets the bar; the per-page lines are for logs (and for -v on a terminal).
    page_log_level = logging.DEBUG if bar is not None else logging.INFO

    def flush() -> None:
        writer.conn.execute("BEGIN")
        store.record_pages(writer.conn, batch, db.utcnow())
        writer.conn.execute("COMMIT")
        batch.clear()
        writer.maybe_publish(settings.publish_every_seconds)

    async def worker() -> None:
        loop = asyncio.get_running_loop()
        while not queue.empty():
            page = queue.get_nowait()
            outcome = await fetch_one_page(fetcher, pool, loop, page, page_log_level)
            count_page(summary, outcome.state)
            batch.append(outcome)
            if bar is not None:
                bar.update(1)
            if len(batch) >= settings.batch_size:
                flush()

    in_flight = max(2, min(settings.fetch.total_concurrency, settings.worker_count() * 4))
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    if batch:
        flush()
    if bar is not None:
        bar.render_finish()


def count_page(summary: IngestSummary, state: str) -> None:
    if state == "extracted":
        summary.pages_fetched += 1
    elif state == "robots":
        summary.pages_robots += 1
    else:
        summary.pages_failed += 1


async def fetch_one_page(
    fetcher: Fetcher,
    pool: ProcessPoolExecutor,
    loop: asyncio.AbstractEventLoop,
    page: store.PendingPage,
    level: int = logging.INFO,
) -> store.PageOutcome:
    started = time.monotonic()
    outcome = await _page_outcome(fetcher, pool, loop, page)
    log.log(
        level,
        "page=%s state=%s status=%s ms=%d%s",
        page.url,
        outcome.state,
        outcome.status or "-",
        int((time.monotonic() - started) * 1000),
        f" error={outcome.error!r}" if outcome.error else "",
    )
    return outcome


async def _page_outcome(
    fetcher: Fetcher, pool: ProcessPoolExecutor, loop: asyncio.AbstractEventLoop, page: store.PendingPage
) -> store.PageOutcome:
    try:
        if not await fetcher.allowed_by_robots(page.url):
            return store.PageOutcome(page, None, "robots", "disallowed by robots.txt", 0)
        response = await fetcher.get(page.url, accept=PAGE_ACCEPT)
    except FetchError as exc:
        return store.PageOutcome(page, None, "failed", exc.reason, exc.status or 0)
    if response.status != 200:
        return store.PageOutcome(page, None, "failed", f"HTTP {response.status}", response.status)
    content_type = response.headers.get("content-type", "")
    if content_type and "html" not in content_type.lower():
        return store.PageOutcome(page, None, "failed", f"not an HTML page ({content_type})", response.status)
    try:
        result = await loop.run_in_executor(pool, extract_page, page.url, response.body, content_type)
    except Exception as exc:  # an extractor crash on one page must not stop the run
        log.exception("page=%s extraction crashed", page.url)
        error = f"extraction failed: {type(exc).__name__}: {exc}"
        return store.PageOutcome(page, None, "failed", error, response.status)
    return store.PageOutcome(page, result, "extracted", "", response.status)
