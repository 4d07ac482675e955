"""Who credits whom: link and mention citations, a pure core (plain data in, plain data out, no I/O).

A *link* citation is a hyperlink in an article's body to another outlet's article: matched through the
normalised URL to a stored article where there is one, else to the outlet by its host. A *mention* citation
is an attribution in the text ("according to GeekWire", "وفقًا لموقع غيك واير", "laut Heise") naming a
known outlet; the evidence is the sentence. Outlet names come from ``data/outlets.toml`` (and the outlets
the database knows), in every script and transliteration listed there. An outlet citing itself is not a
citation, and a cue followed by a company ("according to Amazon") is not one either: only outlets count.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from common.text import unify_script

OUTLETS_FILE = Path(__file__).with_name("data") / "outlets.toml"

# Mention matching limits: the one table of citation thresholds.
# Words allowed between a cue and the outlet it introduces: "according to a report published by GeekWire"
# has four; more than five mostly reaches into another clause that names someone else.
MAX_WORDS_AFTER_CUE = 5
# Words allowed between an outlet and a cue that follows it ("GeekWire, which first reported", "GeekWire
# zufolge"): subjects sit right before their verb.
MAX_WORDS_BEFORE_CUE = 3
# An explicit "was the first to report" cue is specific enough to reach past a description of the outlet;
# then only the nearest outlet counts.
MAX_WORDS_NEAR_FIRST_CUE = 8
# Punctuation that ends the phrase a forward cue introduces ("according to Amazon, GeekWire said ...").
CLAUSE_BREAK = re.compile(r"[,;:()\[\]«»\"“”،؛]")
# Evidence sentences are cut to this many characters.
MAX_EVIDENCE_CHARS = 400


@dataclass(frozen=True)
class Cue:
    """An attribution pattern; ``direction`` says where the outlet stands: after, before or either side.

    ``pattern`` is a regular expression over normalised text (see normalize_text), matched case-insensitively
    at word boundaries; alternatives are separated by ``|`` and cover a verb's inflections."""

    lang: str
    pattern: str
    direction: str  # after | before | both
    says_first: bool = False
    reach: int | None = None  # words allowed between cue and outlet, when not the default


