"""The SQL of the reports stage: citations and their scans, first reports (``story``, ``story_member``,
``story_report``) and the stage's own state (``report_state``). Plain data in and out: the records below,
tuples and strings; the stage (``cluster.report_store``) turns them into its own contracts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from storage.helpers import Conn, registered, utc, utc_or_none

# What ``story.first_report_method`` says once this stage chose the first report (the stories stage writes
# 'earliest' when it refreshes a story, which asks for a new choice).
METHOD = "claims"


@dataclass(frozen=True)
class CitationCandidate:
    """An article to scan for citations, with a digest of everything the scan reads."""

    article_id: str
    outlet: str | None
    url: str | None
    title: str | None
    body: str
    digest: str


@dataclass(frozen=True)
class CitationRecord:
    """One row of ``citation`` (its ``found_at`` is the time of writing)."""

    citing_article_id: str
    cited_outlet: str
    cited_article_id: str | None
    kind: str
    evidence: str
    says_first: bool


@dataclass(frozen=True)
class MemberRecord:
    """A story member with every time claim the first-report choice reads; instants in UTC."""

    story_id: str
    article_id: str
    outlet: str
    published_at: datetime
    published_at_source: str
    first_seen_at: datetime
    language: str | None
    syndicated_from_article_id: str | None
    feed_published_raw: str | None
    page_published_raw: str | None
    title: str | None
    precision: str | None
    earliest: datetime | None
    latest: datetime | None
    zone_learned: str | None


@dataclass(frozen=True)
class CreditRecord:
    """An outlet of a story crediting another (from a stored citation)."""

    story_id: str
    citing_outlet: str
    cited_outlet: str
    says_first: bool


@dataclass(frozen=True)
class FirstReportRecord:
    """The chosen first report of a story and its spread figures, as written back."""

    story_id: str
    first_article_id: str
    evidence: str
    headline: str | None
    first_claim: str
    uncertain: bool
    seconds_to_5_outlets: int | None
    seconds_to_10_outlets: int | None
    candidates: tuple[str, ...]
    languages_reached: tuple[Mapping[str, Any], ...]  # {'language', 'first_at', 'lag_seconds'} each


# --- state ----------------------------------------------------------------------------------------------


def get_state(conn: Conn, key: str) -> str | None:
    """A value of ``report_state`` (None when never set)."""
    row = conn.execute("SELECT value FROM report_state WHERE key = ?", [key]).fetchone()
    return str(row[0]) if row else None


def set_state(conn: Conn, key: str, value: str) -> None:
    """Set a value of ``report_state``."""
    conn.execute("DELETE FROM report_state WHERE key = ?", [key])
    conn.execute("INSERT INTO report_state VALUES (?, ?)", [key, value])


# --- citations ------------------------------------------------------------------------------------------

_HOST = r"'^[a-zA-Z]+://([^/:?#]+)'"
_OUTLET_HOSTS_SQL = f"""
SELECT outlet, list(DISTINCT host) FILTER (WHERE host <> '') FROM (
    SELECT outlet, lower(regexp_extract(url, {_HOST}, 1)) AS host FROM article
    UNION ALL
    SELECT outlet, lower(regexp_extract(coalesce(site_url, ''), {_HOST}, 1)) FROM feed
) WHERE outlet IS NOT NULL AND outlet <> '' GROUP BY outlet
"""


def outlet_hosts(conn: Conn) -> dict[str, list[str]]:
    """Every outlet the database knows, with the hosts of its articles and feed sites."""
    return {name: hosts or [] for name, hosts in conn.execute(_OUTLET_HOSTS_SQL).fetchall()}


def forget_removed_articles(conn: Conn) -> None:
    """Articles merged away by ingest's de-duplication take their citations and scans with them."""
    conn.execute("DELETE FROM citation WHERE citing_article_id NOT IN (SELECT article_id FROM article)")
    conn.execute("DELETE FROM citation_scan WHERE article_id NOT IN (SELECT article_id FROM article)")
    conn.execute(
        "UPDATE citation SET cited_article_id = NULL "
        "WHERE cited_article_id IS NOT NULL AND cited_article_id NOT IN (SELECT article_id FROM article)"
    )


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


