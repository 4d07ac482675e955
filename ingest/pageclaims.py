"""The publication-time claims of one article page, read by our own code in a stated order (pure, no I/O).

Order (first is strongest; a zoned claim still beats every naive or date-only one, see common.timeclaims):
  1. JSON-LD ``datePublished`` of NewsArticle and its kin (``@graph`` and lists included), then of other types;
  2. ``<meta property="article:published_time">`` and its common kin (Parse.ly's ``pub_date`` last);
  3. ``itemprop="datePublished"`` (``content``, ``datetime`` or text);
  4. ``<time datetime>`` in the article's header (``<article>``'s ``<header>``, else the first in ``<article>``);
  5. Dublin Core (``DC.date.issued``, ``dcterms.issued``, ``DC.date``, ...), then a Google PageMap's
     ``unixdate`` (epoch seconds, so UTC) in a head comment;
  6. htmldate's answer, run with the URL consulted last (``deferred_url_extractor``);
  7. a date in the URL path, a calendar day only.
Every claim found is kept, so contradictions can be noted and shown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from common.timeclaims import SECOND, TimeClaim, from_instant, parse_time_claim

# JSON-LD types whose datePublished is the article's own publication time.
ARTICLE_TYPES = frozenset(
    {
        "newsarticle", "article", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
        "backgroundnewsarticle", "reviewnewsarticle", "askpublicnewsarticle", "blogposting", "liveblogposting",
        "socialmediaposting", "report", "scholarlyarticle", "techarticle", "satiricalarticle",
    }
)  # fmt: skip
META_PUBLISHED = (
    "article:published_time", "og:article:published_time", "og:published_time", "article:published",
    "article.published", "published_time", "published_at", "parsely-pub-date", "sailthru.date", "pubdate", "publishdate",
    "publish-date", "date",
)  # fmt: skip
DUBLIN_CORE = (
    "dc.date.issued",
    "dcterms.issued",
    "dc.date.created",
    "dcterms.created",
    "dc.date",
    "dcterms.date",
)
URL_DATES = (
    # /2023/11/08/, /2023/6/1/, /2013/middle_east/8/3/ (one section name between year and month)
    re.compile(r"/((?:19|20)\d{2})/(?:[a-z_]+/)?(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?:/|$)"),
    # /2023-11-08-slug, /20231108/, /2023/11-08
    re.compile(r"/((?:19|20)\d{2})[/-]?(0[1-9]|1[0-2])-?(0[1-9]|[12]\d|3[01])(?:/|-|_|\.|$)"),
)
MAX_JSONLD_CHARS = 200_000  # a script larger than this is not metadata
MAX_HEAD_CHARS = 400_000  # where a PageMap comment is looked for


def read_page_claims(
    tree: Any, url: str, htmldate_raw: str | None = None, html: str | bytes | None = None
) -> tuple[TimeClaim, ...]:
    """Every publication-time claim of the page, strongest first; duplicates (same origin and text) dropped."""
    found: list[TimeClaim] = []
    raws: list[tuple[str, str]] = []
    if tree is not None:
        raws += [("jsonld", raw) for raw in jsonld_dates(tree)]
        raws += [("meta", raw) for raw in _meta_values(tree, META_PUBLISHED) + _parsely_dates(tree)]
        raws += [("itemprop", raw) for raw in _itemprop_dates(tree)]
        raws += [("time", raw) for raw in _header_times(tree)]
        raws += [("dc", raw) for raw in _meta_values(tree, DUBLIN_CORE)]
    if html is not None:  # comments are gone from the parsed tree: read the PageMap from the source
        raws += [("pagemap", raw) for raw in pagemap_epochs(html)]
    if htmldate_raw:
        raws.append(("htmldate", htmldate_raw))
    url_day = url_date(url)
    if url_day:
        raws.append(("url", url_day))
    seen: set[tuple[str, str]] = set()
    for origin, raw in raws:
        key = (origin, raw.strip())
        if key in seen:
            continue
        seen.add(key)
        claim = _epoch_claim(raw) if origin == "pagemap" else parse_time_claim(raw, origin)
        if claim is not None:
            found.append(claim)
    return tuple(found)


def url_date(url: str) -> str | None:
    """The ``YYYY-MM-DD`` a URL path holds (``/2023/11/08/``, ``/2023/6/1/``, ``/2023-11-08-slug``), or None."""
    path = urlsplit(url if "://" in url else "http://" + url).path
    for pattern in URL_DATES:
        match = pattern.search(path)
        if match:
            year, month, day = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    return None


def jsonld_dates(tree: Any) -> list[str]:
    """``datePublished`` of every JSON-LD object: article types first, then the others, in page order."""
    articles: list[str] = []
    others: list[str] = []
    for script in tree.xpath('//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]'):
        text = (script.text or "").strip()
        if not text or len(text) > MAX_JSONLD_CHARS:
            continue
        try:
            data = json.loads(_strip_wrapping(text), strict=False)
        except ValueError:
            # Broken JSON is common (trailing commas, raw newlines): fall back to the field itself.
            others += re.findall(r'"datePublished"\s*:\s*"([^"]{6,40})"', text)
            continue
        for node in _nodes(data):
            published = node.get("datePublished")
            if isinstance(published, str) and published.strip():
                (articles if _is_article(node) else others).append(published)
    return articles + others


def _strip_wrapping(text: str) -> str:
    text = re.sub(r"^\s*(?://\s*)?<!\[CDATA\[|(?://\s*)?\]\]>\s*$", "", text)
    return text.strip().rstrip(";")


def _nodes(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every JSON object in a JSON-LD document (``@graph``, lists and nested objects), depth-limited."""
    if depth > 6:
        return
    if isinstance(data, list):
        for item in data:
            yield from _nodes(item, depth + 1)
    elif isinstance(data, dict):
        yield data
        for key in ("@graph", "mainEntity", "mainEntityOfPage", "hasPart", "itemListElement"):
            if key in data:
                yield from _nodes(data[key], depth + 1)


