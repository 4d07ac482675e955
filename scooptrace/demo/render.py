"""Render the demo world as HTTP resources: feeds (RSS 2.0, Atom, RSS 1.0), article pages, status feeds, OPML.

Pure functions: world objects and a clock in, text out. The server encodes and serves what these return.
URLs (``base`` is ``http://127.0.0.1:PORT``):

- ``/o/<outlet>/``: the outlet's home page; ``/o/<outlet>/feeds/<feed>.xml``: its feeds
- ``/o/<outlet>/news/<slug>``: an article (``/o/<outlet>/members/<slug>`` for members-only pages)
- ``/status/<page>.atom``: a status page's incident feed; ``/robots.txt``
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

from scooptrace.demo.model import LINK, Article, FeedSpec, Outlet, StatusPage, World

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Members-only pages are closed to crawlers; everything else is open.
ROBOTS_TXT = "User-agent: *\nDisallow: /admin/\nDisallow: /o/harbor-herald/members/\n"


def local_article_path(world: World, article: Article) -> str:
    """An article's path. No date in it: htmldate takes a dated canonical URL (day only) over the page's
    zone-aware ``article:published_time``, and the demo wants the page's full claim to be found."""
    section = "members" if article.members else "news"
    return f"/o/{article.outlet}/{section}/{article.slug}"


def feed_path(feed: FeedSpec) -> str:
    return f"/o/{feed.outlet}/feeds/{feed.feed_id}.xml"


def status_path(page: StatusPage) -> str:
    return f"/status/{page.slug}.atom"


def http_date(instant: datetime) -> str:
    utc = instant.astimezone(UTC)
    return f"{DAYS[utc.weekday()]}, {utc:%d} {MONTHS[utc.month - 1]} {utc:%Y %H:%M:%S} GMT"


def rfc822(instant: datetime, outlet: Outlet, style: str) -> str:
    """An RSS date in the outlet's habit: numeric offset, zone name, UTC or naive local time."""
    if style == "utc":
        return http_date(instant)
    local = instant.astimezone(outlet.zone)
    head = f"{DAYS[local.weekday()]}, {local:%d} {MONTHS[local.month - 1]} {local:%Y %H:%M:%S}"
    if style == "naive":
        return head
    if style == "zone_name":
        return f"{head} {local.tzname()}"
    return f"{head} {local:%z}"


def iso_date(instant: datetime, outlet: Outlet, style: str) -> str:
    if style == "utc":
        return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    local = instant.astimezone(outlet.zone)
    if style == "naive":
        return local.strftime("%Y-%m-%dT%H:%M:%S")
    return local.isoformat(timespec="seconds")


def visible_entries(world: World, feed: FeedSpec, clock: datetime) -> list[Article]:
    """The newest articles of this feed published at or before the clock, newest first."""
    entries = [
        a for a in world.outlet_articles(feed.outlet) if feed.feed_id in a.feeds and a.published <= clock
    ]
    entries.sort(key=lambda a: a.published, reverse=True)
    return entries[: world.feed_size]


def entry_link(world: World, base: str, feed: FeedSpec, article: Article) -> str:
    url = base + local_article_path(world, article)
    return f"{url}?{feed.tracking}" if feed.tracking else url


def render_feed(world: World, base: str, feed: FeedSpec, clock: datetime) -> tuple[str, datetime | None]:
    """The feed's XML text (to be encoded in ``feed.encoding``) and its newest entry's time."""
    entries = visible_entries(world, feed, clock)
    newest = entries[0].published if entries else None
    render = {"rss2": _rss2, "atom": _atom, "rss1": _rss1}[feed.format]
    return render(world, base, feed, entries, newest), newest


def _x(text: str) -> str:
    return xml_escape(text)


def _rss2(world: World, base: str, feed: FeedSpec, entries: list[Article], newest: datetime | None) -> str:
    outlet = world.outlets[feed.outlet]
    items = []
    for a in entries:
        date = "" if feed.dates == "none" else f"<pubDate>{rfc822(a.published, outlet, feed.dates)}</pubDate>"
        items.append(
            f"<item><title>{_x(a.title)}</title><link>{_x(entry_link(world, base, feed, a))}</link>"
            f'<guid isPermaLink="false">{_x(outlet.slug)}-{_x(a.slug)}</guid>{date}'
            f"<dc:creator>{_x(a.author)}</dc:creator><description>{_x(a.summary)}</description></item>"
        )
    built = (
        ""
        if newest is None or feed.dates == "none"
        else f"<lastBuildDate>{rfc822(newest, outlet, feed.dates)}</lastBuildDate>"
    )
    return (
        f'<?xml version="1.0" encoding="{feed.encoding}"?>\n'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">\n'
        f"<channel><title>{_x(feed.title)}</title><link>{base}/o/{outlet.slug}/</link>"
        f"<description>{_x(outlet.tagline)}</description><language>{outlet.language}</language>"
        f'<atom:link href="{base}{feed_path(feed)}" rel="self" type="application/rss+xml"/>{built}\n'
        + "\n".join(items)
        + "\n</channel></rss>\n"
    )


