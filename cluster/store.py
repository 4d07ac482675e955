"""The shell of story clustering: read articles from DuckDB, run the core, write stories back.

``update_stories`` runs on the single writer's open connection (``storage.connection.writer``). Incremental runs
assign only articles without a ``story_member`` row. When a new article is older than some already assigned
ones (a late page date, a slow feed), every assignment from that point on is undone and replayed, with the
stories open at that point restored, so the result is always exactly what ``rebuild=True`` gives.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from cluster.features import Features
from cluster.model import ArticleIn, Assignment, StoryMembers
from cluster.parallel import PARALLEL_MIN
from cluster.params import ALGORITHM_VERSION, DEFAULT_PARAMS, ClusterParams
from cluster.stories import Clusterer
from cluster.text import DATA_DIR
from common.text import plural
from common.timeclaims import is_instant
from common.urls import normalize_url
from storage import stories as rows
from storage.helpers import transaction

# Characters of the body read from the database: enough for the lead (40 words) and the syndication
# comparison (ClusterParams.syndication_chars after whitespace is collapsed).
BODY_CHARS = DEFAULT_PARAMS.syndication_chars
# Articles read (and members written) per page: memory stays bounded whatever the size of the database.
PAGE_ROWS = 50_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class ClusterSummary:
    """What one ``update_stories`` run did."""

    mode: str  # incremental | rebuild
    articles_assigned: int  # new articles given a story
    articles_replayed: int  # already assigned articles re-decided because an older article arrived late
    stories_created: int
    stories_changed: int
    stories_total: int
    syndicated: int  # copies among the assigned and replayed articles
    seconds: float
    fingerprint: str
    reason: str = ""  # why a rebuild happened
    changed_story_ids: tuple[str, ...] = field(default=(), repr=False)

    def as_dict(self) -> dict[str, Any]:
        """Figures for logs and ``--json`` (without the changed ids, which can run to millions)."""
        out = asdict(self)
        del out["changed_story_ids"]
        return out

    def describe(self) -> str:
        why = f" ({self.reason})" if self.reason else ""
        return (
            f"cluster {self.mode}{why}: {plural(self.articles_assigned, 'article')} assigned, "
            f"{self.articles_replayed} replayed, {plural(self.stories_created, 'story', 'stories')} created, "
            f"{self.stories_changed} changed, {self.stories_total} in total, {plural(self.syndicated, 'copy', 'copies')}, "
            f"{self.seconds:.2f}s"
        )


def clustering_fingerprint(params: ClusterParams) -> str:
    """Algorithm version, parameters and the bundled word lists: any change means earlier decisions may
    differ."""
    digest = hashlib.sha1(f"{ALGORITHM_VERSION}:{params.fingerprint()}".encode())
    for path in sorted(DATA_DIR.glob("*.toml")):
        if path.name in ("aliases.toml", "stopwords.toml"):
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def update_stories(
    conn: duckdb.DuckDBPyConnection,
    *,
    rebuild: bool = False,
    params: ClusterParams = DEFAULT_PARAMS,
    workers: int | None = 0,
) -> ClusterSummary:
    """Assign every unassigned article to a story (or, with ``rebuild``, recompute all stories).

    ``workers``: processes that featurise a large batch beside the clustering one (None: one per spare
    core; 0: none). They are started with "spawn", so a calling script needs the usual
    ``if __name__ == "__main__"`` guard; the ``scooptrace`` command has it."""
    started = time.monotonic()
    fingerprint = clustering_fingerprint(params)
    with transaction(conn):
        reason = _rebuild_reason(conn, fingerprint, rebuild)
        if reason:
            rows.clear(conn)
        result = _run(conn, params, workers)
        rows.set_state(conn, "fingerprint", fingerprint)
    total = rows.count_stories(conn)
    return ClusterSummary(
        mode="rebuild" if reason else "incremental",
        articles_assigned=result.n_new,
        articles_replayed=result.n_replayed,
        stories_created=result.n_created,
        stories_changed=len(result.changed),
        stories_total=total,
        syndicated=result.n_syndicated,
        seconds=round(time.monotonic() - started, 3),
        fingerprint=fingerprint,
        reason=reason,
        changed_story_ids=tuple(sorted(result.changed)),
    )


def _rebuild_reason(conn: duckdb.DuckDBPyConnection, fingerprint: str, requested: bool) -> str:
    if requested:
        return "requested"
    stored = rows.stored_fingerprint(conn)
    if stored is None:
        return "no clustering state" if rows.has_members(conn) else ""
    return "" if stored == fingerprint else "parameters or word lists changed"


@dataclass
class _RunResult:
    n_new: int = 0
    n_replayed: int = 0
    n_created: int = 0
    n_syndicated: int = 0
    changed: set[str] = field(default_factory=set)


Key = tuple[int, str]  # (published_at in epoch microseconds, article_id): the processing order


def _run(conn: duckdb.DuckDBPyConnection, params: ClusterParams, workers: int | None) -> _RunResult:
    """Undo assignments from the earliest new or changed article on, restore the stories open there, then
    stream every unassigned article through the core in order, a page at a time, writing members as it goes."""
    changed = _changed_members(conn)
    first = rows.first_unassigned_key(conn)
    keys = ([first] if first else []) + [key for pair in changed.values() for key in pair]
    if not keys:
        return _RunResult()
    cutoff = min(keys)
    result = _RunResult(n_new=rows.count_unassigned(conn))
    clusterer = Clusterer(params, *rows.token_counts(conn))
    df_before = dict(clusterer.df)
    replayed = rows.members_from(conn, cutoff) | changed.keys()
    result.n_replayed = len(replayed)
    result.changed = _forget(conn, clusterer, replayed)
    merged_into: dict[str, str] = {}  # merges of this run: source story -> story it was merged into
    clusterer.restore(_open_stories(conn, params, cutoff))
    if result.n_new + result.n_replayed < PARALLEL_MIN:
        workers = 0
    pending: list[tuple[ArticleIn, Features, Assignment]] = []
    for placed in clusterer.place_stream(_unassigned_pages(conn, cutoff), workers):
        pending.append(placed)
        for source in placed[2].merged_story_ids:
            merged_into[source] = placed[2].story_id
        if len(pending) >= PAGE_ROWS:
            _write_members(conn, pending, result)
            pending = []
    _write_members(conn, pending, result)
    _apply_merges(conn, merged_into, result)
    rows.refresh_stories(conn, sorted(result.changed))
    _write_token_stats(conn, df_before, clusterer.df)
    return result


def _changed_members(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[Key, Key]]:
    """Assigned articles that changed since: another publication time, new content (a page extracted), or a
    canonical link that now resolves differently. article_id -> (key as clustered, key now)."""
    changed = {
        aid: ((old, aid), (now, aid)) for aid, old, now in rows.changed_members(conn, body_chars=BODY_CHARS)
    }
    linked = rows.members_with_canonical_links(conn)
    resolved = _resolve_canonical(conn, [(row[0], row[3], row[4], row[5]) for row in linked])
    for aid, us, stored, *_ in linked:
        if resolved.get(aid) != stored:
            changed.setdefault(aid, ((us, aid), (us, aid)))
    return changed


def _unassigned_pages(conn: duckdb.DuckDBPyConnection, cutoff: Key) -> Iterator[ArticleIn]:
    """Every unassigned article from the cutoff on, in processing order, read a page at a time (keyset
    pagination: each page is fetched whole, so writes can go between pages on the same connection)."""
    key, after = cutoff, False
    while True:
        page = _articles(
            conn, rows.unassigned_articles(conn, key, after=after, limit=PAGE_ROWS, body_chars=BODY_CHARS)
        )
        yield from page
        if len(page) < PAGE_ROWS:
            return
        last = page[-1]
        key, after = (round(last.sort_key[0] * 1_000_000), last.article_id), True


def _forget(conn: duckdb.DuckDBPyConnection, clusterer: Clusterer, article_ids: set[str]) -> set[str]:
    """Undo the assignments of articles to be replayed: their memberships, the token counts they added
    (the tokens stored with them: the article may have changed since) and the story merges their placement
    made. Returns the stories they were in (and the stories an undone merge touched)."""
    if not article_ids:
        return set()
    forgotten = rows.forget_members(conn, sorted(article_ids))
    df = clusterer.df
    for _, tokens, _, _ in forgotten:
        for token in tokens or ():
            df[token] -= 1
            if not df[token]:
                del df[token]
    clusterer.n_docs -= len(forgotten)
    changed = {row[0] for row in forgotten}
    undone_targets = {fragment for _, _, fragment, merged in forgotten if merged and fragment}
    if undone_targets:
        changed |= _undo_merges(conn, undone_targets)
    return changed


def _undo_merges(conn: duckdb.DuckDBPyConnection, undone_targets: set[str]) -> set[str]:
    """Merges made by replayed articles are gone: members still labelled with the stories those merges went
    into get back the story their fragment resolves to under the merges that remain. Returns the labels
    touched (old and new)."""
    parent = {}
    for fragment, merged in rows.merges_made(conn):
        for source in merged:
            parent[source] = fragment
    members = rows.members_labelled(conn, sorted(undone_targets))
    relabel: dict[str, str] = {}
    for article_id, label, placed_in in members:
        story = placed_in or label
        while story in parent:
            story = parent[story]
        if story != label:
            relabel[article_id] = story
    rows.relabel_members(conn, relabel)
    return {label for _, label, _ in members} | set(relabel.values())


def _apply_merges(conn: duckdb.DuckDBPyConnection, merged_into: dict[str, str], result: _RunResult) -> None:
    """Members of the stories merged away in this run (written before the merge, or in earlier runs) move to
    the story each ended in."""
    if not merged_into:
        return
    final = {}
    for source, target in merged_into.items():
        while target in merged_into:
            target = merged_into[target]
        final[source] = target
    rows.move_members(conn, final)
    result.changed |= set(final) | set(final.values())


def _open_stories(conn: duckdb.DuckDBPyConnection, params: ClusterParams, cutoff: Key) -> list[StoryMembers]:
    """Stories still open at the cutoff, with their members before it, in processing order."""
    gap_us = int(params.open_gap_hours * 3600 * 1_000_000)
    span_us = int(params.max_span_hours * 3600 * 1_000_000)
    members = rows.open_story_members(conn, cutoff, gap_us=gap_us, span_us=span_us)
    if not members:
        return []
    ids = [row[1] for row in members]
    articles = {
        a.article_id: a for a in _articles(conn, rows.articles_by_id(conn, ids, body_chars=BODY_CHARS))
    }
    grouped: dict[str, list[tuple[ArticleIn, str | None]]] = {}
    for story_id, article_id, origin in members:
        grouped.setdefault(story_id, []).append((articles[article_id], origin))
    return [
        StoryMembers(story_id, tuple(a for a, _ in members), tuple(o for _, o in members))
        for story_id, members in grouped.items()
    ]


def _articles(conn: duckdb.DuckDBPyConnection, found: list[rows.ArticleRow]) -> list[ArticleIn]:
    """The core's articles from stored rows (see storage.stories), canonical links resolved to other
    outlets' articles."""
    canonical = _resolve_canonical(conn, [(r[0], r[3], r[7], r[8]) for r in found if r[7] and r[7] != r[8]])
    return [
        ArticleIn(
            article_id=row[0],
            title=row[1] or "",
            published_at=EPOCH + timedelta(microseconds=row[2]),
            outlet=row[3],
            language=row[4],
            summary=row[5],
            text=row[6],
            canonical_article_id=canonical.get(row[0]),
            # only a time to the minute says which articles came out together (the burst prior)
            precise_time=is_instant(row[9]),
        )
        for row in found
    ]