def _is_article(node: dict[str, Any]) -> bool:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return any(isinstance(k, str) and k.split(":")[-1].casefold() in ARTICLE_TYPES for k in kinds)


def _meta_values(tree: Any, names: tuple[str, ...]) -> list[str]:
    """``content`` of the ``<meta>`` tags whose property, name or itemprop is one of ``names``, by rank."""
    ranked: list[tuple[int, str]] = []
    for meta in tree.xpath("//meta[@content]"):
        for attribute in ("property", "name", "itemprop"):
            key = (meta.get(attribute) or "").strip().casefold()
            if key in names:
                ranked.append((names.index(key), meta.get("content")))
                break
    return [content for _rank, content in sorted(ranked, key=lambda pair: pair[0])]


def _parsely_dates(tree: Any) -> list[str]:
    """``pub_date`` of Parse.ly's ``parsely-page`` meta (a JSON object, common on WordPress VIP sites)."""
    dates = []
    for content in tree.xpath('//meta[@name="parsely-page"]/@content'):
        try:
            value = json.loads(str(content), strict=False).get("pub_date")
        except (ValueError, AttributeError):
            continue
        if isinstance(value, str) and value.strip():
            dates.append(value)
    return dates


_PAGEMAP_EPOCH = re.compile(r'<Attribute\s+name="unixdate"\s*>\s*(\d{9,10})\s*</Attribute>', re.IGNORECASE)


def pagemap_epochs(html: str | bytes) -> list[str]:
    """``unixdate`` of a Google PageMap block, which publishers put in an HTML comment in the head."""
    text = html.decode("utf-8", "replace") if isinstance(html, bytes) else html
    head = text[: max(text.lower().find("</head"), 0) or MAX_HEAD_CHARS][:MAX_HEAD_CHARS]
    found = []
    for comment in re.findall(r"<!--(.*?)-->", head, re.DOTALL):
        if "PageMap" in comment:
            found += _PAGEMAP_EPOCH.findall(comment)
    return found


def _epoch_claim(raw: str) -> TimeClaim | None:
    moment = datetime.fromtimestamp(int(raw), UTC)
    if not 1990 <= moment.year <= 2100:
        return None
    return replace(from_instant(moment, "pagemap"), raw=raw, precision=SECOND)


def _itemprop_dates(tree: Any) -> list[str]:
    values = []
    for element in tree.xpath('//*[@itemprop="datePublished"]'):
        if element.tag == "meta":
            continue  # read with the meta tags' own rank only when nothing better exists
        raw = element.get("datetime") or element.get("content") or " ".join(element.itertext())
        if raw and raw.strip():
            values.append(raw.strip())
    values += [m.get("content") for m in tree.xpath('//meta[@itemprop="datePublished"][@content]')]
    return values


def _header_times(tree: Any) -> list[str]:
    """``datetime`` of the publication ``<time>`` in the article header, first match of each path."""
    paths = (
        "//article//header//time[@datetime]",
        "//time[@pubdate][@datetime]",
        "//article//time[@datetime]",
        "//header//time[@datetime]",
    )
    for path in paths:
        found = tree.xpath(path)
        if found:
            return [str(found[0].get("datetime"))]
    return []
