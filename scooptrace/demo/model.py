"""The demo world as plain data: load the TOML files under ``world/`` into frozen dataclasses.

Nothing here does network I/O; the server renders these objects and the replay advances a clock over them.
The format is documented in ``world/README.md``.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from common.errors import UsageError

WORLD_DIR = Path(__file__).parent / "world"
FEED_FORMATS = ("rss2", "atom", "rss1")
DATE_STYLES = ("offset", "zone_name", "utc", "naive", "none")
# ``[anchor](@outlet/slug?query)`` links to another article of the world; ``[anchor](https://...)`` elsewhere.
LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


@dataclass(frozen=True)
class FeedSpec:
    outlet: str
    feed_id: str
    title: str
    format: str  # rss2 | atom | rss1
    dates: str  # offset | zone_name | utc | naive | none
    encoding: str = "utf-8"
    tracking: str = ""  # query string appended to entry links (utm_* parameters)


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    language: str
    timezone: str
    tagline: str
    nav: tuple[str, ...]
    feeds: tuple[FeedSpec, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def direction(self) -> str:
        return "rtl" if self.language in ("ar", "fa", "he", "ur") else "ltr"


@dataclass(frozen=True)
class Article:
    event: str
    outlet: str
    slug: str
    published: datetime  # UTC
    title: str
    author: str
    summary: str
    body: tuple[str, ...]  # paragraphs, with [anchor](target) links
    feeds: tuple[str, ...]  # feed ids of its outlet that list it
    role: str = "report"  # first | report | agency | syndicated | follow-up
    credits: tuple[str, ...] = ()  # outlets credited in words (for the end-to-end test)
    copy_of: str | None = None  # "outlet/slug" of the original when republished verbatim
    canonical: str | None = None  # "outlet/slug" that rel=canonical points to (default: itself)
    members: bool = False  # behind /members/, which robots.txt disallows

    @property
    def key(self) -> str:
        return f"{self.outlet}/{self.slug}"

    def links(self) -> list[tuple[str, str]]:
        """(anchor, target) for every link in the body."""
        return [(m.group(1), m.group(2)) for paragraph in self.body for m in LINK.finditer(paragraph)]


@dataclass(frozen=True)
class Event:
    event_id: str
    kind: str
    summary: str
    service: str | None
    centrepiece: bool
    articles: tuple[Article, ...]


@dataclass(frozen=True)
class StatusEntry:
    entry_id: str
    posted: datetime
    title: str
    text: str


@dataclass(frozen=True)
class StatusPage:
    slug: str
    title: str
    service: str
    entries: tuple[StatusEntry, ...]


@dataclass(frozen=True)
class World:
    name: str
    rounds: tuple[datetime, ...]
    feed_size: int
    chrome: dict[str, dict[str, str]]
    outlets: dict[str, Outlet]
    events: tuple[Event, ...]
    status_pages: tuple[StatusPage, ...]
    complaints_csv: Path
    fingerprint: str
    articles: dict[str, Article] = field(default_factory=dict)

    def outlet_articles(self, slug: str) -> list[Article]:
        return sorted((a for a in self.articles.values() if a.outlet == slug), key=lambda a: a.published)

    def event(self, event_id: str) -> Event:
        for event in self.events:
            if event.event_id == event_id:
                return event
        raise KeyError(event_id)

    def body_of(self, article: Article) -> tuple[str, ...]:
        """The paragraphs, following ``copy_of`` for a verbatim republication."""
        return self.articles[article.copy_of].body if article.copy_of else article.body


def parse_instant(value: Any, where: str) -> datetime:
    """An ISO 8601 instant with a zone (TOML datetimes or strings), as UTC."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise UsageError(f"{where}: {value!r} is not an instant with a time zone")
    return value.astimezone(UTC)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"{path}: cannot read demo world file: {exc}") from exc


