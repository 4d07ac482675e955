"""The shell around the first-report, citation and signal cores: read DuckDB, call the cores, write back.

``update_reports(conn)`` runs on the writer's read-write connection after ``cluster.store.update_stories``:
1. scans articles not scanned before (or whose text or links changed) for link and mention citations;
2. recomputes the first report of every story the stories stage refreshed (``first_report_method`` back to
   'earliest') or that contains a newly scanned article, and writes it back with UPDATE;
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
import pyarrow as pa

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

# Articles scanned for citations per batch: bounds memory on a large backlog.
SCAN_BATCH = 2000
METHOD = "claims"


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
    previous = _state(conn, "citations_fingerprint")
    if not reason and previous != fingerprint:
        reason = "first run" if previous is None else "outlet data or cues changed"
    conn.execute("BEGIN")
    try:
        _forget_removed_articles(conn)
        scanned, found = _scan_citations(conn, directory, rescan=bool(reason))
        story_ids = _stories_to_refresh(conn, scanned, everything=bool(reason))
        _resolve_mention_targets(conn, story_ids)
        reports = _update_first_reports(conn, story_ids, directory)
        links = _update_story_signals(conn, story_ids)
        _set_state(conn, "citations_fingerprint", fingerprint)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return ReportSummary(len(scanned), found, reports, links, round(time.monotonic() - started, 3), reason)


def _forget_removed_articles(conn: duckdb.DuckDBPyConnection) -> None:
    """Articles merged away by ingest's de-duplication take their citations with them."""
    conn.execute("DELETE FROM citation WHERE citing_article_id NOT IN (SELECT article_id FROM article)")
    conn.execute("DELETE FROM citation_scan WHERE article_id NOT IN (SELECT article_id FROM article)")
    conn.execute(
        "UPDATE citation SET cited_article_id = NULL "
        "WHERE cited_article_id IS NOT NULL AND cited_article_id NOT IN (SELECT article_id FROM article)"
    )


def outlet_directory(conn: duckdb.DuckDBPyConnection) -> OutletDirectory:
    """The bundled alias data merged with every outlet the database knows and the hosts of its articles."""
    rows = conn.execute(
        r"""
        SELECT outlet, list(DISTINCT host) FILTER (WHERE host <> '') FROM (
            SELECT outlet, lower(regexp_extract(url, '^[a-zA-Z]+://([^/:?#]+)', 1)) AS host FROM article
            UNION ALL
            SELECT outlet, lower(regexp_extract(coalesce(site_url, ''), '^[a-zA-Z]+://([^/:?#]+)', 1)) FROM feed
        ) WHERE outlet IS NOT NULL AND outlet <> '' GROUP BY outlet
        """
    ).fetchall()
    return load_directory().merged_with({name: hosts or [] for name, hosts in rows})


def citation_fingerprint(directory: OutletDirectory) -> str:
    digest = hashlib.sha1(repr(directory.outlets).encode())
    digest.update(repr(CUES).encode())
    return digest.hexdigest()[:12]


# Articles never scanned, or changed since (ingest bumps updated_at when a page is extracted): only those are
# read and hashed, so a run costs what is new, not the whole archive.
_CANDIDATES_SQL = """
WITH candidates AS (
    SELECT a.article_id, a.outlet, a.url, a.title, a.text, a.summary
    FROM article a LEFT JOIN citation_scan s USING (article_id)
    WHERE ? OR s.article_id IS NULL OR a.updated_at > s.scanned_at
), links AS (
    SELECT article_id, string_agg(href || ' ' || coalesce(anchor, ''), chr(10) ORDER BY position) AS links
    FROM article_link WHERE article_id IN (SELECT article_id FROM candidates) GROUP BY article_id
)
SELECT c.article_id, c.outlet, c.url, c.title, coalesce(nullif(c.text, ''), c.summary, '') AS body,
       md5(coalesce(c.title, '') || chr(31) || coalesce(c.text, '') || chr(31) || coalesce(c.summary, '')
           || chr(31) || coalesce(l.links, '')) AS digest
FROM candidates c LEFT JOIN links l USING (article_id)
ORDER BY c.article_id
"""


