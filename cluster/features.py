"""From an article to the tokens clustering compares: aliases resolved, stop words gone, portable tokens marked.

Token classes are visible in the token itself, so weights need no side table:
``@amazon`` an entity from aliases.toml (organisation, product, outlet, place), ``!outage`` an event word,
``2024`` a number, anything else a plain (stemmed) word.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import zlib
from dataclasses import dataclass
from functools import lru_cache

from cluster.model import ArticleIn
from cluster.params import DEFAULT_PARAMS, ClusterParams
from cluster.text import DATA_DIR, detect_script_language, is_latin, normalize, stem, stop_words, words

ENTITY = "@"
EVENT = "!"
PORTABLE_HEADS = ENTITY + EVENT  # first character of alias tokens, which carry across languages
_SENTENCE_END = re.compile(r"(?<=[.!?؟。])\s")
_CAPITALISED = re.compile(r"\b[A-Z][\w'-]*")


@dataclass(frozen=True)
class Lexicon:
    """Alias phrases by their first (stemmed) word, longest first, mapped to a canonical token."""

    phrases: dict[str, tuple[tuple[tuple[str, ...], str], ...]]

    def resolve(self, tokens: list[str]) -> list[str]:
        """Replace every alias phrase in ``tokens`` by its canonical token, longest match first."""
        phrases = self.phrases
        if phrases.keys().isdisjoint(tokens):
            return tokens
        out: list[str] = []
        i, n = 0, len(tokens)
        while i < n:
            options = phrases.get(tokens[i])
            if options is not None:
                for phrase, canonical in options:
                    size = len(phrase)
                    if size == 1 or tuple(tokens[i : i + size]) == phrase:
                        out.append(canonical)
                        i += size
                        break
                else:
                    out.append(tokens[i])
                    i += 1
            else:
                out.append(tokens[i])
                i += 1
        return out


def _alias_tokens(text: str) -> tuple[str, ...]:
    return tuple(stem(word) for word in words(normalize(text)))


@lru_cache(maxsize=1)
def lexicon() -> Lexicon:
    """The bundled aliases (cluster/data/aliases.toml)."""
    raw = DATA_DIR.joinpath("aliases.toml").read_text(encoding="utf-8")
    return build_lexicon(tomllib.loads(raw))


def build_lexicon(data: dict[str, dict]) -> Lexicon:
    """A lexicon from parsed aliases: ``{"entity": {group: {name: [...]}}, "event": {name: [...]}}``."""
    entries: dict[tuple[str, ...], str] = {}
    groups = [(ENTITY, names) for names in data.get("entity", {}).values()]
    groups.append((EVENT, data.get("event", {})))
    for prefix, names in groups:
        for name, variants in names.items():
            for variant in [name.replace("_", " "), *variants]:
                phrase = _alias_tokens(variant)
                if phrase:
                    entries.setdefault(phrase, prefix + name)
    by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
    for phrase, canonical in entries.items():
        by_first.setdefault(phrase[0], []).append((phrase, canonical))
    return Lexicon({k: tuple(sorted(v, key=lambda p: (-len(p[0]), p[0]))) for k, v in by_first.items()})


@dataclass(frozen=True, slots=True)
class Features:
    """What clustering compares for one article."""

    # Token collections are sorted tuples: iteration order (and so every float sum over them) is the same in
    # every process, whatever the string hash seed; a rebuild and an incremental run agree to the last bit.
    title_tokens: tuple[str, ...]
    lead_tokens: tuple[str, ...]  # lead words not already in the title
    portable: tuple[str, ...]  # tokens that mean the same in any language: aliases, numbers, names
    language: str
    fuzzy_title: str  # the title's content tokens, for rapidfuzz
    shingles: tuple[int, ...]  # sampled shingle hashes of the body, for syndication (see body_shingles)
    body_hash: str  # exact-duplicate key of the normalised body ("" when too short)


def content_tokens(text: str, lex: Lexicon, stops: frozenset[str]) -> list[str]:
    """Normalised, stemmed, alias-resolved tokens without stop words, in order."""
    resolved = lex.resolve([stem(word) for word in words(normalize(text))])
    return [t for t in resolved if t not in stops and (len(t) > 1 or t.isdigit())]


def _names(title: str) -> set[str]:
    """Capitalised words of a title that is not in Title Case: probably names, which carry across languages."""
    capitalised = _CAPITALISED.findall(title)
    if len(capitalised) * 2 > len(title.split()):
        return set()
    return {stem(w) for word in capitalised[1:] for w in words(normalize(word))}


_SITE_SUFFIX = re.compile(r"\s+[-|–—:]\s+([^-|–—:]{2,40})$")
_ALNUM = re.compile(r"[\W_]+")
_GENERIC_LABELS = {"www", "com", "net", "org", "news", "the", "online", "info", "blog", "blogs"}


def strip_site_name(title: str, outlet: str) -> str:
    """The title without a trailing " - The Verge" / " | Reuters" naming its own outlet (host or name):
    that would make every article of one outlet look alike."""
    match = _SITE_SUFFIX.search(title)
    if not match or not outlet:
        return title
    suffix = _ALNUM.sub("", match.group(1).casefold())
    labels = [_ALNUM.sub("", label) for label in re.split(r"[.\s]+", outlet.casefold())]
    names = [label for label in labels if len(label) >= 3 and label not in _GENERIC_LABELS]
    if len(suffix) >= 3 and any(name in suffix or suffix in name for name in names):
        return title[: match.start()]
    return title


def lead_text(article: ArticleIn, max_words: int) -> str:
    """The first sentences of the text (else the summary), at most ``max_words`` words."""
    source = article.text or article.summary
    if not source:
        return ""
    head = " ".join(source.split()[: max_words + 10])
    sentences = _SENTENCE_END.split(head)
    out: list[str] = []
    for sentence in sentences:
        out.extend(sentence.split())
        if len(out) >= max_words:
            break
    return " ".join(out[:max_words])


def primary_language(tag: str | None) -> str | None:
    """``en`` for ``en``, ``EN-us`` or ``en_GB``; None for no tag."""
    if not tag:
        return None
    return tag.strip().lower().replace("_", "-").split("-")[0] or None


def body_shingles(body: str, params: ClusterParams) -> tuple[int, ...]:
    """The sampled shingle hashes of a normalised body: every run of ``shingle_words`` words is hashed, the
    hashes divisible by ``shingle_sample`` kept (the same choice in every article, so two copies keep the
    same ones), at most ``syndication_max_shingles`` of them (the smallest), sorted."""
    tokens = words(body)
    size, modulus = params.shingle_words, params.shingle_sample
    sampled = set()
    for start in range(max(0, len(tokens) - size + 1)):
        value = zlib.crc32(" ".join(tokens[start : start + size]).encode())  # stable in every process
        if value % modulus == 0:
            sampled.add(value)
    return tuple(sorted(sampled)[: params.syndication_max_shingles])


def featurize(article: ArticleIn, params: ClusterParams = DEFAULT_PARAMS) -> Features:
    """The features of one article (pure; uses the bundled word lists)."""
    lex, stops = lexicon(), stop_words()
    title = content_tokens(strip_site_name(article.title, article.outlet), lex, stops)
    lead_source = lead_text(article, params.lead_words) if params.lead_words else ""
    lead = content_tokens(lead_source, lex, stops) if lead_source else []
    language = primary_language(article.language) or detect_script_language(article.title) or "und"
    latin = language not in ("ar", "fa", "ur", "ru", "uk", "zh", "ja", "ko", "he", "el")
    # German capitalises every noun: capitals say nothing about names there.
    names = _names(article.title) if latin and language != "de" else set()
    title_set = frozenset(title)
    title_sorted = tuple(sorted(title_set))
    every = title_set.union(lead)
    if latin:
        portable = [t for t in every if t in names or t[0] in PORTABLE_HEADS or t.isdigit()]
    else:
        portable = [t for t in every if t[0] in PORTABLE_HEADS or t.isdigit() or is_latin(t)]
    body = normalize(" ".join((article.text or "").split()[: params.syndication_chars]))
    body = body[: params.syndication_chars]
    if len(body) < min(params.syndication_min_chars, params.syndication_chars):
        body = ""
    return Features(
        title_tokens=title_sorted,
        lead_tokens=tuple(sorted(every - title_set)),
        portable=tuple(sorted(portable)),
        language=language,
        fuzzy_title=" ".join(title_sorted),
        shingles=body_shingles(body, params) if body else (),
        body_hash=hashlib.sha1(body.encode()).hexdigest()[:16] if body else "",
    )
