"""Does a story match a watch? Pure: the alias tables are loaded once by ``load_aliases`` (a file read) and
passed in; matching itself is plain text in, bool out.

A watch's terms are split into words; the longest run of up to four words that is a form of a known concept
(an organisation, a product, an event such as an outage) stands for that concept, so every form of it in every
language matches. A word no table knows must appear as itself (with a plural "s" allowed). Every term must
match for the watch to match. A longer form of another concept that contains the wanted one is removed from
the text first: "Amazon Web Services" is AWS, not Amazon.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from alerts.model import StoryFacts, Watch
from common.text import normalize

DATA_DIR = Path(__file__).parent / "data"
# cluster's alias data, read as a file (never imported): alerts must not depend on the cluster stage.
CLUSTER_ALIASES = Path(__file__).resolve().parent.parent / "cluster" / "data" / "aliases.toml"
MAX_PHRASE_WORDS = 4

_WORD = re.compile(r"[^\W_]+(?:\.[^\W_]+)*")
_ARABIC = re.compile(r"[\u0600-\u06ff]")
# Arabic proclitics a form may carry: و (and), ف, ب, ل, ك and the article ال, alone or combined.
_CLITICS = r"(?:[وفبلك]{0,2}ال|[وفبلك]{1,2})?"


@dataclass(frozen=True, eq=False)
class AliasTable:
    """Concept -> forms (normalised), and for each word sequence the longer forms that contain it, so
    compiling a watch never scans the whole table."""

    concepts: Mapping[str, tuple[str, ...]]
    containing: Mapping[
        tuple[str, ...], tuple[tuple[str, str], ...]
    ]  # words -> (concept, form) containing them

    @classmethod
    def build(cls, concepts: Mapping[str, tuple[str, ...]]) -> AliasTable:
        containing: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        for concept, forms in concepts.items():
            for form in forms:
                words = tuple(_PLAIN_WORD.findall(form))
                subs = {words[i:j] for i in range(len(words)) for j in range(i + 1, len(words) + 1)}
                for sub in subs - {words}:
                    containing.setdefault(sub, []).append((concept, form))
        return cls(dict(concepts), {k: tuple(v) for k, v in containing.items()})


_PLAIN_WORD = re.compile(r"\w+")


@lru_cache(maxsize=4)
def load_aliases(extra_files: tuple[Path, ...] = ()) -> AliasTable:
    """Concept -> forms: cluster's alias file when present, then alerts' own terms (which add forms)."""
    return AliasTable.build(dict(_load_aliases(extra_files)))


@lru_cache(maxsize=4)
def _load_aliases(extra_files: tuple[Path, ...]) -> tuple[tuple[str, tuple[str, ...]], ...]:
    merged: dict[str, set[str]] = {}
    tables = [_flatten(_read_toml(CLUSTER_ALIASES))] if CLUSTER_ALIASES.exists() else []
    for path in (DATA_DIR / "terms.toml", *extra_files):
        tables.append(_flatten(_read_toml(path).get("concepts", {})))
    for table in tables:
        for concept, forms in table:
            merged.setdefault(concept, set()).update(normalize(f) for f in forms if f.strip())
    return tuple((k, tuple(sorted(v))) for k, v in sorted(merged.items()))


@lru_cache(maxsize=1)
def ignored_words() -> frozenset[str]:
    """Small words a watch's terms may contain that are not terms ("caída de Amazon")."""
    words = _read_toml(DATA_DIR / "terms.toml").get("ignore", {}).get("words", [])
    return frozenset(normalize(str(w)) for w in words)


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: invalid TOML: {exc}") from exc


def _flatten(data: Mapping[str, object]) -> list[tuple[str, list[str]]]:
    """Every ``name = [forms]`` at any depth of the TOML tables."""
    out: list[tuple[str, list[str]]] = []
    for key, value in data.items():
        if isinstance(value, list):
            out.append((key, [str(v) for v in value]))
        elif isinstance(value, dict):
            out += _flatten(value)
    return out