def _scan_citations(
    conn: duckdb.DuckDBPyConnection, directory: OutletDirectory, *, rescan: bool
) -> tuple[list[str], int]:
    """Find the citations of every article not yet scanned; returns the scanned ids and citations found."""
    candidates = conn.execute(_CANDIDATES_SQL, [rescan]).fetchall()
    scanned: list[str] = []
    found = 0
    for start in range(0, len(candidates), SCAN_BATCH):
        batch = candidates[start : start + SCAN_BATCH]
        ids = [row[0] for row in batch]
        links = _links_of(conn, ids)
        url_index = _url_index(
            conn, [link.href for article_links in links.values() for link in article_links]
        )
        citations: list[Citation] = []
        for article_id, outlet, url, title, body, _digest in batch:
            text = "\n".join(x for x in (title or "", body or "") if x)
            article = SourceArticle(
                article_id, outlet or "", url or "", text, tuple(links.get(article_id, ()))
            )
            citations += find_citations(article, directory, url_index, normalize_url)
        _write_citations(conn, batch, citations)
        scanned += ids
        found += len(citations)
    return scanned, found


def _links_of(conn: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, list[Link]]:
    out: dict[str, list[Link]] = defaultdict(list)
    with _registered(conn, "report_ids", {"article_id": list(article_ids)}):
        rows = conn.execute(
            "SELECT article_id, href, anchor FROM article_link WHERE article_id IN (SELECT article_id FROM report_ids)"
            " ORDER BY article_id, position"
        ).fetchall()
    for article_id, href, anchor in rows:
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
    with _registered(conn, "report_urls", {"url": sorted(wanted)}):
        rows = conn.execute(
            """
            SELECT u.url, a.article_id, a.outlet
            FROM (SELECT url, article_id FROM article_url UNION SELECT url, article_id FROM article) u
            JOIN article a ON a.article_id = u.article_id
            WHERE u.url IN (SELECT url FROM report_urls)
            ORDER BY a.article_id
            """
        ).fetchall()
    index: dict[str, KnownArticle] = {}
    for url, article_id, outlet in rows:
        index.setdefault(normalize_url(url), KnownArticle(article_id, outlet or ""))
    return index


def _write_citations(
    conn: duckdb.DuckDBPyConnection, batch: Sequence[tuple[Any, ...]], found: list[Citation]
) -> None:
    now = datetime.now(UTC)
    ids = [row[0] for row in batch]
    with _registered(conn, "report_ids", {"article_id": ids}):
        conn.execute("DELETE FROM citation WHERE citing_article_id IN (SELECT article_id FROM report_ids)")
        conn.execute("DELETE FROM citation_scan WHERE article_id IN (SELECT article_id FROM report_ids)")
    columns: dict[str, list[Any]] = {
        "citing_article_id": [c.citing_article_id for c in found],
        "cited_outlet": [c.cited_outlet for c in found],
        "cited_article_id": [c.cited_article_id for c in found],
        "kind": [c.kind for c in found],
        "evidence": [c.evidence for c in found],
        "says_first": [c.says_first for c in found],
    }
    if found:
        with _registered(conn, "new_citations", columns):
            conn.execute("INSERT INTO citation SELECT *, ? FROM new_citations", [now])
    scans = {"article_id": ids, "content_sha1": [row[5] for row in batch]}
    with _registered(conn, "new_scans", scans):
        conn.execute("INSERT INTO citation_scan SELECT *, ? FROM new_scans", [now])


def _stories_to_refresh(
    conn: duckdb.DuckDBPyConnection, scanned: Sequence[str], *, everything: bool
) -> list[str]:
    """Stories refreshed by the stories stage, stories with newly scanned members, or all of them."""
    if everything:
        return [row[0] for row in conn.execute("SELECT story_id FROM story ORDER BY story_id").fetchall()]
    with _registered(conn, "report_ids", {"article_id": list(scanned)}):
        rows = conn.execute(
            """
            SELECT story_id FROM story WHERE first_report_method IS DISTINCT FROM ?
            UNION
            SELECT story_id FROM story_member WHERE article_id IN (SELECT article_id FROM report_ids)
            UNION
            SELECT story_id FROM story WHERE story_id NOT IN (SELECT story_id FROM story_report)
            ORDER BY story_id
            """,
            [METHOD],
        ).fetchall()
    return [row[0] for row in rows]