def _atom(world: World, base: str, feed: FeedSpec, entries: list[Article], newest: datetime | None) -> str:
    outlet = world.outlets[feed.outlet]
    style = "offset" if feed.dates in ("zone_name", "none") else feed.dates
    items = []
    for a in entries:
        when = iso_date(a.published, outlet, style)
        items.append(
            f"<entry><title>{_x(a.title)}</title><id>tag:{outlet.slug}.demo,2026:{_x(a.slug)}</id>"
            f'<link rel="alternate" type="text/html" href={quoteattr(entry_link(world, base, feed, a))}/>'
            f"<published>{when}</published><updated>{when}</updated>"
            f"<author><name>{_x(a.author)}</name></author><summary>{_x(a.summary)}</summary></entry>"
        )
    updated = iso_date(newest or world.rounds[0], outlet, style)
    return (
        f'<?xml version="1.0" encoding="{feed.encoding}"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{outlet.language}">\n'
        f"<title>{_x(feed.title)}</title><subtitle>{_x(outlet.tagline)}</subtitle>"
        f"<id>tag:{outlet.slug}.demo,2026:{feed.feed_id}</id><updated>{updated}</updated>"
        f'<link rel="self" href="{base}{feed_path(feed)}"/><link rel="alternate" href="{base}/o/{outlet.slug}/"/>\n'
        + "\n".join(items)
        + "\n</feed>\n"
    )


def _rss1(world: World, base: str, feed: FeedSpec, entries: list[Article], newest: datetime | None) -> str:
    outlet = world.outlets[feed.outlet]
    links = [entry_link(world, base, feed, a) for a in entries]
    seq = "".join(f"<rdf:li rdf:resource={quoteattr(link)}/>" for link in links)
    items = []
    for a, link in zip(entries, links, strict=True):
        date = (
            "" if feed.dates == "none" else f"<dc:date>{iso_date(a.published, outlet, feed.dates)}</dc:date>"
        )
        items.append(
            f"<item rdf:about={quoteattr(link)}><title>{_x(a.title)}</title><link>{_x(link)}</link>"
            f"<description>{_x(a.summary)}</description>{date}<dc:creator>{_x(a.author)}</dc:creator>"
            f"<dc:language>{outlet.language}</dc:language></item>"
        )
    return (
        f'<?xml version="1.0" encoding="{feed.encoding}"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/">\n'
        f'<channel rdf:about="{base}{feed_path(feed)}"><title>{_x(feed.title)}</title>'
        f"<link>{base}/o/{outlet.slug}/</link><description>{_x(outlet.tagline)}</description>"
        f"<items><rdf:Seq>{seq}</rdf:Seq></items></channel>\n" + "\n".join(items) + "\n</rdf:RDF>\n"
    )


def render_status_feed(page: StatusPage, base: str, clock: datetime) -> tuple[str, datetime | None]:
    """A status page's incident posts up to the clock, as Atom."""
    entries = sorted((e for e in page.entries if e.posted <= clock), key=lambda e: e.posted, reverse=True)
    newest = entries[0].posted if entries else None
    items = [
        f"<entry><title>{_x(e.title)}</title><id>tag:status.demo,2026:{_x(e.entry_id)}</id>"
        f'<link rel="alternate" href="{base}/status/{page.slug}#{_x(e.entry_id)}"/>'
        f"<published>{e.posted:%Y-%m-%dT%H:%M:%SZ}</published><updated>{e.posted:%Y-%m-%dT%H:%M:%SZ}</updated>"
        f'<category term={quoteattr(page.service)}/><content type="text">{_x(e.text)}</content></entry>'
        for e in entries
    ]
    updated = (newest or datetime(2026, 9, 1, tzinfo=UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    text = (
        '<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{_x(page.title)}</title><id>tag:status.demo,2026:{page.slug}</id><updated>{updated}</updated>"
        f'<link rel="self" href="{base}{status_path(page)}"/><category term={quoteattr(page.service)}/>\n'
        + "\n".join(items)
        + "\n</feed>\n"
    )
    return text, newest


def render_opml(world: World, base: str) -> str:
    """Every feed of the world as OPML 2.0, the way a user would list them for ``scooptrace ingest``."""
    lines = []
    for outlet in world.outlets.values():
        for feed in outlet.feeds:
            lines.append(
                f'    <outline type="rss" text={quoteattr(outlet.name)} title={quoteattr(feed.title)}'
                f' xmlUrl="{base}{feed_path(feed)}" htmlUrl="{base}/o/{outlet.slug}/"'
                f' language="{outlet.language}"/>'
            )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<opml version="2.0">\n'
        f"  <head><title>{_x(world.name)}</title></head>\n  <body>\n"
        + "\n".join(lines)
        + "\n  </body>\n</opml>\n"
    )


def body_html(world: World, base: str, paragraph: str) -> str:
    """One paragraph with its ``[anchor](target)`` links turned into HTML."""
    out, last = [], 0
    for match in LINK.finditer(paragraph):
        out.append(escape(paragraph[last : match.start()]))
        anchor, target = match.group(1), match.group(2)
        if target.startswith("@"):
            key, _, query = target[1:].partition("?")
            href = base + local_article_path(world, world.articles[key]) + (f"?{query}" if query else "")
        else:
            href = target
        out.append(f'<a href="{escape(href)}">{escape(anchor)}</a>')
        last = match.end()
    out.append(escape(paragraph[last:]))
    return "".join(out)
