"""The crawler's HTTP client: a good citizen that nothing on the open web can break.

Every request has a total deadline (connect, headers and body together), a cap on the decompressed body,
per-host and total concurrency limits, redirects followed by hand so the network-safety rule is checked on
every hop, and an honest User-Agent. robots.txt is consulted for article pages.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import importlib.util
import logging
import sys
import time
import urllib.robotparser
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar
from urllib.parse import urljoin, urlsplit

import httpx

from common.errors import BodyTooLargeError, DeadlineExceededError, FetchError
from common.settings import FetchSettings

# httpcore runs `import sniffio` on every request; sniffio is not installed here, and each failed import
# searches the whole sys.path again (measured: a sixth of the CPU of a 2,000-feed cycle). A None entry in
# sys.modules makes that import fail at once, and httpcore then assumes asyncio, which is what we run.
if importlib.util.find_spec("sniffio") is None:
    sys.modules.setdefault("sniffio", None)  # type: ignore[arg-type]

from ingest.netsafety import HostPolicy

log = logging.getLogger("scooptrace.fetch")
T = TypeVar("T")

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
CHUNK = 64 * 1024
DRAIN_LIMIT = 64 * 1024  # bytes read from an unwanted body before the connection is given up instead


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
            raise FetchError(url, f"unsupported Content-Encoding {encoding!r}", transient=False)
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


async def drain(response: httpx.Response) -> None:
    """Read what is left of a body we do not need (a 304's or a redirect's, normally empty); a long one is
    abandoned, which closes that connection instead of reading megabytes."""
    read = 0
    async for chunk in response.aiter_raw(CHUNK):
        read += len(chunk)
        if read > DRAIN_LIMIT:
            break


class RequestBudget:
    """The deadline of one request, counted only while it runs (not while it waits for a slot)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.spent = 0.0

    def remaining(self) -> float:
        return max(0.0, self.seconds - self.spent)

    @property
    def elapsed_ms(self) -> int:
        return int(self.spent * 1000)

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            self.spent += time.monotonic() - started


ALLOW, DISALLOW, UNAVAILABLE = "allow", "disallow", "unavailable"


@dataclass(frozen=True)
class RobotsRules:
    """One origin's robots.txt: rules (None: no rules, allow all), or unavailable until ``retry_at``."""

    parser: urllib.robotparser.RobotFileParser | None
    unavailable: bool = False
    retry_at: float = 0.0  # monotonic time after which an unavailable robots.txt is asked again


@dataclass
class RobotsCache:
    rules: dict[str, RobotsRules] = field(default_factory=dict)
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
        # Requests in flight are bounded by our own semaphores; the pool only keeps connections (one per host
        # slot) so that a host's next feed reuses its connection. The limits go to the transport itself: a
        # client given a transport ignores its own `limits` (the default keeps 20 connections, and then
        # closes every idle one: a new connection per request).
        # An idle connection is kept 30 s (httpx's default is 5 s): with 200 hosts in turn, a host's next
        # feed can come more than 5 s later on a busy machine. A server that closed it first is noticed.
        limits = httpx.Limits(
            max_connections=self.settings.keepalive_connections,
            max_keepalive_connections=self.settings.keepalive_connections,
            keepalive_expiry=30.0,
        )
        self.client = httpx.AsyncClient(
            transport=self.transport or httpx.AsyncHTTPTransport(retries=0, limits=limits),
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
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
        """GET with redirects, conditional headers and every limit; raises FetchError on failure.

        The deadline covers the request itself (connect, headers, body, every redirect hop), not the time
        spent waiting for a concurrency slot: 10,000 feeds queued at once must not time out in the queue.
        """
        headers = {"Accept": accept} if accept else {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        hops: list[tuple[int, str]] = []
        current = url
        budget = RequestBudget(self.settings.deadline_seconds)
        for _ in range(self.settings.max_redirects + 1):
            status, response_headers, body = await self._one_request(current, headers, budget)
            location = response_headers.get("location")
            if status in REDIRECT_STATUSES and location:
                current = urljoin(current, location)
                hops.append((status, current))
                continue
            return Response(current, status, response_headers, body, tuple(hops), budget.elapsed_ms)
        raise FetchError(url, f"more than {self.settings.max_redirects} redirects", transient=False)

    async def _one_request(
        self, url: str, headers: dict[str, str], budget: RequestBudget
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError(url, "only http(s) URLs are fetched", transient=False)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        await self._within(budget, url, self.policy.check(parts.hostname, port))
        # The host's slot first, then a global one: a task waiting for a busy host holds no global slot.
        async with self.per_host[parts.hostname.lower()], self.total:
            return await self._within(budget, url, self._exchange(url, headers))

    async def _within(self, budget: RequestBudget, url: str, step: Awaitable[T]) -> T:
        """Run one step of a request against what is left of its deadline."""
        with budget.running():
            try:
                async with asyncio.timeout(budget.remaining()):
                    return await step
            except TimeoutError as exc:
                raise DeadlineExceededError(
                    url, f"no complete response within the {self.settings.deadline_seconds:g}s deadline"
                ) from exc

    async def _exchange(self, url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        assert self.client is not None, "use Fetcher as an async context manager"
        try:
            async with self.client.stream("GET", url, headers=headers) as response:
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code in REDIRECT_STATUSES or response.status_code == 304:
                    await drain(response)  # read to the end so the connection goes back to the pool
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

    async def robots_verdict(self, url: str) -> str:
        """robots.txt of the URL's origin, per RFC 9309: ALLOW or DISALLOW by its rules (a 4xx means no
        rules); UNAVAILABLE when it answered 5xx or not at all: keep out for now, ask again later."""
        if not self.settings.respect_robots:
            return ALLOW
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}"
        async with self.robots.locks[origin]:
            rules = self.robots.rules.get(origin)
            if rules is None or (rules.unavailable and time.monotonic() >= rules.retry_at):
                rules = await self._load_robots(origin)
                self.robots.rules[origin] = rules
        if rules.unavailable:
            return UNAVAILABLE
        if rules.parser is None or rules.parser.can_fetch("scooptrace", url):
            return ALLOW
        return DISALLOW

    async def allowed_by_robots(self, url: str) -> bool:
        return await self.robots_verdict(url) == ALLOW

    async def _load_robots(self, origin: str) -> RobotsRules:
        retry_at = time.monotonic() + self.settings.robots_retry_seconds
        try:
            response = await self.get(origin + "/robots.txt", accept="text/plain")
        except FetchError as exc:
            log.info("robots=%s unreachable (%s): this site's pages wait for a later try", origin, exc.reason)
            return RobotsRules(None, unavailable=True, retry_at=retry_at)
        if 400 <= response.status < 500:
            return RobotsRules(None)
        if response.status >= 500:
            log.info("robots=%s HTTP %d: this site's pages wait for a later try", origin, response.status)
            return RobotsRules(None, unavailable=True, retry_at=retry_at)
        parser = urllib.robotparser.RobotFileParser(origin + "/robots.txt")
        parser.parse(response.body.decode("utf-8", errors="replace").splitlines())
        return RobotsRules(parser)