def _load_outlet(path: Path) -> Outlet:
    data = _read_toml(path)
    slug = path.stem
    feeds = []
    for spec in data["feeds"]:
        feed = FeedSpec(
            outlet=slug,
            feed_id=spec["id"],
            title=spec.get("title", data["name"]),
            format=spec["format"],
            dates=spec.get("dates", "offset"),
            encoding=spec.get("encoding", "utf-8"),
            tracking=spec.get("tracking", ""),
        )
        if feed.format not in FEED_FORMATS or feed.dates not in DATE_STYLES:
            raise UsageError(f"{path}: feed {feed.feed_id}: unknown format or dates style")
        feeds.append(feed)
    ZoneInfo(data["timezone"])  # fails early on a misspelt zone
    return Outlet(
        slug=slug,
        name=data["name"],
        language=data["language"],
        timezone=data["timezone"],
        tagline=data.get("tagline", ""),
        nav=tuple(data.get("nav", ())),
        feeds=tuple(feeds),
    )


def _load_article(event_id: str, item: dict[str, Any], outlets: dict[str, Outlet], where: str) -> Article:
    outlet = outlets.get(item["outlet"])
    if outlet is None:
        raise UsageError(f"{where}: unknown outlet {item['outlet']!r}")
    default_feed = outlet.feeds[0].feed_id
    return Article(
        event=event_id,
        outlet=outlet.slug,
        slug=item["slug"],
        published=parse_instant(item["published"], f"{where} {item['slug']}"),
        title=item["title"],
        author=item.get("author", ""),
        summary=item.get("summary", ""),
        body=tuple(item.get("body", ())),
        feeds=tuple(item.get("feeds", (default_feed,))),
        role=item.get("role", "report"),
        credits=tuple(item.get("credits", ())),
        copy_of=item.get("copy_of"),
        canonical=item.get("canonical"),
        members=bool(item.get("members", False)),
    )


def _load_event(path: Path, outlets: dict[str, Outlet]) -> Event:
    data = _read_toml(path)
    event_id = data.get("id", path.stem)
    articles = tuple(_load_article(event_id, item, outlets, str(path)) for item in data["articles"])
    return Event(
        event_id=event_id,
        kind=data.get("kind", "ordinary"),
        summary=data.get("summary", ""),
        service=data.get("service"),
        centrepiece=bool(data.get("centrepiece", False)),
        articles=articles,
    )


def _load_status(path: Path) -> tuple[StatusPage, ...]:
    pages = []
    for page in _read_toml(path).get("pages", []):
        entries = tuple(
            StatusEntry(e["id"], parse_instant(e["posted"], f"{path} {e['id']}"), e["title"], e["text"])
            for e in page["entries"]
        )
        pages.append(StatusPage(page["slug"], page["title"], page["service"], entries))
    return tuple(pages)


def fingerprint(world_dir: Path) -> str:
    """A hash of every file of the world, so a rebuilt demo is needed only when the world changed."""
    digest = hashlib.sha256()
    for path in sorted(p for p in world_dir.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(world_dir)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _check_references(articles: dict[str, Article]) -> None:
    for article in articles.values():
        refs = [article.copy_of, article.canonical]
        refs += [target[1:].split("?")[0] for _, target in article.links() if target.startswith("@")]
        for ref in refs:
            if ref is not None and ref not in articles:
                raise UsageError(f"demo world: {article.key} refers to unknown article {ref!r}")


def load_world(world_dir: Path = WORLD_DIR) -> World:
    """Read and check the whole world."""
    settings = _read_toml(world_dir / "world.toml")
    outlets = {o.slug: o for o in map(_load_outlet, sorted((world_dir / "outlets").glob("*.toml")))}
    events = tuple(_load_event(p, outlets) for p in sorted((world_dir / "events").glob("*.toml")))
    articles: dict[str, Article] = {}
    for event in events:
        for article in event.articles:
            if article.key in articles:
                raise UsageError(f"demo world: article {article.key} defined twice")
            known = {f.feed_id for f in outlets[article.outlet].feeds}
            if not set(article.feeds) <= known:
                raise UsageError(f"demo world: {article.key} lists a feed its outlet does not have")
            articles[article.key] = article
    _check_references(articles)
    return World(
        name=settings.get("name", "demo world"),
        rounds=tuple(parse_instant(r, "world.toml rounds") for r in settings["rounds"]),
        feed_size=int(settings.get("feed_size", 25)),
        chrome=settings["chrome"],
        outlets=outlets,
        events=events,
        status_pages=_load_status(world_dir / "signals" / "status.toml"),
        complaints_csv=world_dir / "signals" / "complaints.csv",
        fingerprint=fingerprint(world_dir),
        articles=articles,
    )