def _resolve_mention_targets(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> None:
    """A mention's cited article: that outlet's earliest independent article in the citing article's story."""
    with _registered(conn, "report_stories", {"story_id": list(story_ids)}):
        conn.execute(
            """
            UPDATE citation SET cited_article_id = NULL
            WHERE kind = 'mention' AND citing_article_id IN (
                SELECT article_id FROM story_member WHERE story_id IN (SELECT story_id FROM report_stories))
            """
        )
        conn.execute(
            """
            UPDATE citation AS c SET cited_article_id = t.target
            FROM (
                SELECT m1.article_id AS citing_article_id, a2.outlet AS cited_outlet,
                       arg_min(a2.article_id, {'copy': m2.syndicated_from_article_id IS NOT NULL,
                                               'at': a2.published_at, 'id': a2.article_id}) AS target
                FROM story_member m1
                JOIN story_member m2 ON m2.story_id = m1.story_id AND m2.article_id <> m1.article_id
                JOIN article a2 ON a2.article_id = m2.article_id
                WHERE m1.story_id IN (SELECT story_id FROM report_stories)
                GROUP BY 1, 2
            ) t
            WHERE c.kind = 'mention' AND c.citing_article_id = t.citing_article_id
              AND c.cited_outlet = t.cited_outlet
            """
        )


def _update_first_reports(
    conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str], directory: OutletDirectory
) -> int:
    """Choose and write back the first report of each story given."""
    conn.execute("DELETE FROM story_report WHERE story_id NOT IN (SELECT story_id FROM story)")
    if not story_ids:
        return 0
    members, titles = _load_members(conn, story_ids)
    credits = _load_credits(conn, story_ids)
    zones = _zones(directory)
    reports = {
        story_id: choose_first_report(story_members, credits.get(story_id, ()), zones)
        for story_id, story_members in members.items()
    }
    _write_first_reports(conn, reports, titles)
    return len(reports)


def _load_members(
    conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]
) -> tuple[dict[str, list[Member]], dict[str, str | None]]:
    with _registered(conn, "report_stories", {"story_id": list(story_ids)}):
        rows = conn.execute(
            """
            SELECT m.story_id, a.article_id, coalesce(a.outlet, ''), a.published_at, a.published_at_source,
                   a.first_seen_at, a.language, m.syndicated_from_article_id, a.feed_published_raw,
                   a.page_published_raw, a.title, a.published_at_precision, a.published_at_earliest,
                   a.published_at_latest, json_extract_string(a.published_claims, '$.zone_learned')
            FROM story_member m JOIN article a ON a.article_id = m.article_id
            WHERE m.story_id IN (SELECT story_id FROM report_stories)
            ORDER BY m.story_id, a.article_id
            """
        ).fetchall()
    members: dict[str, list[Member]] = defaultdict(list)
    titles: dict[str, str | None] = {}
    for (
        story_id,
        article_id,
        outlet,
        published,
        source,
        seen,
        lang,
        copy_of,
        feed_raw,
        page_raw,
        title,
        precision,
        earliest,
        latest,
        zone_learned,
    ) in rows:
        members[story_id].append(
            Member(
                article_id,
                outlet,
                _utc(published),
                source,
                _utc(seen),
                lang,
                copy_of,
                feed_raw,
                page_raw,
                precision,
                _utc(earliest) if earliest else None,
                _utc(latest) if latest else None,
                zone_learned,
            )
        )
        titles[article_id] = title
    return members, titles