# Attribution cues per language. Arabic cues are written normalised (no hamza on alef, no tanween or tatweel)
# and may carry an attached و or ف; the "ل" of "وفقًا لـ" belongs to the outlet's prefix, not to the cue.
CUES: tuple[Cue, ...] = (
    Cue(
        "en",
        r"first (?:reported|spotted|noted|revealed|broke)|(?:was|were) (?:the )?first to (?:report|break|note)"
        r"|broke (?:the )?news|scooped",
        "both",
        True,
    ),
    Cue(
        "en",
        r"according to|(?:reported|spotted|noted|revealed|published|flagged|detailed|confirmed)(?: \w+)? by"
        r"|told|tells|(?:spoke|speaking|talking|talked) (?:to|with)|said to|interview with|statement to"
        r"|comment(?:ed)? to|confirmed(?: \w+){0,3} to|reports? (?:by|from|in)|reporting (?:by|from)"
        r"|citing|cited|via|per|h/t|(?:shared|obtained|seen|reviewed|posted|written|uncovered|compiled|highlighted|shown"
        r"|asked|interviewed|contacted) by",
        "after",
    ),
    Cue(
        "en",
        r"report(?:s|ed|ing)?|wrote|writes|noted|notes|revealed|reveals|spotted|confirmed|said|says"
        r"|show(?:s|ed)|(?:had|has|have) (?:\w+ ){0,2}reported|story|article|coverage|adds|added|claims|claimed"
        r"|explains|explained|points? out|pointed out|obtained|(?:has )?learned|(?:was|were) told|was first|first on"
        r"|understands|asked|interviewed",
        "before",
    ),
    Cue("ar", r"اول من (?:افاد|نشر|كشف|اورد|ذكر|اشار|تحدث)|سباقا|السباق|انفرد(?:ت)?", "both", True),
    Cue(
        "ar",
        r"وفقا|طبقا|بحسب|حسب|نقلا عن|نقلا|(?:نقل|ذكر|افاد|اورد|كشف|نشر|اشار|اكد|اوضح|بين|لفت)(?:ت)?(?:ه|ها)?"
        r"|(?:ما )?(?:اورده|ذكره|نشره)|قال|قالت|صرح|صرحت|تصريحات?|تقرير|اعلن|اعلنت",
        "after",
    ),
    Cue(
        "es",
        r"(?:fue|fueron) (?:el|la|los|las) primer[oa]s? en (?:informar|publicar|adelantar|revelar)"
        r"|primer[oa]s? en (?:dar|informar|publicar|adelantar|revelar)|adelant(?:ó|o|aba)",
        "both",
        True,
    ),
    Cue(
        "es",
        r"seg[uú]n|de acuerdo con|como (?:inform|public|adelant|revel)[óo]|citad[oa]s? por|citando a"
        r"|(?:dijo|dijeron|declar[óo]|declararon|confirm[óo]|confirmaron|explic[óo]|asegur[óo]|detall[óo]) a"
        r"|en declaraciones a|recoge|(?:la )?informaci[óo]n de",
        "after",
    ),
    Cue(
        "es",
        r"inform(?:a|ó|aron|aba)|public(?:a|ó|aron)|report(?:a|ó)|revel(?:a|ó)|apunt(?:a|ó)|asegur(?:a|ó)|afirm(?:a|ó)"
        r"|señal(?:a|ó)|explic(?:a|ó)|detall(?:a|ó)|indic(?:a|ó)|precis(?:a|ó)|destac(?:a|ó)|sostiene|cuenta|contó",
        "both",
    ),
    Cue(
        "fr",
        r"(?:a|ont) été (?:le|la|les) premi(?:er|ère|ers|ères) à|en premier"
        r"|d'abord (?:été )?(?:signal|rapport|révél)(?:é|ée|és|ées)",
        "both",
        True,
    ),
    Cue(
        "fr",
        r"selon|d'après|(?:rapport|révél|signal|cit|repér|relev)(?:é|ée|és|ées) par"
        r"|comme l'(?:a|ont) (?:révélé|rapporté|indiqué|signalé)|comme l'indiquen?t?"
        r"|(?:a|ont) (?:indiqué|déclaré|confirmé|précisé|expliqué|assuré) à|confrères? de"
        r"|les informations de|(?:interrog|contact|sollicit|joint)(?:é|ée|és|ées) par",
        "after",
    ),
    Cue(
        "fr",
        r"(?:a|ont) (?:révélé|rapporté|signalé|indiqué)|rapporte(?:nt)?|indique(?:nt)?|révèle(?:nt)?"
        r"|affirme(?:nt)?|signale(?:nt)?|écrit|expliquen?t?|précisen?t?|(?:a|ont) (?:précisé|souligné|expliqué|affirmé|"
        r"assuré|noté|ajouté)|soulignen?t?|assurent?|ajoutent?|racontent?",
        "both",
    ),
    Cue(
        "de",
        r"zuerst (?:berichtet(?:e)?|gemeldet)|als erste[rs]? (?:berichtet(?:e)?|gemeldet)|wie zuerst",
        "both",
        True,
    ),
    Cue(
        "de",
        r"laut|(?:sagte|sagten|bestätigte|erklärte|betonte) gegenüber|gegenüber|nach (?:angaben|informationen) "
        r"(?:von|des|der)|unter berufung auf|zitiert|wie|im (?:gespräch|interview) mit",
        "after",
    ),
    Cue(
        "de",
        r"zufolge|berichte(?:t|te|ten)|melde(?:t|te)|schreibt|schrieb|(?:hatte|hat|haben) (?:\w+ ){0,4}berichtet",
        "both",
    ),
    # A media descriptor right before an outlet ("the tech site GeekWire", "وكالة رويترز", "el medio GeekWire",
    # "nos confrères de The Verge", "die Nachrichtenagentur Reuters"): in another outlet's article, naming a
    # newsroom as such is crediting it.
    Cue(
        "en",
        r"(?:news |tech |technology )?(?:site|website|outlet|publication|newspaper|agency|news agency|wire service"
        r"|magazine|blog|broadcaster|network|newsletter)",
        "after",
        reach=2,
    ),
    Cue("ar", r"موقع|وكاله|صحيفه|جريده|مجله|شبكه|قناه|منصه|مدونه", "after", reach=2),
    Cue("es", r"medio|diario|peri[óo]dico|agencia|revista|portal|sitio|web|cadena|blog", "after", reach=2),
    Cue("fr", r"site|journal|quotidien|agence|magazine|média|confrères?|chaîne|blog", "after", reach=2),
    Cue(
        "de",
        r"(?:\w+)?(?:portal|nachrichtenagentur|agentur|zeitung|magazin|nachrichtenseite|website|blog|sender"
        r"|fachmagazin|techblog)",
        "after",
        reach=2,
    ),
)

