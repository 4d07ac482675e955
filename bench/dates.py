"""Publication-time benchmark on saved real pages behind weak feeds (127.0.0.1 only, no internet).

Every page of tests/data/pages (hand-checked truth in truth.csv) is served by a local HTTP server at its
original URL path, next to an RSS feed whose only item links to it with a weak date:
  none      no date at all;
  naive     the page's own wall-clock time (or day) without a zone;
  midnight  the right calendar day at 00:00:00 +0000.
For each page and feed, the script fetches the feed and the page over HTTP, parses the feed with ingest's
parser, extracts the page with ingest's extractor (our structured claims, then htmldate with the URL last)
and reconciles the claims (common.timeclaims), as `scooptrace ingest` does for one page. It does not run the
whole ingest command: the figures are those of the extraction and reconciliation functions on served pages.

Figures, for the tuning set, the evaluation set and all pages:
  day        the calendar day (where the page was written) is right;
  zoned      a time within 60 s of the truth, labelled as a real instant (pages whose truth is a time);
  mislabel   rows labelled page or feed with second/minute precision whose time no zone-aware timestamp in
             the page supports;
and, side by side, plain htmldate (trafilatura's default date settings) on the same pages.

    .venv/bin/python bench/dates.py [--set tune|eval|all] [--show-misses]
"""

from __future__ import annotations

import argparse
import csv
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

# This script is bench/dates.py: keep its folder off the path so `ingest` is the project's package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import httpx  # noqa: E402

from common.timeclaims import MINUTE, SECOND, ZONED, parse_time_claim  # noqa: E402
from ingest.dates import feed_days_by_outlet, outlet_zones, page_time  # noqa: E402
from ingest.extract import extract_page  # noqa: E402
from ingest.parse import parse_feed  # noqa: E402

PAGES = Path(__file__).resolve().parent.parent / "tests" / "data" / "pages"
FEEDS = ("none", "naive", "midnight")
TOLERANCE = timedelta(seconds=60)
# First sight: two hours after the truth (a day truth: the end of its day plus two hours).
SEEN_AFTER = timedelta(hours=2)
# Zone-aware timestamps as a page may write them, for the mislabel check (read with common.timeclaims).
STAMP = re.compile(
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?(?:\.\d+)?\s*(?:Z|[+-]\d\d:?\d\d|UTC|GMT)"
    r"|\d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d(?::\d\d)? (?:[+-]\d{4}|GMT|UTC|[ECMP][SD]T)"
)


@dataclass(frozen=True)
class Truth:
    file: str
    url: str
    truth: str
    precision: str  # second | minute | day
    template: str
    set: str  # tune | eval

    @property
    def instant(self) -> datetime | None:
        if self.precision == "day":
            return None
        return datetime.fromisoformat(self.truth).astimezone(UTC)

    @property
    def day(self) -> date:
        return date.fromisoformat(self.truth[:10])

    @property
    def first_seen(self) -> datetime:
        if self.instant is not None:
            return self.instant + SEEN_AFTER
        return datetime.combine(self.day + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + SEEN_AFTER

    def feed_date(self, kind: str) -> str | None:
        """The weak date the feed item carries."""
        if kind == "none":
            return None
        if kind == "midnight":
            return f"{self.day:%a, %d %b %Y} 00:00:00 +0000"
        if self.precision == "day":
            return f"{self.day:%a, %d %b %Y} 00:00:00"
        wall = datetime.fromisoformat(self.truth)
        return f"{wall:%a, %d %b %Y %H:%M:%S}"  # the page's own wall clock, zone dropped


def load_truth() -> list[Truth]:
    with (PAGES / "truth.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [Truth(r["file"], r["url"], r["truth"], r["precision"], r["template"], r["set"]) for r in rows]


def route_path(url: str) -> str:
    parts = urlsplit(url if "://" in url else "http://" + url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def rss(title: str, link: str, published: str | None) -> bytes:
    date_tag = f"<pubDate>{published}</pubDate>" if published else ""
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>bench</title>'
        f"<link>{escape(link)}</link><item><title>{escape(title)}</title><link>{escape(link)}</link>"
        f"{date_tag}</item></channel></rss>"
    ).encode()


class Routes(dict[str, tuple[bytes, str]]):
    """path -> (body, content type), served by the local server."""


def make_handler(routes: Routes) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = routes.get(self.path)
            if found is None:
                self.send_error(404)
                return
            body, kind = found
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@contextmanager
def serve(routes: Routes) -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), make_handler(routes))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Row:
    truth: Truth
    feed: str
    source: str
    precision: str
    published_at: datetime
    day: date | None
    note: str | None
    supported: bool

    @property
    def day_ok(self) -> bool:
        return self.day == self.truth.day

    @property
    def time_ok(self) -> bool:
        instant = self.truth.instant
        return (
            instant is not None
            and self.precision in (SECOND, MINUTE)
            and abs(self.published_at - instant) <= TOLERANCE
        )

    @property
    def mislabelled(self) -> bool:
        return self.source in ("page", "feed") and self.precision in (SECOND, MINUTE) and not self.supported


def page_stamps(html: str) -> list[datetime]:
    """Every zone-aware instant written anywhere in the page."""
    found = []
    for match in STAMP.finditer(html):
        claim = parse_time_claim(match.group(0), "scan")
        if claim is not None and claim.kind == ZONED and claim.instant is not None:
            found.append(claim.instant)
    return found


