"""The ingest run: feeds, then pages, then the story update. The shell around the pure stages.

Fetching and extraction are pipelined: a feed's new pages are queued for fetching as soon as its entries are
stored, pages are extracted in worker processes, and every write goes to the database in batches on one
writer thread, so the event loop only ever waits on the network.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import duckdb

from common.errors import FetchError
from common.settings import FetchSettings, Settings
from common.urls import stable_id
from ingest import retry, schedule, store
from ingest.dates import entry_time
from ingest.extract import extract_page, warm_up
from ingest.feeds import Shard, load_feeds_file
from ingest.fetch import DISALLOW, UNAVAILABLE, Fetcher, Response
from ingest.parse import ParsedFeed, parse_feed
from ingest.workers import extraction_pool
from storage import articles as article_rows
from storage import connection as db

log = logging.getLogger("scooptrace.ingest")
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml, application/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
RETRY_STATUSES = frozenset({429, 503})
FEED_FLUSH_SECONDS = 0.25  # a feed with new entries is written within this long, with the others of its batch
T = TypeVar("T")


@dataclass
class IngestSummary:
    feeds_total: int = 0
    feeds_due: int = 0
    feeds_fetched: int = 0
    feeds_unchanged: int = 0
    feeds_failed: int = 0
    feeds_retired: int = 0
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

    @property
    def all_feeds_failed(self) -> bool:
        """Every feed due in this run failed: most likely no network at all (exit status 3)."""
        return self.feeds_due > 0 and self.feeds_failed == self.feeds_due

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
    settings: Settings,
    feeds_file: Path | None,
    *,
    progress: bool,
    shard: Shard | None = None,
) -> IngestSummary:
    """Fetch every due feed (of the shard), store new entries, fetch and extract new pages (and failed ones due
    again). The stages after it (stories, reports, alerts) are run by ``scooptrace.pipeline``. Check
    ``all_feeds_failed`` on the result: the CLI exits 3 then."""
    started = time.monotonic()
    specs = load_feeds_file(feeds_file) if feeds_file else None  # a bad file fails before any write
    summary = IngestSummary()
    scope = shard.lock_scope if shard else "db"
    with db.writer(
        settings.db, settings.lock_wait_seconds, scope=scope, data_path=settings.data_path
    ) as writer:
        run_id = uuid.uuid4().hex[:12]
        writer.run(lambda conn: article_rows.start_run(conn, run_id, "ingest", db.utcnow()))
        if specs is not None:
            if shard is not None:  # each shard syncs its own feeds; the others belong to other workers
                specs = [spec for spec in specs if shard.holds(stable_id(spec.url))]
            mine = specs
            writer.run(lambda conn: store.sync_feeds(conn, mine, db.utcnow(), exclusive=shard is None))
        asyncio.run(crawl(settings, writer, summary, progress, shard))
        summary.seconds = round(time.monotonic() - started, 2)
        figures = summary.as_dict()
        writer.run(lambda conn: article_rows.finish_run(conn, run_id, figures, db.utcnow()))
    if summary.all_feeds_failed:
        log.warning(
            "every feed due in this run failed (%d of %d): is the network down? Exit status 3.",
            summary.feeds_failed,
            summary.feeds_due,
        )
    return summary


class DatabaseThread:
    """Every write of the run, one after another on one thread, so the event loop never blocks on DuckDB."""

    def __init__(self, writer: db.Writer, executor: Executor) -> None:
        self.writer = writer
        self.executor = executor

    async def run(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, self._transaction, work)

    def _transaction(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        return self.writer.run(work)  # committed; redone on a conflict with another writer (a shard)


async def crawl(
    settings: Settings, writer: db.Writer, summary: IngestSummary, progress: bool, shard: Shard | None = None
) -> None:
    now = db.utcnow()
    feeds, summary.feeds_waiting = store.due_feeds(writer.conn, now)
    retry_pages = store.pending_pages(writer.conn, now)
    if shard is not None:
        feeds = [feed for feed in feeds if shard.holds(feed.feed_id)]
        retry_pages = [page for page in retry_pages if shard.holds(page.feed_id)]
    summary.feeds_due = len(feeds)
    summary.feeds_total = len(feeds) + summary.feeds_waiting
    async with Fetcher(settings.fetch) as fetcher:
        with extraction_pool(settings.worker_count()) as pool, ThreadPoolExecutor(1, "db-writer") as thread:
            database = DatabaseThread(writer, thread)
            pages = PagePipeline(fetcher, pool, settings, database, summary, progress)
            pages.add(retry_pages)
            consumers = pages.start()
            await fetch_feeds(fetcher, settings, database, feeds, summary, on_new_pages=pages.add)
            await pages.finish(consumers)


async def fetch_feeds(
    fetcher: Fetcher,
    settings: Settings,
    database: DatabaseThread,
    feeds: list[store.FeedState],
    summary: IngestSummary,
    on_new_pages: Callable[[list[store.PendingPage]], None],
) -> None:
    """Fetch every due feed; record results in batches, and hand each feed's new pages on at once."""
    tasks = [asyncio.create_task(fetch_one_feed(fetcher, settings.fetch, feed)) for feed in feeds]
    batch: list[tuple[store.FeedState, store.FeedUpdate, list[Any]]] = []
    timings: list[int] = []
    last_flush = time.monotonic()

    async def flush() -> None:
        nonlocal last_flush
        last_flush = time.monotonic()
        done, batch[:] = list(batch), []
        times, timings[:] = list(timings), []
        new_pages = await database.run(lambda conn: record_feed_batch(conn, done))
        for (feed, update, _entries), pages, elapsed_ms in zip(done, new_pages, times, strict=True):
            count_feed(summary, update, len(pages))
            log_feed(feed, update, len(pages), elapsed_ms)
        on_new_pages([page for pages in new_pages for page in pages])

    for task in asyncio.as_completed(tasks):
        feed, update, entries, elapsed_ms = await task
        batch.append((feed, update, entries))
        timings.append(elapsed_ms)
        # New entries go out soon (their pages wait for them), but never one transaction per feed.
        soon = entries and time.monotonic() - last_flush >= FEED_FLUSH_SECONDS
        if soon or len(batch) >= settings.batch_size:
            await flush()
    if batch:
        await flush()