_ARABIC_LETTER = re.compile(r"[\u0600-\u06FF]")
_ARABIC_PREFIX = "(?:[وف])?(?:[بلك])?"
_WORD = re.compile(r"\w+", re.UNICODE)
_SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+|\n+")


def normalize_text(text: str) -> str:
    """The text as citations compare it: ``common.text.unify_script`` (case kept for the patterns)."""
    return unify_script(text)


@dataclass(frozen=True)
class Outlet:
    name: str
    hosts: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    timezone: str | None = None
    kind: str = "news"


@dataclass(frozen=True)
class OutletDirectory:
    """Outlets by host and by every written form of their name."""

    outlets: tuple[Outlet, ...]
    _by_host: dict[str, str] = field(init=False, repr=False, compare=False)
    _by_name: dict[str, str] = field(init=False, repr=False, compare=False)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _forms: dict[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_name: dict[str, str] = {}
        forms: dict[str, str] = {}
        owners: dict[str, set[str]] = defaultdict(set)
        for outlet in self.outlets:
            for host in outlet.hosts:
                owners[_bare_host(host)].add(outlet.name)
        # A host several outlets share (a blog platform, a local test server) says nothing about who is cited.
        by_host = {host: next(iter(names)) for host, names in owners.items() if len(names) == 1}
        for outlet in self.outlets:
            for form in (outlet.name, *outlet.aliases):
                by_name.setdefault(normalize_text(form).casefold(), outlet.name)
                for variant in _written_variants(normalize_text(form)):
                    forms.setdefault(variant, outlet.name)
        object.__setattr__(self, "_by_host", by_host)
        object.__setattr__(self, "_by_name", by_name)
        object.__setattr__(self, "_forms", forms)
        object.__setattr__(self, "_pattern", _alias_pattern(forms))

    def outlet_for_host(self, host: str) -> str | None:
        """The outlet whose host is ``host`` or a parent domain of it."""
        host = _bare_host(host)
        while host:
            if host in self._by_host:
                return self._by_host[host]
            host = host.partition(".")[2] if "." in host else ""
        return None

    def canonical(self, name: str) -> str:
        """The directory's name for an outlet name or alias; the name itself when unknown."""
        return self._by_name.get(normalize_text(name).casefold(), name)

    def timezones(self) -> dict[str, str]:
        return {o.name: o.timezone for o in self.outlets if o.timezone}

    def find_outlets(self, normalized: str) -> list[tuple[int, int, str]]:
        """(start, end, outlet) of every outlet name in an already normalised text."""
        if self._pattern is None:
            return []
        return [
            (m.start("alias"), m.end("alias"), self._forms[m.group("alias")])
            for m in self._pattern.finditer(normalized)
        ]

    def merged_with(self, known: Mapping[str, Iterable[str]]) -> OutletDirectory:
        """This directory plus the database's outlets (name -> hosts), using the database's spelling of names."""
        outlets = {o.name: o for o in self.outlets}
        renamed: dict[str, str] = {}
        for name, hosts in sorted(known.items()):
            host_list = tuple(sorted({_bare_host(h) for h in hosts if h}))
            match = self._by_name.get(normalize_text(name).casefold()) or next(
                (hit for h in host_list if (hit := self.outlet_for_host(h))), None
            )
            if match and match in outlets and match not in renamed:
                old = outlets.pop(match)
                aliases = tuple(dict.fromkeys((*old.aliases, old.name)))
                outlets[name] = Outlet(
                    name, tuple(dict.fromkeys(old.hosts + host_list)), aliases, old.timezone, old.kind
                )
                renamed[match] = name
            elif name not in outlets and not match:
                outlets[name] = Outlet(name, host_list)
        return OutletDirectory(tuple(outlets[k] for k in sorted(outlets)))


def _bare_host(host: str) -> str:
    host = host.strip().lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def _written_variants(form: str) -> list[str]:
    variants = [form]
    if _ARABIC_LETTER.search(form) and form.startswith("ال"):
        variants.append("لل" + form[2:])  # ل + ال contracts to لل: للجزيره
    if not _ARABIC_LETTER.search(form) and form != form.upper():
        variants.append(form.upper())  # headline style: GEEKWIRE
    return variants


def _alias_pattern(forms: Mapping[str, str]) -> re.Pattern[str] | None:
    if not forms:
        return None
    ordered = sorted(forms, key=lambda f: (-len(f), f))
    alternation = "|".join(re.escape(f).replace(r"\ ", r"\s+") for f in ordered)
    return re.compile(rf"(?<!\w){_ARABIC_PREFIX}(?P<alias>{alternation})(?!\w)")


def load_directory(text: str | None = None) -> OutletDirectory:
    """The bundled outlet alias data (or the TOML ``text`` given)."""
    if text is None:
        text = OUTLETS_FILE.read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    outlets = tuple(
        Outlet(
            name=entry["name"],
            hosts=tuple(entry.get("hosts", ())),
            aliases=tuple(entry.get("aliases", ())),
            timezone=entry.get("timezone"),
            kind=entry.get("kind", "news"),
        )
        for entry in data.get("outlet", [])
    )
    return OutletDirectory(outlets)


def load_services(text: str | None = None) -> dict[str, tuple[str, ...]]:
    """Service name -> aliases, from the ``[[service]]`` entries of the outlet data."""
    if text is None:
        text = OUTLETS_FILE.read_text(encoding="utf-8")
    data: dict[str, Any] = tomllib.loads(text)
    return {entry["name"]: tuple(entry.get("aliases", ())) for entry in data.get("service", [])}


@dataclass(frozen=True)
class Link:
    href: str
    anchor: str | None = None


@dataclass(frozen=True)
class SourceArticle:
    """An article whose body may cite others."""

    article_id: str
    outlet: str
    url: str = ""
    text: str = ""
    links: tuple[Link, ...] = ()


@dataclass(frozen=True)
class KnownArticle:
    article_id: str
    outlet: str


@dataclass(frozen=True)
class Citation:
    citing_article_id: str
    cited_outlet: str
    cited_article_id: str | None
    kind: str  # link | mention
    evidence: str
    says_first: bool = False


@dataclass(frozen=True)
class _CompiledCue:
    cue: Cue
    pattern: re.Pattern[str]


def _compile_cues(cues: Sequence[Cue]) -> tuple[_CompiledCue, ...]:
    compiled = []
    for cue in cues:
        body = normalize_text(cue.pattern).replace(" ", r"\s+")
        prefix = "(?:[وف])?" if cue.lang == "ar" else ""  # وقالت، فحسب: conjunctions attach to the verb
        compiled.append(_CompiledCue(cue, re.compile(rf"(?<!\w){prefix}(?:{body})(?!\w)", re.IGNORECASE)))
    return tuple(compiled)


_COMPILED: tuple[_CompiledCue, ...] = ()


def _compiled_cues() -> tuple[_CompiledCue, ...]:
    global _COMPILED
    if not _COMPILED:
        _COMPILED = _compile_cues(CUES)
    return _COMPILED


def split_sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _words_between(text: str) -> int:
    return len(_WORD.findall(text))


def _cue_reaches(
    sentence: str,
    cue_span: tuple[int, int],
    outlet_span: tuple[int, int],
    direction: str,
    reach: tuple[int, int],
) -> bool:
    """True when the outlet stands where the cue points, within ``reach`` (words after, words before) and in
    the same phrase."""
    cue_start, cue_end = cue_span
    start, end = outlet_span
    if direction in ("after", "both") and start >= cue_end:
        gap = sentence[cue_end:start]
        if _words_between(gap) <= reach[0] and not CLAUSE_BREAK.search(gap):
            return True
    if direction in ("before", "both") and end <= cue_start:
        gap = sentence[end:cue_start]
        return _words_between(gap) <= reach[1] and not re.search(r"[;:.!?؟؛]", gap)
    return False


def mentions_in_sentence(sentence: str, directory: OutletDirectory) -> list[tuple[str, bool]]:
    """(outlet, says_first) for each outlet an attribution cue in this sentence points at."""
    normalized = normalize_text(sentence)
    outlets = directory.find_outlets(normalized)
    if not outlets:
        return []
    found: dict[str, bool] = {}
    for compiled in _compiled_cues():
        reach = compiled.cue.reach
        base = (MAX_WORDS_AFTER_CUE, MAX_WORDS_BEFORE_CUE) if reach is None else (reach, reach)
        for match in compiled.pattern.finditer(normalized):
            spans = [
                (start, end, outlet)
                for start, end, outlet in outlets
                if not _overlaps((start, end), match.span())
            ]
            hits = [
                o
                for s, e, o in spans
                if _cue_reaches(normalized, match.span(), (s, e), compiled.cue.direction, base)
            ]
            if not hits and compiled.cue.says_first:
                hits = _nearest_within(normalized, match.span(), spans, compiled.cue.direction)
            for outlet in hits:
                found[outlet] = found.get(outlet, False) or compiled.cue.says_first
    return sorted(found.items())


def _nearest_within(
    sentence: str, cue_span: tuple[int, int], spans: Sequence[tuple[int, int, str]], direction: str
) -> list[str]:
    """For an explicit "was first" cue: the one outlet nearest to it, with a description in between
    ("GeekWire, the Seattle tech site, was the first to report", "موقع غيك واير المتخصص في ... أول من أفاد")."""
    reach = (MAX_WORDS_NEAR_FIRST_CUE, MAX_WORDS_NEAR_FIRST_CUE)
    reachable = [(s, e, o) for s, e, o in spans if _cue_reaches(sentence, cue_span, (s, e), direction, reach)]
    if not reachable:
        return []
    nearest = min(reachable, key=lambda span: min(abs(span[0] - cue_span[1]), abs(cue_span[0] - span[1])))
    return [nearest[2]]


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    return a[0] < b[1] and b[0] < a[1]


def mention_citations(article: SourceArticle, directory: OutletDirectory) -> list[Citation]:
    """Every outlet the article credits in its text, once per outlet, with the first sentence that does."""
    own = directory.canonical(article.outlet)
    seen: dict[str, Citation] = {}
    for sentence in split_sentences(article.text):
        for outlet, says_first in mentions_in_sentence(sentence, directory):
            if outlet == own or _same_outlet_by_host(outlet, article.url, directory):
                continue
            previous = seen.get(outlet)
            if previous is None or (says_first and not previous.says_first):
                evidence = sentence[:MAX_EVIDENCE_CHARS]
                seen[outlet] = Citation(article.article_id, outlet, None, "mention", evidence, says_first)
    return [seen[k] for k in sorted(seen)]


def _same_outlet_by_host(outlet: str, url: str, directory: OutletDirectory) -> bool:
    host = urlsplit(url).hostname if url else None
    return bool(host) and directory.outlet_for_host(host or "") == outlet


def link_citations(
    article: SourceArticle,
    directory: OutletDirectory,
    url_index: Mapping[str, KnownArticle],
    normalize: Callable[[str], str],
) -> list[Citation]:
    """Hyperlinks to another outlet's article: a stored article when the URL is known, else the host's outlet.
    Relative links are resolved against the article's URL; a link to the article's own outlet is not a citation."""
    own = directory.canonical(article.outlet)
    own_host = _bare_host(urlsplit(article.url).hostname or "") if article.url else ""
    seen: dict[tuple[str, str | None], Citation] = {}
    for link in article.links:
        href = urljoin(article.url, link.href.strip()) if article.url else link.href.strip()
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            continue
        known = url_index.get(normalize(href))
        if known is not None:
            cited_outlet: str | None = directory.canonical(known.outlet)
        elif _bare_host(parts.hostname) != own_host:
            cited_outlet = directory.outlet_for_host(parts.hostname)
        else:
            continue  # an unknown page of the article's own site: navigation, tags, archives
        if cited_outlet is None or cited_outlet == own or (known and known.article_id == article.article_id):
            continue
        key = (cited_outlet, known.article_id if known else None)
        if key not in seen:
            seen[key] = _link_citation(article.article_id, cited_outlet, key[1], link.anchor, href)
    return [seen[k] for k in sorted(seen, key=lambda k: (k[0], k[1] or ""))]


def _link_citation(
    article_id: str, cited_outlet: str, cited_article_id: str | None, anchor: str | None, href: str
) -> Citation:
    anchor = (anchor or "").strip()
    evidence = f"{anchor} <{href}>" if anchor else href
    says_first = bool(anchor) and any(
        c.cue.says_first and c.pattern.search(normalize_text(anchor)) for c in _compiled_cues()
    )
    return Citation(
        article_id, cited_outlet, cited_article_id, "link", evidence[:MAX_EVIDENCE_CHARS], says_first
    )


def find_citations(
    article: SourceArticle,
    directory: OutletDirectory,
    url_index: Mapping[str, KnownArticle],
    normalize: Callable[[str], str],
) -> list[Citation]:
    """Link citations, then mention citations (both kept: a mention's sentence says whether the credit is
    "first"). Mentions get no ``cited_article_id`` here; the shell resolves it within the story."""
    return link_citations(article, directory, url_index, normalize) + mention_citations(article, directory)


@dataclass(frozen=True)
class LabelledSentence:
    lang: str
    citing_outlet: str
    expected: frozenset[str]
    sentence: str


@dataclass(frozen=True)
class CitationScores:
    true_positives: int
    false_positives: int
    false_negatives: int
    by_language: Mapping[str, tuple[int, int, int]]
    errors: tuple[str, ...]  # one line per wrong sentence, for the person tuning cues

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 1.0


def evaluate_mentions(sentences: Sequence[LabelledSentence], directory: OutletDirectory) -> CitationScores:
    """Precision and recall of mention citations (outlet, per sentence) against labelled sentences."""
    tp = fp = fn = 0
    by_language: dict[str, tuple[int, int, int]] = {}
    errors = []
    for number, item in enumerate(sentences, start=1):
        article = SourceArticle(f"s{number}", item.citing_outlet, text=item.sentence)
        found = {c.cited_outlet for c in mention_citations(article, directory)}
        hits, extra, missed = found & item.expected, found - item.expected, item.expected - found
        tp, fp, fn = tp + len(hits), fp + len(extra), fn + len(missed)
        lang = by_language.get(item.lang, (0, 0, 0))
        by_language[item.lang] = (lang[0] + len(hits), lang[1] + len(extra), lang[2] + len(missed))
        if extra or missed:
            errors.append(f"{item.lang} extra={sorted(extra)} missed={sorted(missed)}: {item.sentence}")
    return CitationScores(tp, fp, fn, by_language, tuple(errors))
