"""Feed parsing: bytes and response headers in, plain entries out (feedparser never does HTTP here)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin

import feedparser
import lxml.html

# An internal DTD subset is where entity-expansion attacks live; no real feed needs one.
INTERNAL_SUBSET = re.compile(rb"<!DOCTYPE[^>\[]*\[.*?\]\s*>", re.DOTALL | re.IGNORECASE)
HTML_START = re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html)", re.DOTALL | re.IGNORECASE)


@dataclass(frozen=True)
class FeedEntry:
    link: str
    title: str | None
    summary: str | None
    published_raw: str | None
    guid: str | None


@dataclass(frozen=True)
class ParsedFeed:
    version: str  # feedparser's name (rss20, atom10, rss10, ...), or "" when it is not a feed
    title: str | None
    language: str | None
    entries: tuple[FeedEntry, ...]
    problem: str | None = None  # why nothing could be used (HTML page, not a feed)
    warning: str | None = None  # bozo: malformed but usable
    malformed: bool = False  # not well-formed (bozo), e.g. cut off mid-body: its validators must not be kept
    ttl_minutes: int | None = None  # RSS <ttl>: how long the publisher asks readers to cache the feed


def strip_markup(fragment: str | None) -> str | None:
    """Plain text of an HTML fragment from a feed (summaries are untrusted markup)."""
    if not fragment:
        return None
    if "<" not in fragment and "&" not in fragment:
        return fragment.strip() or None
    try:
        text = lxml.html.fragment_fromstring(fragment, create_parent="div").text_content()
    except Exception:  # lxml raises several unrelated types on broken fragments
        text = re.sub(r"<[^>]+>", " ", fragment)
    return " ".join(text.split()) or None


def parse_feed(body: bytes, headers: Mapping[str, str], url: str) -> ParsedFeed:
    """Parse a feed body; a page of HTML is recognised and reported, a malformed feed still yields entries."""
    if HTML_START.match(body[:2048]):
        return ParsedFeed("", None, None, (), problem=f"HTML page served as a feed ({content_type(headers)})")
    cleaned = INTERNAL_SUBSET.sub(b"", body, count=1)
    stripped_dtd = cleaned is not body and len(cleaned) != len(body)
    result = feedparser.parse(
        cleaned, response_headers={k.lower(): v for k, v in headers.items()}, sanitize_html=True
    )
    entries = tuple(e for e in (_entry(raw, url) for raw in result.entries) if e is not None)
    version = result.get("version", "") or ""
    if not version and not entries:
        kind = content_type(headers)
        return ParsedFeed("", None, None, (), problem=f"not an RSS/Atom feed ({kind})")
    warning = None
    malformed = bool(result.get("bozo"))
    if malformed:
        warning = f"malformed feed: {result.get('bozo_exception')}"
    if stripped_dtd:
        warning = "DOCTYPE with entity declarations removed" + (f"; {warning}" if warning else "")
    feed = result.get("feed", {})
    ttl = str(feed.get("ttl") or "").strip()
    return ParsedFeed(
        version, feed.get("title"), feed.get("language"), entries, warning=warning, malformed=malformed,
        ttl_minutes=int(ttl) if ttl.isdigit() else None,
    )  # fmt: skip


def content_type(headers: Mapping[str, str]) -> str:
    for key, value in headers.items():
        if key.lower() == "content-type":
            return value
    return "no content-type"


def _entry(raw: Mapping[str, object], feed_url: str) -> FeedEntry | None:
    link = str(raw.get("link") or "").strip()
    guid = str(raw.get("id") or "").strip() or None
    if not link and guid and guid.startswith(("http://", "https://")):
        link = guid
    if not link:
        return None
    link = urljoin(feed_url, link)
    if not link.startswith(("http://", "https://")):
        return None
    published = raw.get("published") or raw.get("updated") or raw.get("created") or raw.get("dc_date")
    summary = raw.get("summary")
    return FeedEntry(
        link=link,
        title=strip_markup(str(raw["title"])) if raw.get("title") else None,
        summary=strip_markup(str(summary)) if summary else None,
        published_raw=str(published) if published else None,
        guid=guid,
    )