def _load_credits(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> dict[str, list[Credit]]:
    with _registered(conn, "report_stories", {"story_id": list(story_ids)}):
        rows = conn.execute(
            """
            SELECT DISTINCT m.story_id, a.outlet, c.cited_outlet, c.says_first
            FROM citation c
            JOIN story_member m ON m.article_id = c.citing_article_id
            JOIN article a ON a.article_id = c.citing_article_id
            WHERE m.story_id IN (SELECT story_id FROM report_stories) AND a.outlet IS NOT NULL
              AND m.syndicated_from_article_id IS NULL -- a copy repeats its original's credits
            ORDER BY ALL
            """
        ).fetchall()
    credits: dict[str, list[Credit]] = defaultdict(list)
    for story_id, citing, cited, says_first in rows:
        credits[story_id].append(Credit(citing, cited, bool(says_first)))
    return credits


def _write_first_reports(
    conn: duckdb.DuckDBPyConnection, reports: dict[str, FirstReport], titles: dict[str, str | None]
) -> None:
    now = datetime.now(UTC)
    ordered = sorted(reports)
    columns: dict[str, list[Any]] = {
        "story_id": ordered,
        "first_article_id": [reports[s].article_id for s in ordered],
        "evidence": [reports[s].evidence for s in ordered],
        "headline": [titles.get(reports[s].article_id) for s in ordered],
        "first_claim": [reports[s].claim_kind for s in ordered],
        "uncertain": [reports[s].uncertain for s in ordered],
        "to5": [reports[s].seconds_to_outlets.get(5) for s in ordered],
        "to10": [reports[s].seconds_to_outlets.get(10) for s in ordered],
        "candidates": [list(reports[s].candidates) for s in ordered],
    }
    languages = [[asdict(reach) for reach in reports[s].languages] for s in ordered]
    with _registered(conn, "new_reports", columns):
        conn.execute(
            """
            UPDATE story AS s SET first_article_id = r.first_article_id, first_report_evidence = r.evidence,
                   headline = coalesce(r.headline, s.headline), first_report_method = ?
            FROM new_reports r WHERE s.story_id = r.story_id
            """,
            [METHOD],
        )
        conn.execute(
            """
            UPDATE story_member AS m SET is_first_report = (m.article_id = r.first_article_id)
            FROM new_reports r WHERE m.story_id = r.story_id
            """
        )
        conn.execute("DELETE FROM story_report WHERE story_id IN (SELECT story_id FROM new_reports)")
        conn.executemany(
            "INSERT INTO story_report (story_id, first_article_id, first_claim, first_uncertain, seconds_to_5_outlets, "
            "seconds_to_10_outlets, languages_reached, computed_at, first_candidates) "
            "SELECT story_id, first_article_id, first_claim, uncertain, to5, to10, ?, ?, candidates "
            "FROM new_reports WHERE story_id = ?",
            [[langs, now, story_id] for story_id, langs in zip(ordered, languages, strict=True)],
        )


def _update_story_signals(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> int:
    """Line stories up with signals; every story when the imported signals changed since the last run."""
    fingerprint = conn.execute(
        "SELECT count(*) || '/' || coalesce(max(imported_at)::VARCHAR, '') FROM signal"
    ).fetchone()
    signals_state = str(fingerprint[0]) if fingerprint else ""
    if _state(conn, "signals_fingerprint") != signals_state:
        _write_spikes(conn, index_signals(_load_signals(conn), load_services()))
        story_ids = [
            row[0] for row in conn.execute("SELECT story_id FROM story ORDER BY story_id").fetchall()
        ]
        conn.execute("DELETE FROM story_signal")
    conn.execute("DELETE FROM story_signal WHERE story_id NOT IN (SELECT story_id FROM story)")
    _set_state(conn, "signals_fingerprint", signals_state)
    if not story_ids:
        return 0
    points = _load_signals(conn)
    if not points:
        return 0
    index = index_signals(points, load_services())
    outages = [o for story in _story_refs(conn, story_ids) for o in link_story(story, index)]
    _write_story_signals(conn, story_ids, outages)
    return len(outages)


def _write_spikes(conn: duckdb.DuckDBPyConnection, index: dict[str, ServiceSignals]) -> None:
    """Every complaint spike, linked to a story or not (the alerts stage reads them), replaced as a whole."""
    now = datetime.now(UTC)
    conn.execute("DELETE FROM signal_spike")
    rows = [
        [o.service, o.onset_at, o.detected_at or o.onset_at, o.peak_at, o.peak_value, now]
        for signals in index.values()
        for o in signals.onsets
    ]
    if rows:
        conn.executemany("INSERT INTO signal_spike VALUES (?, ?, ?, ?, ?, ?)", rows)


def _load_signals(conn: duckdb.DuckDBPyConnection) -> list[SignalPoint]:
    rows = conn.execute(
        "SELECT source, service, ts, value, kind, text FROM signal ORDER BY service, ts"
    ).fetchall()
    return [
        SignalPoint(source, service, _utc(ts), value, kind, text)
        for source, service, ts, value, kind, text in rows
    ]


def _story_refs(conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str]) -> list[StoryRef]:
    with _registered(conn, "report_stories", {"story_id": list(story_ids)}):
        rows = conn.execute(
            """
            SELECT s.story_id, coalesce(s.headline, '') || chr(10) || coalesce(string_agg(a.title, chr(10)), ''),
                   s.first_published_at, s.last_published_at, s.first_outlet
            FROM stories s
            JOIN story_member m ON m.story_id = s.story_id
            JOIN article a ON a.article_id = m.article_id
            WHERE s.story_id IN (SELECT story_id FROM report_stories)
            GROUP BY s.story_id, s.headline, s.first_published_at, s.last_published_at, s.first_outlet
            ORDER BY s.story_id
            """
        ).fetchall()
    return [
        StoryRef(sid, text, _utc(first), _utc(last), outlet or "") for sid, text, first, last, outlet in rows
    ]


def _write_story_signals(
    conn: duckdb.DuckDBPyConnection, story_ids: Sequence[str], outages: list[StoryOutage]
) -> None:
    now = datetime.now(UTC)
    with _registered(conn, "report_stories", {"story_id": list(story_ids)}):
        conn.execute("DELETE FROM story_signal WHERE story_id IN (SELECT story_id FROM report_stories)")
    if not outages:
        return
    conn.executemany(
        "INSERT INTO story_signal VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
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
                now,
            ]
            for o in outages
        ],
    )