def citation_candidates(conn: Conn, *, rescan: bool) -> list[CitationCandidate]:
    """Articles not scanned since they last changed (every article with ``rescan``), by id."""
    return [CitationCandidate(*row) for row in conn.execute(_CANDIDATES_SQL, [rescan]).fetchall()]


def article_links(conn: Conn, article_ids: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """(article_id, href, anchor) of these articles' links, in page order."""
    with registered(conn, "report_ids", {"article_id": list(article_ids)}):
        return conn.execute(
            "SELECT article_id, href, anchor FROM article_link WHERE article_id IN (SELECT article_id FROM report_ids)"
            " ORDER BY article_id, position"
        ).fetchall()


_ARTICLES_BY_URL_SQL = """
SELECT u.url, a.article_id, a.outlet
FROM (SELECT url, article_id FROM article_url UNION SELECT url, article_id FROM article) u
JOIN article a ON a.article_id = u.article_id
WHERE u.url IN (SELECT url FROM report_urls)
ORDER BY a.article_id
"""


def articles_by_url(conn: Conn, urls: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """(url, article_id, outlet) of stored articles known under any of these URLs, by article id."""
    with registered(conn, "report_urls", {"url": list(urls)}):
        return conn.execute(_ARTICLES_BY_URL_SQL).fetchall()


def replace_citations(
    conn: Conn, scanned: Sequence[tuple[str, str]], found: Sequence[CitationRecord], now: datetime
) -> None:
    """Replace the citations and scan marks of the scanned (article_id, digest) pairs with what was found."""
    ids = [article_id for article_id, _digest in scanned]
    with registered(conn, "report_ids", {"article_id": ids}):
        conn.execute("DELETE FROM citation WHERE citing_article_id IN (SELECT article_id FROM report_ids)")
        conn.execute("DELETE FROM citation_scan WHERE article_id IN (SELECT article_id FROM report_ids)")
    if found:
        columns: dict[str, list[Any]] = {
            "citing_article_id": [c.citing_article_id for c in found],
            "cited_outlet": [c.cited_outlet for c in found],
            "cited_article_id": [c.cited_article_id for c in found],
            "kind": [c.kind for c in found],
            "evidence": [c.evidence for c in found],
            "says_first": [c.says_first for c in found],
        }
        with registered(conn, "new_citations", columns):
            conn.execute("INSERT INTO citation SELECT *, ? FROM new_citations", [now])
    scans = {"article_id": ids, "content_sha1": [digest for _id, digest in scanned]}
    with registered(conn, "new_scans", scans):
        conn.execute("INSERT INTO citation_scan SELECT *, ? FROM new_scans", [now])


# --- first reports --------------------------------------------------------------------------------------


def all_story_ids(conn: Conn) -> list[str]:
    """Every story id, in order."""
    return [row[0] for row in conn.execute("SELECT story_id FROM story ORDER BY story_id").fetchall()]


_TO_REFRESH_SQL = """
SELECT story_id FROM story WHERE first_report_method IS DISTINCT FROM ?
UNION
SELECT story_id FROM story_member WHERE article_id IN (SELECT article_id FROM report_ids)
UNION
SELECT story_id FROM story WHERE story_id NOT IN (SELECT story_id FROM story_report)
ORDER BY story_id
"""


def stories_to_refresh(conn: Conn, scanned: Sequence[str]) -> list[str]:
    """Stories the stories stage refreshed, stories with one of these articles, and stories never reported."""
    with registered(conn, "report_ids", {"article_id": list(scanned)}):
        return [row[0] for row in conn.execute(_TO_REFRESH_SQL, [METHOD]).fetchall()]


_MENTION_TARGETS_SQL = """
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


def resolve_mention_targets(conn: Conn, story_ids: Sequence[str]) -> None:
    """A mention's cited article: that outlet's earliest independent article in the citing article's story."""
    with registered(conn, "report_stories", {"story_id": list(story_ids)}):
        conn.execute(
            """
            UPDATE citation SET cited_article_id = NULL
            WHERE kind = 'mention' AND citing_article_id IN (
                SELECT article_id FROM story_member WHERE story_id IN (SELECT story_id FROM report_stories))
            """
        )
        conn.execute(_MENTION_TARGETS_SQL)


def forget_removed_stories(conn: Conn) -> None:
    """Drop the first-report figures of stories that no longer exist."""
    conn.execute("DELETE FROM story_report WHERE story_id NOT IN (SELECT story_id FROM story)")


_MEMBERS_SQL = """
SELECT m.story_id, a.article_id, coalesce(a.outlet, ''), a.published_at, a.published_at_source,
       a.first_seen_at, a.language, m.syndicated_from_article_id, a.feed_published_raw,
       a.page_published_raw, a.title, a.published_at_precision, a.published_at_earliest,
       a.published_at_latest, json_extract_string(a.published_claims, '$.zone_learned')
FROM story_member m JOIN article a ON a.article_id = m.article_id
WHERE m.story_id IN (SELECT story_id FROM report_stories)
ORDER BY m.story_id, a.article_id
"""


def story_members(conn: Conn, story_ids: Sequence[str]) -> list[MemberRecord]:
    """The members of these stories with their time claims, by story then article."""
    with registered(conn, "report_stories", {"story_id": list(story_ids)}):
        rows = conn.execute(_MEMBERS_SQL).fetchall()
    return [_member_in_utc(MemberRecord(*row)) for row in rows]


def _member_in_utc(r: MemberRecord) -> MemberRecord:
    return replace(
        r,
        published_at=utc(r.published_at),
        first_seen_at=utc(r.first_seen_at),
        earliest=utc_or_none(r.earliest),
        latest=utc_or_none(r.latest),
    )


_CREDITS_SQL = """
SELECT DISTINCT m.story_id, a.outlet, c.cited_outlet, c.says_first
FROM citation c
JOIN story_member m ON m.article_id = c.citing_article_id
JOIN article a ON a.article_id = c.citing_article_id
WHERE m.story_id IN (SELECT story_id FROM report_stories) AND a.outlet IS NOT NULL
  AND m.syndicated_from_article_id IS NULL -- a copy repeats its original's credits
ORDER BY ALL
"""


def story_credits(conn: Conn, story_ids: Sequence[str]) -> list[CreditRecord]:
    """Who credits whom in these stories (copies left out: they repeat their original's credits)."""
    with registered(conn, "report_stories", {"story_id": list(story_ids)}):
        rows = conn.execute(_CREDITS_SQL).fetchall()
    return [CreditRecord(story, citing, cited, bool(says_first)) for story, citing, cited, says_first in rows]


_STORY_FIRST_SQL = """
UPDATE story AS s SET first_article_id = r.first_article_id, first_report_evidence = r.evidence,
       headline = coalesce(r.headline, s.headline), first_report_method = ?
FROM new_reports r WHERE s.story_id = r.story_id
"""
_MEMBER_FIRST_SQL = """
UPDATE story_member AS m SET is_first_report = (m.article_id = r.first_article_id)
FROM new_reports r WHERE m.story_id = r.story_id
"""
_INSERT_REPORT_SQL = """
INSERT INTO story_report (story_id, first_article_id, first_claim, first_uncertain, seconds_to_5_outlets,
                          seconds_to_10_outlets, languages_reached, computed_at, first_candidates)
SELECT story_id, first_article_id, first_claim, uncertain, to5, to10, ?, ?, candidates
FROM new_reports WHERE story_id = ?
"""


def write_first_reports(conn: Conn, reports: Sequence[FirstReportRecord], now: datetime) -> None:
    """Write the first reports back: on the story, on its members, and as its ``story_report`` row."""
    ordered = sorted(reports, key=lambda r: r.story_id)
    columns: dict[str, list[Any]] = {
        "story_id": [r.story_id for r in ordered],
        "first_article_id": [r.first_article_id for r in ordered],
        "evidence": [r.evidence for r in ordered],
        "headline": [r.headline for r in ordered],
        "first_claim": [r.first_claim for r in ordered],
        "uncertain": [r.uncertain for r in ordered],
        "to5": [r.seconds_to_5_outlets for r in ordered],
        "to10": [r.seconds_to_10_outlets for r in ordered],
        "candidates": [list(r.candidates) for r in ordered],
    }
    with registered(conn, "new_reports", columns):
        conn.execute(_STORY_FIRST_SQL, [METHOD])
        conn.execute(_MEMBER_FIRST_SQL)
        conn.execute("DELETE FROM story_report WHERE story_id IN (SELECT story_id FROM new_reports)")
        conn.executemany(
            _INSERT_REPORT_SQL,
            [[[dict(reach) for reach in r.languages_reached], now, r.story_id] for r in ordered],
        )