@dataclass(frozen=True)
class Requirement:
    """One term of a watch: any of ``forms`` must occur; ``blockers`` are removed from the text first."""

    term: str
    forms: tuple[str, ...]
    blockers: tuple[str, ...]
    pattern: re.Pattern[str]
    blocker_pattern: re.Pattern[str] | None


@dataclass(frozen=True)
class WatchMatcher:
    watch: Watch
    requirements: tuple[Requirement, ...]
    outlets: frozenset[str]
    languages: frozenset[str]


@lru_cache(maxsize=1024)
def compile_watch(watch: Watch, aliases: AliasTable) -> WatchMatcher:
    """Turn a watch's terms into requirements (cached: a watch compiles once per process)."""
    index = {form: concept for concept, forms in aliases.concepts.items() for form in forms}
    skip = ignored_words()
    words = [w for w in _WORD.findall(normalize(watch.terms)) if w not in skip]
    requirements: list[Requirement] = []
    i = 0
    while i < len(words):
        for size in range(min(MAX_PHRASE_WORDS, len(words) - i), 0, -1):
            phrase = " ".join(words[i : i + size])
            concept = index.get(phrase)
            if concept is not None or size == 1:
                requirements.append(_requirement(phrase, concept, aliases))
                i += size
                break
    return WatchMatcher(
        watch,
        tuple(requirements),
        frozenset(normalize(o) for o in watch.outlets),
        frozenset(lang.lower() for lang in watch.languages),
    )


def _requirement(phrase: str, concept: str | None, aliases: AliasTable) -> Requirement:
    forms = tuple(sorted(aliases.concepts[concept])) if concept else (phrase,)
    blockers = tuple(
        sorted(
            {
                other
                for form in forms
                for other_concept, other in aliases.containing.get(tuple(_PLAIN_WORD.findall(form)), ())
                if other_concept != concept
            }
        )
    )
    plural = concept is None and not _ARABIC.search(phrase)
    return Requirement(
        phrase, forms, blockers, _pattern(forms, plural), _pattern(blockers, False) if blockers else None
    )


def _pattern(forms: Sequence[str], plural: bool) -> re.Pattern[str]:
    ordered = sorted(set(forms), key=lambda f: (-len(f), f))
    body = "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in ordered)
    suffix = "(?:s|es)?" if plural else ""
    return re.compile(rf"(?<!\w){_CLITICS}(?:{body}){suffix}(?!\w)")


def text_matches(matcher: WatchMatcher, text: str) -> bool:
    """Every requirement of the watch occurs in the text (any language, any form)."""
    return folded_matches(matcher, normalize(text))


def folded_matches(matcher: WatchMatcher, folded: str) -> bool:
    """``text_matches`` on a text already passed through ``normalize`` (done once per story, not per watch)."""
    if not matcher.requirements:
        return False
    for requirement in matcher.requirements:
        haystack = folded
        if requirement.blocker_pattern is not None:
            haystack = requirement.blocker_pattern.sub(" ", haystack)
        if not requirement.pattern.search(haystack):
            return False
    return True


def story_text(story: StoryFacts, text_chars: int) -> str:
    """What a story is matched on, normalised: its headline, member titles and the opening of each text."""
    parts = [story.headline, *story.titles, *(m.text[:text_chars] for m in story.members)]
    return normalize("\n".join(p for p in parts if p))


def story_matches(
    matcher: WatchMatcher, story: StoryFacts, text_chars: int, folded: str | None = None
) -> bool:
    """Terms across languages, and the watch's outlet and language filters (any member qualifies).
    ``folded``: the story's ``story_text``, when the caller computed it once for many watches."""
    if matcher.outlets and not any(normalize(m.outlet) in matcher.outlets for m in story.members):
        return False
    if matcher.languages and not any((m.language or "") in matcher.languages for m in story.members):
        return False
    return folded_matches(matcher, folded if folded is not None else story_text(story, text_chars))