def _zones(directory: OutletDirectory) -> dict[str, tzinfo]:
    zones: dict[str, tzinfo] = {}
    for outlet, name in directory.timezones().items():
        try:
            zones[outlet] = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return zones


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _state(conn: duckdb.DuckDBPyConnection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM report_state WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else None


def _set_state(conn: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    conn.execute("DELETE FROM report_state WHERE key = ?", [key])
    conn.execute("INSERT INTO report_state VALUES (?, ?)", [key, value])


class _registered:
    """Register a small Arrow table under ``name`` for the block (DuckDB joins it like a table)."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[Any]]) -> None:
        self.conn, self.name, self.columns = conn, name, columns

    def __enter__(self) -> None:
        arrays = {
            name: pa.array(values, type=pa.string()) if not values else pa.array(values)
            for name, values in self.columns.items()
        }
        self.conn.register(self.name, pa.table(arrays))

    def __exit__(self, *exc: object) -> None:
        self.conn.unregister(self.name)


def import_signals(conn: duckdb.DuckDBPyConnection, points: Sequence[SignalPoint]) -> int:
    """Store signals, replacing earlier imports from the same sources; returns the rows stored."""
    now = datetime.now(UTC)
    rows: dict[str, list[Any]] = {}
    for p in points:
        key = "\x1f".join(
            (p.source, p.service, p.kind, p.ts.isoformat(), (p.text or "") if p.kind == "status" else "")
        )
        rows[hashlib.sha1(key.encode()).hexdigest()[:16]] = [
            p.source,
            p.service,
            p.ts,
            p.value,
            p.kind,
            p.text,
        ]
    conn.execute("BEGIN")
    try:
        for source in sorted({p.source for p in points}):
            conn.execute("DELETE FROM signal WHERE source = ?", [source])
        if rows:
            conn.executemany(
                "INSERT INTO signal VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [[signal_id, *values, now] for signal_id, values in sorted(rows.items())],
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return len(rows)
