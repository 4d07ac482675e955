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


# Language names people write in feeds files, in English and in the language itself, to ISO 639-1. The news
# languages of the outlets scooptrace is used on; a name missing here is an error naming the line, never NULL.
LANGUAGE_NAMES: dict[str, str] = {
    "english": "en", "arabic": "ar", "العربية": "ar", "spanish": "es", "español": "es", "espanol": "es",
    "french": "fr", "français": "fr", "francais": "fr", "german": "de", "deutsch": "de", "italian": "it",
    "italiano": "it", "portuguese": "pt", "português": "pt", "portugues": "pt", "dutch": "nl",
    "nederlands": "nl", "russian": "ru", "русский": "ru", "ukrainian": "uk", "українська": "uk",
    "polish": "pl", "polski": "pl", "turkish": "tr", "türkçe": "tr", "turkce": "tr", "persian": "fa",
    "farsi": "fa", "فارسی": "fa", "hebrew": "he", "עברית": "he", "hindi": "hi", "हिन्दी": "hi", "urdu": "ur",
    "اردو": "ur", "bengali": "bn", "chinese": "zh", "中文": "zh", "japanese": "ja", "日本語": "ja",
    "korean": "ko", "한국어": "ko", "indonesian": "id", "bahasa indonesia": "id", "malay": "ms",
    "vietnamese": "vi", "tiếng việt": "vi", "thai": "th", "ไทย": "th", "greek": "el", "ελληνικά": "el",
    "swedish": "sv", "svenska": "sv", "norwegian": "no", "norsk": "no", "danish": "da", "dansk": "da",
    "finnish": "fi", "suomi": "fi", "czech": "cs", "čeština": "cs", "romanian": "ro", "română": "ro",
    "hungarian": "hu", "magyar": "hu", "catalan": "ca", "català": "ca", "swahili": "sw", "kiswahili": "sw",
}  # fmt: skip


def normalize_language(value: str | None) -> str | None:
    """``en-US`` -> ``en``, ``English`` -> ``en``; None for an empty or unknown value."""
    if not value or not value.strip():
        return None
    text = value.strip().lower()
    if text in LANGUAGE_NAMES:
        return LANGUAGE_NAMES[text]
    code = text.replace("_", "-").split("-")[0]
    return code if len(code) == LANGUAGE_CODES_LEN and code.isalpha() else None


def check_language(value: object) -> tuple[str | None, str | None]:
    """(ISO 639-1 code or None when absent, the problem when the value is given but not a language)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    code = normalize_language(value) if isinstance(value, str) else None
    if code is None:
        return None, f"language {value!r} is not an ISO 639-1 code (en, ar, es ...) or a known language name"
    return code, None


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
        language, problem = check_language(outline.get("language"))
        if problem:
            raise FeedsFileError(name, problem, line)
        specs.append(FeedSpec(url, outlet, outline.get("htmlUrl"), language))
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
    if not entries:
        raise FeedsFileError(name, "no feeds in file" + _table_hint(doc, text))
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
        language, problem = check_language(entry.get("language"))
        if problem:
            raise FeedsFileError(name, problem, _toml_key_line(text, line, "language"))
        outlet = str(entry.get("outlet") or urlsplit(url).hostname or url)
        specs.append(FeedSpec(url, outlet, entry.get("site"), language))
    return specs


def _table_hint(doc: dict[str, object], text: str) -> str:
    """ "; did you mean [[feed]]?" when the file holds tables under another name (``[[feeds]]``)."""
    others = [key for key, value in doc.items() if isinstance(value, list | dict)]
    if not others:
        return " (each feed is a [[feed]] table with a url)"
    line = next((n for n, row in enumerate(text.splitlines(), 1) if others[0] in row), None)
    where = f" on line {line}" if line else ""
    return f"; did you mean [[feed]]? (found [[{others[0]}]]{where})"


def _toml_key_line(text: str, start: int | None, key: str) -> int | None:
    """The line of ``key =`` in the [[feed]] table that holds line ``start`` (its url)."""
    lines = text.splitlines()
    if start is None:
        return None
    begin = next((n for n in range(start, 0, -1) if lines[n - 1].strip().startswith("[[")), 1)
    for number in range(begin, len(lines) + 1):
        stripped = lines[number - 1].strip()
        if number > begin and stripped.startswith("["):
            break
        if stripped.split("=")[0].strip() == key:
            return number
    return start


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
