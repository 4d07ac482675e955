"""A local HTTP server for the demo world, bound to 127.0.0.1 only, behind a simulated clock.

Only articles published at or before the clock appear in feeds and can be fetched; the replay advances the
clock between ingest rounds. Every response carries an ETag and Last-Modified and answers conditional GETs
with 304, as a well-run news site does.
"""

from __future__ import annotations

import hashlib
import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from scooptrace.demo.model import Article, World
from scooptrace.demo.pages import render_article_page, render_index, render_outlet_home
from scooptrace.demo.render import (
    ROBOTS_TXT,
    feed_path,
    http_date,
    local_article_path,
    render_feed,
    render_opml,
    render_status_feed,
    status_path,
)

log = logging.getLogger(__name__)
HOST = "127.0.0.1"
FEED_TYPES = {"rss2": "application/rss+xml", "atom": "application/atom+xml", "rss1": "application/rdf+xml"}


class DemoClock:
    """The simulated now, shared by the server threads and the replay."""

    def __init__(self, now: datetime) -> None:
        self._now = now
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, now: datetime) -> None:
        with self._lock:
            self._now = now


@dataclass(frozen=True)
class Resource:
    body: bytes
    content_type: str
    last_modified: datetime | None = None

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:20] + '"'


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    status: int
    user_agent: str


class DemoServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, world: World, clock: DemoClock, port: int = 0) -> None:
        super().__init__((HOST, port), DemoHandler)
        self.world = world
        self.clock = clock
        self.article_paths: dict[str, Article] = {
            local_article_path(world, a): a for a in world.articles.values()
        }
        self.requests: list[RequestRecord] = []
        self._records_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (an ingest stopped mid-request) is normal here: one debug line, not the
        socketserver traceback in the demo's terminal. Anything else is still reported in full."""
        error = sys.exc_info()[1]
        if isinstance(error, ConnectionError | TimeoutError):
            log.debug("demo-server: client %s went away: %s", client_address, error)
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]

    def record(self, record: RequestRecord) -> None:
        with self._records_lock:
            self.requests.append(record)

    def resolve(self, path: str) -> Resource | None:
        """The resource at ``path`` as of the clock, or None (404)."""
        world, base, clock = self.world, self.base_url, self.clock.now()
        html = "text/html; charset=utf-8"
        if path == "/robots.txt":
            return Resource(ROBOTS_TXT.encode(), "text/plain; charset=utf-8")
        if path in ("/", "/index.html"):
            return Resource(render_index(world, base, clock).encode(), html)
        if path == "/world.opml":
            return Resource(render_opml(world, base).encode(), "text/x-opml; charset=utf-8")
        article = self.article_paths.get(path)
        if article is not None:
            if article.published > clock:
                return None
            page = render_article_page(world, base, article)
            return Resource(page.encode(), html, article.published)
        for outlet in world.outlets.values():
            if path == f"/o/{outlet.slug}/":
                return Resource(render_outlet_home(world, base, outlet, clock).encode(), html)
            for feed in outlet.feeds:
                if path == feed_path(feed):
                    text, newest = render_feed(world, base, feed, clock)
                    body = text.encode(feed.encoding, errors="xmlcharrefreplace")
                    return Resource(body, f"{FEED_TYPES[feed.format]}; charset={feed.encoding}", newest)
        for status_page in world.status_pages:
            if path == status_path(status_page):
                text, newest = render_status_feed(status_page, base, clock)
                return Resource(text.encode(), "application/atom+xml; charset=utf-8", newest)
        return None


def not_modified(resource: Resource, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """RFC 9110: If-None-Match wins over If-Modified-Since."""
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or resource.etag in tags
    if if_modified_since and resource.last_modified is not None:
        try:
            since = parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError):
            return False
        if since.tzinfo is None:
            return False
        return resource.last_modified.replace(microsecond=0) <= since
    return False


class DemoHandler(BaseHTTPRequestHandler):
    server: DemoServer
    server_version = "scooptrace-demo/1"
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        path = urlsplit(self.path).path
        resource = self.server.resolve(path)
        if resource is None:
            status = 404
            self._reply(404, b"not found\n", "text/plain; charset=utf-8", send_body)
        elif not_modified(resource, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")):
            status = 304
            self.send_response(304)
            self._validators(resource)
            self.end_headers()
        else:
            status = 200
            self._reply(200, resource.body, resource.content_type, send_body, resource)
        agent = self.headers.get("User-Agent", "")
        self.server.record(RequestRecord(self.command, self.path, status, agent))

    def _validators(self, resource: Resource) -> None:
        self.send_header("ETag", resource.etag)
        if resource.last_modified is not None:
            self.send_header("Last-Modified", http_date(resource.last_modified))
        self.send_header("Cache-Control", "no-cache")

    def _reply(
        self, status: int, body: bytes, content_type: str, send_body: bool, resource: Resource | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if resource is not None:
            self._validators(resource)
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("demo-server %s", format % args)


@contextmanager
def running(server: DemoServer) -> Iterator[DemoServer]:
    """Serve in a background thread for the duration of the block, then close the socket."""
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="scooptrace-demo-server",
        daemon=True,
    )
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def serve_world(world: World, clock: DemoClock, port: int = 0) -> Iterator[DemoServer]:
    """The world's server on 127.0.0.1:``port`` (0: any free port) for the duration of the block."""
    with running(DemoServer(world, clock, port)) as server:
        yield server