def record_feed_batch(
    conn: duckdb.DuckDBPyConnection, done: list[tuple[store.FeedState, store.FeedUpdate, list[Any]]]
) -> list[list[store.PendingPage]]:
    """One transaction: every feed's new row, and its new entries; returns each feed's new pages."""
    store.record_feeds(conn, [update for _feed, update, _entries in done])
    return store.add_feed_entries(conn, [(feed, entries) for feed, _update, entries in done], db.utcnow())


def log_feed(feed: store.FeedState, update: store.FeedUpdate, new: int, elapsed_ms: int) -> None:
    log.info(
        "feed=%s status=%s new=%d ms=%d%s",
        feed.feed_url,
        update.status if update.status is not None else "-",
        new,
        elapsed_ms,
        f" error={update.error!r}" if update.error else "",
    )


def count_feed(summary: IngestSummary, update: store.FeedUpdate, new: int) -> None:
    summary.new_articles += new
    if update.retired:
        summary.feeds_retired += 1  # a definite answer (410 Gone), not a failure to reach the feed
    elif update.error:
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
    parsed = None
    if response.status == 200 and hashlib.sha1(response.body).hexdigest() != feed.body_sha1:
        # Parsing is CPU work: on a thread, so the event loop keeps serving the other requests meanwhile.
        parsed = await asyncio.to_thread(parse_feed, response.body, response.headers, response.url)
    update, entries = interpret_feed_response(fetch, feed, response, now, parsed)
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


def poll_params(fetch: FetchSettings) -> schedule.PollParams:
    return schedule.PollParams(min_seconds=fetch.poll_min_seconds, max_seconds=fetch.poll_max_seconds)


def entry_times(entries: list[Any], now: datetime) -> list[datetime]:
    """Publication times of parsed entries, read as they are stored (never later than first sight)."""
    return [entry_time(e.published_raw, now).published_at for e in entries]


