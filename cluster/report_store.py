"""The shell around the first-report, citation and signal cores: read through storage, call the cores, write
back through storage. No SQL here: every statement lives in ``storage.reports`` and ``storage.signals``.

``update_reports(conn)`` runs on the writer's read-write connection after ``cluster.store.update_stories``:
1. scans articles not scanned before (or whose text or links changed) for link and mention citations;
2. recomputes the first report of every story the stories stage refreshed (``first_report_method`` back to
   'earliest') or that contains a newly scanned article, and writes it back;
3. lines stories up with the outage signals of the services they name.
A change of the outlet alias data (or of the outlets the database knows) rescans everything, as does a change
of the imported signals for step 3.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from cluster.citations import (
    CUES,
    Citation,
    KnownArticle,
    Link,
    OutletDirectory,
    SourceArticle,
    find_citations,
    load_directory,
    load_services,
)
from cluster.first_report import Credit, FirstReport, Member, choose_first_report
from cluster.signals import (
    ServiceSignals,
    SignalPoint,
    StoryOutage,
    StoryRef,
    index_signals,
    link_story,
)
from common.text import plural
from common.urls import normalize_url
from storage import reports as report_rows
from storage import signals as signal_rows
from storage.helpers import transaction

# Articles scanned for citations per batch: bounds memory on a large backlog.
SCAN_BATCH = 2000


@dataclass(frozen=True)
class ReportSummary:
    articles_scanned: int
    citations_found: int
    stories_updated: int
    story_signals: int
    seconds: float
    reason: str = ""  # why everything was rescanned

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (
            f"reports{why}: {plural(self.articles_scanned, 'article')} scanned, "
            f"{plural(self.citations_found, 'citation')} found, "
            f"{plural(self.stories_updated, 'first report')} updated, {plural(self.story_signals, 'story-signal link')}, "
            f"{self.seconds:.2f}s"
        )


def update_reports(conn: duckdb.DuckDBPyConnection, *, full: bool = False) -> ReportSummary:
    """Citations, first reports and signal links for everything new since the last run (or all, ``full``)."""
    started = time.monotonic()
    directory = outlet_directory(conn)
    fingerprint = citation_fingerprint(directory)
    reason = "requested" if full else ""
    previous = report_rows.get_state(conn, "citations_fingerprint")
    if not reason and previous != fingerprint:
        reason = "first run" if previous is None else "outlet data or cues changed"
    with transaction(conn):
        report_rows.forget_removed_articles(conn)
        scanned, found = _scan_citations(conn, directory, rescan=bool(reason))
        story_ids = _stories_to_refresh(conn, scanned, everything=bool(reason))
        report_rows.resolve_mention_targets(conn, story_ids)
        reports = _update_first_reports(conn, story_ids, directory)
        links = _update_story_signals(conn, story_ids)
        report_rows.set_state(conn, "citations_fingerprint", fingerprint)
    return ReportSummary(len(scanned), found, reports, links, round(time.monotonic() - started, 3), reason)


def outlet_directory(conn: duckdb.DuckDBPyConnection) -> OutletDirectory:
    """The bundled alias data merged with every outlet the database knows and the hosts of its articles."""
    return load_directory().merged_with(report_rows.outlet_hosts(conn))


def citation_fingerprint(directory: OutletDirectory) -> str:
    digest = hashlib.sha1(repr(directory.outlets).encode())
    digest.update(repr(CUES).encode())
    return digest.hexdigest()[:12]


def _scan_citations(
    conn: duckdb.DuckDBPyConnection, directory: OutletDirectory, *, rescan: bool
) -> tuple[list[str], int]:
    """Find the citations of every article not yet scanned; returns the scanned ids and citations found."""
    candidates = report_rows.citation_candidates(conn, rescan=rescan)
    scanned: list[str] = []
    found = 0
    for start in range(0, len(candidates), SCAN_BATCH):
        batch = candidates[start : start + SCAN_BATCH]
        ids = [c.article_id for c in batch]
        links = _links_of(conn, ids)
        url_index = _url_index(
            conn, [link.href for article_links in links.values() for link in article_links]
        )
        citations: list[Citation] = []
        for c in batch:
            text = "\n".join(x for x in (c.title or "", c.body or "") if x)
            article = SourceArticle(
                c.article_id, c.outlet or "", c.url or "", text, tuple(links.get(c.article_id, ()))
            )
            citations += find_citations(article, directory, url_index, normalize_url)
        report_rows.replace_citations(
            conn,
            [(c.article_id, c.digest) for c in batch],
            [_citation_record(citation) for citation in citations],
            datetime.now(UTC),
        )
        scanned += ids
        found += len(citations)
    return scanned, found


def _citation_record(c: Citation) -> report_rows.CitationRecord:
    return report_rows.CitationRecord(
        c.citing_article_id, c.cited_outlet, c.cited_article_id, c.kind, c.evidence, c.says_first
    )


def _links_of(conn: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, list[Link]]:
    out: dict[str, list[Link]] = defaultdict(list)
    for article_id, href, anchor in report_rows.article_links(conn, article_ids):
        out[article_id].append(Link(href, anchor))
    return out


def _url_index(conn: duckdb.DuckDBPyConnection, hrefs: Iterable[str]) -> dict[str, KnownArticle]:
    """Stored articles under any of these URLs (as written or normalised), keyed by normalised URL."""
    wanted: set[str] = set()
    for href in hrefs:
        wanted.add(href)
        try:
            wanted.add(normalize_url(href))
        except ValueError:
            continue
    if not wanted:
        return {}
    index: dict[str, KnownArticle] = {}
    for url, article_id, outlet in report_rows.articles_by_url(conn, sorted(wanted)):
        index.setdefault(normalize_url(url), KnownArticle(article_id, outlet or ""))
    return index


def _stories_to_refresh(
    conn: duckdb.DuckDBPyConnection, scanned: Sequence[str], *, everything: bool
) -> list[str]:
    """Stories refreshed by the stories stage, stories with newly scanned members, or all of them."""
    if everything:
        return report_rows.all_story_ids(conn)
    return report_rows.stories_to_refresh(conn, scanned)


def _update_first_reports(
    conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str], directory: OutletDirectory
) -> int:
    """Choose and write back the first report of each story given."""
    report_rows.forget_removed_stories(conn)
    if not story_ids:
        return 0
    members, titles = _load_members(conn, story_ids)
    credits = _load_credits(conn, story_ids)
    zones = _zones(directory)
    reports = {
        story_id: choose_first_report(story_members, credits.get(story_id, ()), zones)
        for story_id, story_members in members.items()
    }
    report_rows.write_first_reports(
        conn, [_report_record(s, r, titles) for s, r in reports.items()], datetime.now(UTC)
    )
    return len(reports)


def _load_members(
    conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]
) -> tuple[dict[str, list[Member]], dict[str, str | None]]:
    members: dict[str, list[Member]] = defaultdict(list)
    titles: dict[str, str | None] = {}
    for r in report_rows.story_members(conn, story_ids):
        members[r.story_id].append(
            Member(
                r.article_id,
                r.outlet,
                r.published_at,
                r.published_at_source,
                r.first_seen_at,
                r.language,
                r.syndicated_from_article_id,
                r.feed_published_raw,
                r.page_published_raw,
                r.precision,
                r.earliest,
                r.latest,
                r.zone_learned,
            )
        )
        titles[r.article_id] = r.title
    return members, titles


def _load_credits(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> dict[str, list[Credit]]:
    credits: dict[str, list[Credit]] = defaultdict(list)
    for r in report_rows.story_credits(conn, story_ids):
        credits[r.story_id].append(Credit(r.citing_outlet, r.cited_outlet, r.says_first))
    return credits


def _report_record(
    story_id: str, report: FirstReport, titles: dict[str, str | None]
) -> report_rows.FirstReportRecord:
    return report_rows.FirstReportRecord(
        story_id=story_id,
        first_article_id=report.article_id,
        evidence=report.evidence,
        headline=titles.get(report.article_id),
        first_claim=report.claim_kind,
        uncertain=report.uncertain,
        seconds_to_5_outlets=report.seconds_to_outlets.get(5),
        seconds_to_10_outlets=report.seconds_to_outlets.get(10),
        candidates=tuple(report.candidates),
        languages_reached=tuple(asdict(reach) for reach in report.languages),
    )


def _update_story_signals(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> int:
    """Line stories up with signals; every story when the imported signals changed since the last run."""
    signals_state = signal_rows.signals_fingerprint(conn)
    if report_rows.get_state(conn, "signals_fingerprint") != signals_state:
        _write_spikes(conn, index_signals(_load_signals(conn), load_services()))
        story_ids = report_rows.all_story_ids(conn)
        signal_rows.clear_story_signals(conn)
    signal_rows.forget_removed_stories(conn)
    report_rows.set_state(conn, "signals_fingerprint", signals_state)
    if not story_ids:
        return 0
    points = _load_signals(conn)
    if not points:
        return 0
    index = index_signals(points, load_services())
    outages = [o for story in _story_refs(conn, story_ids) for o in link_story(story, index)]
    signal_rows.replace_story_signals(conn, story_ids, [_link_record(o) for o in outages], datetime.now(UTC))
    return len(outages)


def _link_record(o: StoryOutage) -> signal_rows.StorySignalRecord:
    return signal_rows.StorySignalRecord(
        o.story_id,
        o.service,
        o.onset_at,
        o.peak_at,
        o.peak_value,
        o.first_report_at,
        o.lag_seconds,
        o.statement_at,
        o.statement_text,
        o.summary,
    )


def _write_spikes(conn: duckdb.DuckDBPyConnection, index: dict[str, ServiceSignals]) -> None:
    """Every complaint spike, linked to a story or not (the alerts stage reads them), replaced as a whole."""
    spikes = [
        signal_rows.SpikeRecord(o.service, o.onset_at, o.detected_at or o.onset_at, o.peak_at, o.peak_value)
        for signals in index.values()
        for o in signals.onsets
    ]
    signal_rows.replace_spikes(conn, spikes, datetime.now(UTC))


def _load_signals(conn: duckdb.DuckDBPyConnection) -> list[SignalPoint]:
    return [
        SignalPoint(r.source, r.service, r.ts, r.value, r.kind, r.text)
        for r in signal_rows.load_signals(conn)
    ]


def _story_refs(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> list[StoryRef]:
    return [
        StoryRef(r.story_id, r.text, r.first_published_at, r.last_published_at, r.first_outlet)
        for r in signal_rows.story_texts(conn, story_ids)
    ]


def _zones(directory: OutletDirectory) -> dict[str, tzinfo]:
    zones: dict[str, tzinfo] = {}
    for outlet, name in directory.timezones().items():
        try:
            zones[outlet] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return zones


def _signal_id(point: SignalPoint) -> str:
    """A stable id: the same point imported again replaces itself (a status also keys on its text)."""
    key = "\x1f".join(
        (
            point.source,
            point.service,
            point.kind,
            point.ts.isoformat(),
            (point.text or "") if point.kind == "status" else "",
        )
    )
    return hashlib.sha1(key.encode()).hexdigest()[:16]


def import_signals(conn: duckdb.DuckDBPyConnection, points: Sequence[SignalPoint]) -> int:
    """Store signals, replacing earlier imports from the same sources; returns the rows stored."""
    now = datetime.now(UTC)
    records: dict[str, signal_rows.SignalRecord] = {}
    for p in points:
        records[_signal_id(p)] = signal_rows.SignalRecord(p.source, p.service, p.ts, p.value, p.kind, p.text)
    with transaction(conn):
        signal_rows.replace_signals(
            conn, sorted({p.source for p in points}), sorted(records.items(), key=lambda item: item[0]), now
        )
    return len(records)
