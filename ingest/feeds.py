"""Feed lists: OPML 2.0 or the project's TOML form, parsed into FeedSpec values (pure, no network)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from common.errors import FeedsFileError

LANGUAGE_CODES_LEN = 2


@dataclass(frozen=True)
class FeedSpec:
    url: str
    outlet: str
    site_url: str | None = None
    language: str | None = None


def check_url(url: str) -> str | None:
    """The problem with a feed URL, or None when it is a usable http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"feed URL {url!r} is not http(s)"
    if not parts.hostname:
        return f"feed URL {url!r} has no host"
    return None


def normalize_language(value: str | None) -> str | None:
    """``en-US`` -> ``en``; anything that is not a two-letter code is dropped."""
    if not value:
        return None
    code = value.strip().lower().replace("_", "-").split("-")[0]
    return code if len(code) == LANGUAGE_CODES_LEN and code.isalpha() else None


def load_feeds_file(path: Path) -> list[FeedSpec]:
    """Read an OPML 2.0 or TOML feeds file; raise FeedsFileError naming the file, line and problem."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedsFileError(str(path), f"cannot read feeds file: {exc.strerror}") from exc
    if path.suffix.lower() == ".toml":
        specs = parse_toml_feeds(data, str(path))
    else:
        specs = parse_opml(data, str(path))
    if not specs:
        raise FeedsFileError(str(path), "no feeds in file")
    return specs


def parse_opml(data: bytes, name: str = "<opml>") -> list[FeedSpec]:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if exc.lineno else None
        raise FeedsFileError(name, f"not well-formed XML: {exc.msg}", line) from exc
    if root.tag != "opml":
        raise FeedsFileError(name, f"root element is <{root.tag}>, expected <opml>", root.sourceline)
    body = root.find("body")
    if body is None:
        raise FeedsFileError(name, "OPML has no <body>", root.sourceline)
    specs: list[FeedSpec] = []
    seen: dict[str, int] = {}
    for outline in body.iter("outline"):
        url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
        if not url:
            continue  # a category outline
        line = outline.sourceline
        problem = check_url(url)
        if problem:
            raise FeedsFileError(name, problem, line)
        outlet = (outline.get("text") or outline.get("title") or "").strip() or (
            urlsplit(url).hostname or url
        )
        if url in seen:
            raise FeedsFileError(name, f"feed {url} is listed twice (first on line {seen[url]})", line)
        seen[url] = line or 0
        specs.append(
            FeedSpec(url, outlet, outline.get("htmlUrl"), normalize_language(outline.get("language")))
        )
    return specs


def _toml_line(text: str, url: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if url in line:
            return number
    return None


def parse_toml_feeds(data: bytes, name: str = "<toml>") -> list[FeedSpec]:
    """``[[feed]]`` tables with ``url`` (required), ``outlet``, ``site``, ``language``."""
    text = data.decode("utf-8", errors="replace")
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise FeedsFileError(name, f"invalid TOML: {exc}", getattr(exc, "lineno", None)) from exc
    entries = doc.get("feed", [])
    if not isinstance(entries, list):
        raise FeedsFileError(name, "`feed` must be an array of tables: write [[feed]]")
    specs: list[FeedSpec] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries, start=1):
        url = str(entry.get("url", "")).strip()
        if not url:
            raise FeedsFileError(name, f"[[feed]] number {index} has no url")
        line = _toml_line(text, url)
        unknown = set(entry) - {"url", "outlet", "site", "language"}
        if unknown:
            raise FeedsFileError(name, f"unknown key(s) {', '.join(sorted(unknown))} in [[feed]]", line)
        problem = check_url(url)
        if problem:
            raise FeedsFileError(name, problem, line)
        if url in seen:
            raise FeedsFileError(name, f"feed {url} is listed twice", line)
        seen.add(url)
        outlet = str(entry.get("outlet") or urlsplit(url).hostname or url)
        specs.append(FeedSpec(url, outlet, entry.get("site"), normalize_language(entry.get("language"))))
    return specs


def to_opml(specs: list[FeedSpec], title: str = "scooptrace feeds") -> str:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    body = etree.SubElement(root, "body")
    for spec in specs:
        attrs = {"type": "rss", "text": spec.outlet, "title": spec.outlet, "xmlUrl": spec.url}
        if spec.site_url:
            attrs["htmlUrl"] = spec.site_url
        if spec.language:
            attrs["language"] = spec.language
        etree.SubElement(body, "outline", attrs)
    return etree.tostring(root, pretty_print=True, xml_declaration=True, encoding="UTF-8").decode("utf-8")


def to_toml(specs: list[FeedSpec]) -> str:
    def quote(value: str) -> str:
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'

    blocks = []
    for spec in specs:
        lines = ["[[feed]]", f"url = {quote(spec.url)}", f"outlet = {quote(spec.outlet)}"]
        if spec.site_url:
            lines.append(f"site = {quote(spec.site_url)}")
        if spec.language:
            lines.append(f"language = {quote(spec.language)}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


@dataclass(frozen=True)
class Shard:
    """``--shard K/N``: this worker takes the feeds whose stable hash falls in shard K (1-based) of N."""

    index: int
    count: int

    @classmethod
    def parse(cls, text: str) -> Shard:
        head, slash, tail = text.partition("/")
        if not slash or not head.strip().isdigit() or not tail.strip().isdigit():
            raise ValueError(f"--shard wants K/N such as 2/4, not {text!r}")
        index, count = int(head), int(tail)
        if count < 1 or not 1 <= index <= count:
            raise ValueError(f"--shard {text}: K must be between 1 and N")
        return cls(index, count)

    def holds(self, feed_id: str | None) -> bool:
        """Whether a feed (its id: the sha1 of its configured URL) belongs to this shard."""
        if feed_id is None:
            return self.index == 1
        return int(feed_id[:8], 16) % self.count == self.index - 1

    @property
    def lock_scope(self) -> str:
        return f"shard-{self.index}-of-{self.count}"
