"""The crawler's HTTP client: a good citizen that nothing on the open web can break.

Every request has a total deadline (connect, headers and body together), a cap on the decompressed body,
per-host and total concurrency limits, redirects followed by hand so the network-safety rule is checked on
every hop, and an honest User-Agent. robots.txt is consulted for article pages.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import time
import urllib.robotparser
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import httpx

from common.errors import BodyTooLargeError, DeadlineExceededError, FetchError
from common.settings import FetchSettings
from ingest.netsafety import HostPolicy

log = logging.getLogger("scooptrace.fetch")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
CHUNK = 64 * 1024
DISALLOW_ALL = ["User-agent: *", "Disallow: /"]


@dataclass(frozen=True)
class Response:
    url: str  # the final URL after redirects
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    hops: tuple[tuple[int, str], ...] = ()  # (status, target URL) of every redirect followed
    elapsed_ms: int = 0

    @property
    def permanent_url(self) -> str | None:
        """The new URL when every redirect hop was permanent (301/308), else None."""
        if self.hops and all(status in PERMANENT_REDIRECTS for status, _ in self.hops):
            return self.hops[-1][1]
        return None

    def retry_after_seconds(self, now: datetime | None = None) -> float | None:
        return parse_retry_after(self.headers.get("retry-after"), now)


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header: either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class CappedDecoder:
    """Decodes a Content-Encoding incrementally and stops once the output passes ``cap`` bytes, so a gzip
    bomb never gets to allocate what it expands to."""

    def __init__(self, encoding: str, cap: int, url: str) -> None:
        self.encoding = encoding.strip().lower()
        if self.encoding not in ("", "identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(url, f"unsupported Content-Encoding {encoding!r}")
        self.cap = cap
        self.url = url
        self.size = 0
        self.parts: list[bytes] = []
        # wbits 47 = 32 + 15: zlib or gzip header detected automatically.
        self.inflater = zlib.decompressobj(47) if self.encoding not in ("", "identity") else None

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise BodyTooLargeError(self.url, f"body larger than {self.cap} bytes once decompressed")
        self.parts.append(data)

    def feed(self, chunk: bytes) -> None:
        if self.inflater is None:
            self._keep(chunk)
            return
        data = chunk
        try:
            while data:
                out = self.inflater.decompress(data, self.cap - self.size + 1)
                self._keep(out)
                data = self.inflater.unconsumed_tail
        except zlib.error as exc:
            raise FetchError(self.url, f"corrupt {self.encoding} body: {exc}") from exc

    def finish(self) -> bytes:
        if self.inflater is not None:
            self._keep(self.inflater.flush())
        return b"".join(self.parts)


@dataclass
class RobotsCache:
    parsers: dict[str, urllib.robotparser.RobotFileParser | None] = field(default_factory=dict)
    locks: dict[str, asyncio.Lock] = field(default_factory=lambda: defaultdict(asyncio.Lock))


class Fetcher:
    """An async HTTP client for feeds and pages. Use as ``async with Fetcher(settings) as fetcher``."""

    def __init__(self, settings: FetchSettings, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.settings = settings
        self.policy = HostPolicy.from_allow_list(settings.allow_hosts)
        self.transport = transport
        self.total = asyncio.Semaphore(settings.total_concurrency)
        self.per_host: dict[str, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.per_host_concurrency)
        )
        self.robots = RobotsCache()
        self.client: httpx.AsyncClient | None = None

    async def __aenter__(self) -> Fetcher:
        timeout = httpx.Timeout(self.settings.deadline_seconds, connect=self.settings.connect_timeout_seconds)
        self.client = httpx.AsyncClient(
            transport=self.transport or httpx.AsyncHTTPTransport(retries=0),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(
                max_connections=self.settings.total_concurrency, max_keepalive_connections=32
            ),
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.client is not None:
            await self.client.aclose()

    async def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str | None = None,
    ) -> Response:
        """GET with redirects, conditional headers and every limit; raises FetchError on failure."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(self.settings.deadline_seconds):
                return await self._follow(url, etag, last_modified, accept, started)
        except TimeoutError as exc:
            raise DeadlineExceededError(
                url, f"no complete response within the {self.settings.deadline_seconds:g}s deadline"
            ) from exc

    async def _follow(
        self, url: str, etag: str | None, last_modified: str | None, accept: str | None, started: float
    ) -> Response:
        headers = {"Accept": accept} if accept else {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        hops: list[tuple[int, str]] = []
        current = url
        for _ in range(self.settings.max_redirects + 1):
            status, response_headers, body = await self._one_request(current, headers)
            location = response_headers.get("location")
            if status in REDIRECT_STATUSES and location:
                current = urljoin(current, location)
                hops.append((status, current))
                continue
            elapsed = int((time.monotonic() - started) * 1000)
            return Response(current, status, response_headers, body, tuple(hops), elapsed)
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects")

    async def _one_request(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http(s) URLs are fetched")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self.policy.check(parts.hostname, port)
        assert self.client is not None, "use Fetcher as an async context manager"
        async with self.total, self.per_host[parts.hostname.lower()]:
            try:
                async with self.client.stream("GET", url, headers=headers) as response:
                    response_headers = {k.lower(): v for k, v in response.headers.items()}
                    if response.status_code in REDIRECT_STATUSES or response.status_code == 304:
                        return response.status_code, response_headers, b""
                    decoder = CappedDecoder(
                        response_headers.get("content-encoding", ""), self.settings.max_body_bytes, url
                    )
                    declared = response_headers.get("content-length", "")
                    if decoder.inflater is None and declared.isdigit() and int(declared) > decoder.cap:
                        raise BodyTooLargeError(
                            url, f"Content-Length {declared} is over the {decoder.cap} byte cap"
                        )
                    async for chunk in response.aiter_raw(CHUNK):
                        decoder.feed(chunk)
                    return response.status_code, response_headers, decoder.finish()
            except httpx.HTTPError as exc:
                raise FetchError(url, f"{type(exc).__name__}: {exc}".rstrip(": ")) from exc

    async def allowed_by_robots(self, url: str) -> bool:
        """robots.txt of the URL's origin (RFC 9309: 4xx means no rules; 5xx or no answer means keep out)."""
        if not self.settings.respect_robots:
            return True
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self.robots.locks[origin]:
            if origin not in self.robots.parsers:
                self.robots.parsers[origin] = await self._load_robots(origin)
        parser = self.robots.parsers[origin]
        return True if parser is None else parser.can_fetch("scooptrace", url)

    async def _load_robots(self, origin: str) -> urllib.robotparser.RobotFileParser | None:
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        try:
            response = await self.get(origin + "/robots.txt", accept="text/plain")
        except FetchError as exc:
            log.info("robots=%s unreachable (%s): pages of this site are skipped", origin, exc.reason)
            parser.parse(DISALLOW_ALL)
            return parser
        if 400 <= response.status < 500:
            return None
        if response.status >= 500:
            parser.parse(DISALLOW_ALL)
            return parser
        parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
        return parser