def _resolve_canonical(
    conn: duckdb.DuckDBPyConnection, links: list[tuple[str, str, str, str]]
) -> dict[str, str]:
    """(article_id, outlet, canonical_url, url) -> {article_id: the other outlet's article the canonical link
    points to}, matching the stored URLs of articles after the ingest URL normalisation."""
    targets: dict[str, str] = {}
    for article_id, _, canonical_url, _ in links:
        try:
            targets[article_id] = normalize_url(canonical_url)
        except ValueError:
            continue
    return rows.articles_at_urls(conn, targets)


def _write_token_stats(
    conn: duckdb.DuckDBPyConnection, before: dict[str, int], after: dict[str, int]
) -> None:
    """Write only the token counts that changed (the table holds the whole vocabulary)."""
    changed = {token: df for token, df in after.items() if before.get(token) != df}
    removed = [token for token in before if token not in after]
    rows.write_token_counts(conn, changed, removed)


def _write_members(
    conn: duckdb.DuckDBPyConnection, placed: list[tuple[ArticleIn, Features, Assignment]], result: _RunResult
) -> None:
    """Insert the memberships with what was clustered (time, content digest, canonical target, tokens)."""
    if not placed:
        return
    assignments = [assignment for _, _, assignment in placed]
    columns = {
        "article_id": pa.array([a.article_id for a in assignments], pa.string()),
        "story_id": pa.array([a.story_id for a in assignments], pa.string()),
        "score": pa.array([a.score for a in assignments], pa.float64()),
        "syndicated_from_article_id": pa.array(
            [a.syndicated_from_article_id for a in assignments], pa.string()
        ),
        "syndication_evidence": pa.array([a.syndication_evidence for a in assignments], pa.string()),
        "canonical_article_id": pa.array(
            [article.canonical_article_id for article, _, _ in placed], pa.string()
        ),
        "tokens": pa.array([[*f.title_tokens, *f.lead_tokens] for _, f, _ in placed], pa.list_(pa.string())),
        "merged_story_ids": pa.array(
            [list(a.merged_story_ids) or None for a in assignments], pa.list_(pa.string())
        ),
    }
    rows.insert_members(conn, columns, body_chars=BODY_CHARS)
    for assignment in assignments:
        if assignment.score is None and assignment.story_id not in result.changed:
            result.n_created += 1
        if assignment.syndicated_from_article_id:
            result.n_syndicated += 1
        result.changed.add(assignment.story_id)