def measure(truths: list[Truth]) -> list[Row]:
    """Serve every page behind each weak feed and reconcile what ingest's functions read."""
    routes = Routes()
    for truth in truths:
        content_type = "text/html" if "charset=iso-8859" in _head(truth) else "text/html; charset=utf-8"
        routes[route_path(truth.url)] = ((PAGES / truth.file).read_bytes(), content_type)
        for kind in FEEDS:
            routes[f"/__feeds/{truth.file}/{kind}.xml"] = (b"", "application/rss+xml")
    rows = []
    with serve(routes) as base, httpx.Client(timeout=10) as client:
        for truth in truths:
            page_url = base + route_path(truth.url)
            for kind in FEEDS:
                feed_path = f"/__feeds/{truth.file}/{kind}.xml"
                routes[feed_path] = (rss(truth.file, page_url, truth.feed_date(kind)), "application/rss+xml")
                rows.append(one_row(client, base, feed_path, truth, kind))
    return rows


def _head(truth: Truth) -> str:
    return (PAGES / truth.file).read_bytes()[:2000].decode("latin-1").lower()


def one_row(client: httpx.Client, base: str, feed_path: str, truth: Truth, kind: str) -> Row:
    feed_response = client.get(base + feed_path)
    feed = parse_feed(feed_response.content, dict(feed_response.headers), base + feed_path)
    entry = feed.entries[0]
    page_response = client.get(entry.link)
    # The page is extracted under its original URL, as the crawler would have fetched it there.
    result = extract_page(truth.url, page_response.content, page_response.headers.get("content-type"))
    feed_claim = parse_time_claim(entry.published_raw, "feed")
    zones = outlet_zones({truth.file: [*result.date_claims, *([feed_claim] if feed_claim else [])]})
    days = feed_days_by_outlet({truth.file: [entry.published_raw]})
    when = page_time(
        result.date_claims,
        entry.published_raw,
        truth.first_seen,
        outlet_zone=zones.get(truth.file),
        feed_days=days[truth.file],
    )
    html = page_response.content.decode("utf-8", errors="replace")
    written = page_stamps(html) + [
        c.instant for c in result.date_claims if c.instant and c.origin != "htmldate"
    ]
    supported = any(abs(when.published_at - stamp) <= TOLERANCE for stamp in written)
    return Row(truth, kind, when.source, when.precision, when.published_at, when.day, when.note, supported)


def htmldate_baseline(truths: list[Truth]) -> tuple[int, int, int]:
    """Plain htmldate as trafilatura calls it by default: (days right, zone-aware times right, timed pages)."""
    from htmldate import find_date

    days = times = timed = 0
    for truth in truths:
        html = (PAGES / truth.file).read_bytes()
        found = find_date(
            html,
            url=truth.url,
            original_date=True,
            outputformat="%Y-%m-%dT%H:%M:%S%z",
            extensive_search=False,
        )
        claim = parse_time_claim(found, "htmldate")
        days += claim is not None and claim.day == truth.day
        if truth.instant is not None:
            timed += 1
            times += bool(claim and claim.instant and abs(claim.instant - truth.instant) <= TOLERANCE)
    return days, times, timed


def report(name: str, rows: list[Row], truths: list[Truth]) -> None:
    if not rows:
        return
    timed = [r for r in rows if r.truth.instant is not None]
    day_ok = sum(r.day_ok for r in rows)
    time_ok = sum(r.time_ok for r in timed)
    mislabelled = sum(r.mislabelled for r in rows)
    base_days, base_times, base_timed = htmldate_baseline(truths)
    print(
        f"{name:<5} pages={len(truths):3d} rows={len(rows):3d}  day={day_ok / len(rows):.3f} ({day_ok}/{len(rows)})"
        f"  zoned={time_ok / max(1, len(timed)):.3f} ({time_ok}/{len(timed)})  mislabelled={mislabelled}"
        f"   | plain htmldate: day={base_days / len(truths):.3f}"
        f" zoned={base_times / max(1, base_timed):.3f} ({base_times}/{base_timed})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--set", choices=("tune", "eval", "all"), default="all")
    parser.add_argument("--show-misses", action="store_true")
    args = parser.parse_args()
    truths = load_truth()
    rows = measure(truths if args.set == "all" else [t for t in truths if t.set == args.set])
    templates = len({t.template for t in truths})
    print(f"{len(truths)} saved pages, {templates} templates; feeds: {', '.join(FEEDS)}")
    for name in ("tune", "eval"):
        if args.set in (name, "all"):
            report(name, [r for r in rows if r.truth.set == name], [t for t in truths if t.set == name])
    if args.set == "all":
        report("all", rows, truths)
    if args.show_misses:
        for row in rows:
            if not row.day_ok or (row.truth.instant is not None and not row.time_ok) or row.mislabelled:
                print(
                    f"  {row.truth.file} feed={row.feed} -> {row.source}/{row.precision} "
                    f"{row.published_at:%Y-%m-%dT%H:%M:%S%z} day={row.day} truth={row.truth.truth} | {row.note}"
                )


if __name__ == "__main__":
    main()