def healthy_update(
    fetch: FetchSettings, feed: store.FeedState, response: Response, now: datetime,
    parsed: ParsedFeed | None = None,
) -> store.FeedUpdate:  # fmt: skip
    """A fetch that worked (304, unchanged or parsed 200): next fetch from the feed's rhythm and hints."""
    times = list(feed.entry_times) + (entry_times(list(parsed.entries), now) if parsed else [])
    ttl_minutes = parsed.ttl_minutes if parsed and parsed.ttl_minutes else None
    if ttl_minutes is None and feed.ttl_seconds:
        ttl_minutes = feed.ttl_seconds // 60
    floor = schedule.cache_floor_seconds(response.headers, ttl_minutes, now)
    params = poll_params(fetch)
    keep = response.status == 304
    malformed = parsed is not None and parsed.malformed
    # A malformed body (cut off mid-XML) must never make the next fetch a 304: its validators are dropped.
    etag = None if keep or malformed else response.headers.get("etag")
    last_modified = None if keep or malformed else response.headers.get("last-modified")
    return store.FeedUpdate(
        feed.feed_id, now, response.status, None, 0, schedule.next_poll(times, now, floor, params),
        etag=etag, last_modified=last_modified,
        body_sha1=hashlib.sha1(response.body).hexdigest() if parsed and not malformed else None,
        new_url=response.permanent_url, keep_validators=keep, stale=schedule.is_stale(times, now, params),
        ttl_seconds=ttl_minutes * 60 if parsed and ttl_minutes else None,
    )  # fmt: skip


def interpret_feed_response(
    fetch: FetchSettings, feed: store.FeedState, response: Response, now: datetime,
    parsed: ParsedFeed | None = None,
) -> tuple[store.FeedUpdate, list[Any]]:  # fmt: skip
    """Decide from one response what the feed's row becomes and which entries to store (pure).
    ``parsed`` is the parsed body of a 200 that differs from the last one (parsed here when not given)."""
    status = response.status
    new_url = response.permanent_url
    if status == 304:
        return healthy_update(fetch, feed, response, now), []
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
    if hashlib.sha1(response.body).hexdigest() == feed.body_sha1:
        return healthy_update(fetch, feed, response, now), []
    if parsed is None:
        parsed = parse_feed(response.body, response.headers, response.url)
    if parsed.problem:
        return failed_update(fetch, feed, now, 200, parsed.problem, new_url=new_url), []
    if parsed.warning:
        log.warning("feed=%s warning=%r", feed.feed_url, parsed.warning)
    return healthy_update(fetch, feed, response, now, parsed), list(parsed.entries)


class PagePipeline:
    """Pages queued as they become known, fetched with a bounded number in flight, extracted in the worker
    pool, and written in batches."""

    def __init__(
        self, fetcher: Fetcher, pool: Executor, settings: Settings, database: DatabaseThread,
        summary: IngestSummary, progress: bool,
    ) -> None:  # fmt: skip
        self.fetcher, self.pool, self.settings, self.database = fetcher, pool, settings, database
        self.summary = summary
        self.queue: asyncio.Queue[store.PendingPage | None] = asyncio.Queue()
        self.batch: list[store.PageOutcome] = []
        self.warmed = False
        self.bar = click.progressbar(length=0, label="pages", file=sys.stderr) if progress else None
        # A person watching gets the bar; the per-page lines are for logs (and for -v on a terminal).
        self.level = logging.DEBUG if self.bar is not None else logging.INFO
        self.in_flight = max(2, min(settings.fetch.total_concurrency, settings.worker_count() * 4))
        self.retry = retry.PageRetryParams(base_seconds=settings.fetch.page_retry_base_seconds)

    def add(self, pages: list[store.PendingPage]) -> None:
        if not pages:
            return
        if not self.warmed:
            self.warmed = True
            # Workers start (and import the extractor) while the pages are fetched.
            loop = asyncio.get_running_loop()
            loop.run_in_executor(None, self._warm_workers)
        for page in pages:
            self.queue.put_nowait(page)
        if self.bar is not None:
            self.bar.length = (self.bar.length or 0) + len(pages)

    def _warm_workers(self) -> None:
        for _ in range(self.settings.worker_count()):
            self.pool.submit(warm_up)

    def start(self) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self._consume()) for _ in range(self.in_flight)]

    async def finish(self, consumers: list[asyncio.Task[None]]) -> None:
        for _ in consumers:
            self.queue.put_nowait(None)
        await asyncio.gather(*consumers)
        if self.batch:
            await self._flush()
        if self.bar is not None and self.bar.length:
            self.bar.render_finish()

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        while (page := await self.queue.get()) is not None:
            outcome = await fetch_one_page(self.fetcher, self.pool, loop, page, self.retry, self.level)
            count_page(self.summary, outcome.state)
            self.batch.append(outcome)
            if self.bar is not None:
                self.bar.update(1)
            if len(self.batch) >= self.settings.batch_size:
                await self._flush()

    async def _flush(self) -> None:
        done, self.batch = self.batch, []
        await self.database.run(lambda conn: store.record_pages(conn, done, db.utcnow()))


def count_page(summary: IngestSummary, state: str) -> None:
    if state == "extracted":
        summary.pages_fetched += 1
    elif state == "robots":
        summary.pages_robots += 1
    else:
        summary.pages_failed += 1


async def fetch_one_page(
    fetcher: Fetcher,
    pool: Executor,
    loop: asyncio.AbstractEventLoop,
    page: store.PendingPage,
    params: retry.PageRetryParams = retry.DEFAULT_PAGE_RETRY,
    level: int = logging.INFO,
) -> store.PageOutcome:
    started = time.monotonic()
    outcome = await _page_outcome(fetcher, pool, loop, page, params)
    log.log(
        level,
        "page=%s state=%s status=%s ms=%d%s%s",
        page.url,
        outcome.state,
        outcome.status or "-",
        int((time.monotonic() - started) * 1000),
        f" error={outcome.error!r}" if outcome.error else "",
        f" retry_at={outcome.next_attempt_at:%Y-%m-%dT%H:%M:%SZ}" if outcome.next_attempt_at else "",
    )
    return outcome


def failed_page(
    page: store.PendingPage, error: str, status: int | None, kind: str, params: retry.PageRetryParams
) -> store.PageOutcome:
    """A failed page, with its next try scheduled by the retry rules (or given up)."""
    when = retry.next_attempt(kind, page.attempts + 1, db.utcnow(), params)
    return store.PageOutcome(page, None, "failed", error, status or 0, when)


async def _page_outcome(
    fetcher: Fetcher, pool: Executor, loop: asyncio.AbstractEventLoop, page: store.PendingPage,
    params: retry.PageRetryParams,
) -> store.PageOutcome:  # fmt: skip
    try:
        verdict = await fetcher.robots_verdict(page.url)
        if verdict == DISALLOW:
            return store.PageOutcome(page, None, "robots", "disallowed by robots.txt", 0)
        if verdict == UNAVAILABLE:
            return failed_page(
                page, "robots.txt unavailable: asked again later", None, retry.TRANSIENT, params
            )
        response = await fetcher.get(page.url, accept=PAGE_ACCEPT)
    except FetchError as exc:
        kind = retry.failure_kind(exc.status, exc.reason, exc.transient)
        return failed_page(page, exc.reason, exc.status, kind, params)
    if response.status != 200:
        kind = retry.failure_kind(response.status, "", retryable=False)
        return failed_page(page, f"HTTP {response.status}", response.status, kind, params)
    content_type = response.headers.get("content-type", "")
    if content_type and "html" not in content_type.lower():
        error = f"not an HTML page ({content_type})"
        return failed_page(page, error, response.status, retry.PERMANENT, params)
    try:
        result = await loop.run_in_executor(pool, extract_page, page.url, response.body, content_type)
    except Exception as exc:  # an extractor crash on one page must not stop the run
        log.exception("page=%s extraction crashed", page.url)
        error = f"extraction failed: {type(exc).__name__}: {exc}"
        return failed_page(page, error, response.status, retry.PERMANENT, params)
    return store.PageOutcome(page, result, "extracted", "", response.status)
