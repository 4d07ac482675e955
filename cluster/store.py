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
from common.timeclaims import MINUTE, SECOND

# Characters of the body read from the database: enough for the lead (40 words) and the syndication
# comparison (ClusterParams.syndication_chars after whitespace is collapsed).
BODY_CHARS = DEFAULT_PARAMS.syndication_chars
# Articles read (and members written) per page: memory stays bounded whatever the size of the database.
PAGE_ROWS = 50_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Publication times known to the minute or better: only they say which articles came out together (the burst
# prior of the clustering). A day-only date or an interval (precision "day", "bound") does not.
PRECISE = (SECOND, MINUTE)
_ARTICLE_COLUMNS = f"""
    a.article_id, a.title, epoch_us(a.published_at) AS published_us, coalesce(a.outlet, '') AS outlet,
    a.language, coalesce(a.summary, '') AS summary, coalesce(left(a.text, {BODY_CHARS}), '') AS text,
    a.canonical_url, a.url, a.published_at_precision
"""


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
    conn.execute("BEGIN")
    try:
        reason = _rebuild_reason(conn, fingerprint, rebuild)
        if reason:
            _clear(conn)
        result = _run(conn, params, workers)
        _set_state(conn, "fingerprint", fingerprint)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    total = _scalar(conn, "SELECT count(*) FROM story")
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
    rows = conn.execute("SELECT value FROM cluster_state WHERE key = 'fingerprint'").fetchall()
    stored = rows[0] if rows else None
    if stored is None:
        has_members = _scalar(conn, "SELECT count(*) FROM (SELECT 1 FROM story_member LIMIT 1)")
        return "no clustering state" if has_members else ""
    return "" if stored[0] == fingerprint else "parameters or word lists changed"


def _clear(conn: duckdb.DuckDBPyConnection) -> None:
    for table in ("story", "story_member", "cluster_member", "cluster_token_df"):
        conn.execute(f"DELETE FROM {table}")


@dataclass
class _RunResult:
    n_new: int = 0
    n_replayed: int = 0
    n_created: int = 0
    n_syndicated: int = 0
    changed: set[str] = field(default_factory=set)


_UNASSIGNED = "NOT EXISTS (SELECT 1 FROM story_member m WHERE m.article_id = a.article_id)"
_FROM_KEY = "(epoch_us(a.published_at) > ? OR (epoch_us(a.published_at) = ? AND a.article_id >= ?))"
# What clustering reads of an article, digested: a member whose article no longer matches is re-decided.
_DIGEST = f"""md5(concat_ws(chr(31), coalesce(a.title, ''), coalesce(a.outlet, ''), coalesce(a.language, ''),
    coalesce(a.summary, ''), coalesce(left(a.text, {BODY_CHARS}), ''), coalesce(a.canonical_url, '')))"""

Key = tuple[int, str]  # (published_at in epoch microseconds, article_id): the processing order


def _run(conn: duckdb.DuckDBPyConnection, params: ClusterParams, workers: int | None) -> _RunResult:
    """Undo assignments from the earliest new or changed article on, restore the stories open there, then
    stream every unassigned article through the core in order, a page at a time, writing members as it goes."""
    changed = _changed_members(conn)
    first = conn.execute(
        f"SELECT epoch_us(a.published_at) AS us, a.article_id FROM article a WHERE {_UNASSIGNED} "
        "ORDER BY us, a.article_id LIMIT 1"
    ).fetchall()
    keys = [tuple(row) for row in first] + [key for pair in changed.values() for key in pair]
    if not keys:
        return _RunResult()
    cutoff_us, cutoff_id = min(keys)
    result = _RunResult(n_new=_scalar(conn, f"SELECT count(*) FROM article a WHERE {_UNASSIGNED}"))
    clusterer = Clusterer(params, *_token_stats(conn))
    df_before = dict(clusterer.df)
    replayed = _members_from(conn, cutoff_us, cutoff_id) | changed.keys()
    result.n_replayed = len(replayed)
    result.changed = _forget(conn, clusterer, replayed)
    merged_into: dict[str, str] = {}  # merges of this run: source story -> story it was merged into
    clusterer.restore(_open_stories(conn, params, cutoff_us, cutoff_id))
    if result.n_new + result.n_replayed < PARALLEL_MIN:
        workers = 0
    pending: list[tuple[ArticleIn, Features, Assignment]] = []
    for placed in clusterer.place_stream(_unassigned_pages(conn, cutoff_us, cutoff_id), workers):
        pending.append(placed)
        for source in placed[2].merged_story_ids:
            merged_into[source] = placed[2].story_id
        if len(pending) >= PAGE_ROWS:
            _write_members(conn, pending, result)
            pending = []
    _write_members(conn, pending, result)
    _apply_merges(conn, merged_into, result)
    _refresh_stories(conn, result.changed)
    _write_token_stats(conn, df_before, clusterer.df)
    return result


def _changed_members(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[Key, Key]]:
    """Assigned articles that changed since: another publication time, new content (a page extracted), or a
    canonical link that now resolves differently. article_id -> (key as clustered, key now)."""
    rows = conn.execute(
        f"""
        SELECT c.article_id, epoch_us(c.published_at), epoch_us(a.published_at)
        FROM cluster_member c JOIN article a ON a.article_id = c.article_id
        WHERE c.published_at <> a.published_at
        UNION
        -- two queries, not one OR: the digest is computed only for articles updated since they were clustered
        SELECT c.article_id, epoch_us(c.published_at), epoch_us(a.published_at)
        FROM cluster_member c JOIN story_member m ON m.article_id = c.article_id
        JOIN article a ON a.article_id = c.article_id
        WHERE a.updated_at > m.assigned_at AND c.content_md5 <> {_DIGEST}
        """
    ).fetchall()
    changed = {aid: ((old, aid), (now, aid)) for aid, old, now in rows}
    linked = conn.execute(
        "SELECT c.article_id, epoch_us(a.published_at), c.canonical_article_id, a.outlet, a.canonical_url, "
        "a.url FROM cluster_member c JOIN article a ON a.article_id = c.article_id "
        "WHERE a.canonical_url IS NOT NULL AND a.canonical_url <> a.url"
    ).fetchall()
    resolved = _resolve_canonical(conn, [(row[0], row[3], row[4], row[5]) for row in linked])
    for aid, us, stored, *_ in linked:
        if resolved.get(aid) != stored:
            changed.setdefault(aid, ((us, aid), (us, aid)))
    return changed


def _members_from(conn: duckdb.DuckDBPyConnection, cutoff_us: int, cutoff_id: str) -> set[str]:
    """Members clustered at or after the cutoff (by the time they were clustered with)."""
    rows = conn.execute(
        "SELECT article_id FROM cluster_member WHERE epoch_us(published_at) > ? "
        "OR (epoch_us(published_at) = ? AND article_id >= ?)",
        [cutoff_us, cutoff_us, cutoff_id],
    ).fetchall()
    return {row[0] for row in rows}


def _unassigned_pages(conn: duckdb.DuckDBPyConnection, from_us: int, from_id: str) -> Iterator[ArticleIn]:
    """Every unassigned article from the cutoff on, in processing order, read a page at a time (keyset
    pagination: each page is fetched whole, so writes can go between pages on the same connection)."""
    key: list[Any] = [from_us, from_us, from_id]
    condition = _FROM_KEY
    while True:
        page = _load_articles(conn, f"{_UNASSIGNED} AND {condition}", key, limit=PAGE_ROWS)
        yield from page
        if len(page) < PAGE_ROWS:
            return
        last = page[-1]
        last_us = round(last.sort_key[0] * 1_000_000)
        key = [last_us, last_us, last.article_id]
        condition = _FROM_KEY.replace("a.article_id >= ?", "a.article_id > ?")


def _forget(conn: duckdb.DuckDBPyConnection, clusterer: Clusterer, article_ids: set[str]) -> set[str]:
    """Undo the assignments of articles to be replayed: their memberships, the token counts they added
    (the tokens stored with them: the article may have changed since) and the story merges their placement
    made. Returns the stories they were in (and the stories an undone merge touched)."""
    if not article_ids:
        return set()
    conn.register("replayed_ids", pa.table({"article_id": sorted(article_ids)}))
    try:
        rows = conn.execute(
            "SELECT m.story_id, c.tokens, c.fragment_id, c.merged_story_ids FROM story_member m "
            "LEFT JOIN cluster_member c USING (article_id) "
            "WHERE m.article_id IN (SELECT article_id FROM replayed_ids)"
        ).fetchall()
        for table in ("story_member", "cluster_member"):
            conn.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM replayed_ids)")
    finally:
        conn.unregister("replayed_ids")
    df = clusterer.df
    for _, tokens, _, _ in rows:
        for token in tokens or ():
            df[token] -= 1
            if not df[token]:
                del df[token]
    clusterer.n_docs -= len(rows)
    changed = {row[0] for row in rows}
    undone_targets = {fragment for _, _, fragment, merged in rows if merged and fragment}
    if undone_targets:
        changed |= _undo_merges(conn, undone_targets)
    return changed


def _undo_merges(conn: duckdb.DuckDBPyConnection, undone_targets: set[str]) -> set[str]:
    """Merges made by replayed articles are gone: members still labelled with the stories those merges went
    into get back the story their fragment resolves to under the merges that remain. Returns the labels
    touched (old and new)."""
    parent = {}
    for fragment, merged in conn.execute(
        "SELECT fragment_id, merged_story_ids FROM cluster_member WHERE len(merged_story_ids) > 0"
    ).fetchall():
        for source in merged:
            parent[source] = fragment
    conn.register("undone_targets", pa.table({"story_id": sorted(undone_targets)}))
    try:
        members = conn.execute(
            "SELECT m.article_id, m.story_id, c.fragment_id FROM story_member m JOIN cluster_member c "
            "USING (article_id) WHERE m.story_id IN (SELECT story_id FROM undone_targets)"
        ).fetchall()
    finally:
        conn.unregister("undone_targets")
    relabel: dict[str, str] = {}
    for article_id, label, fragment in members:
        story = fragment or label
        while story in parent:
            story = parent[story]
        if story != label:
            relabel[article_id] = story
    _relabel_members(conn, relabel)
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
    conn.register("story_merges", pa.table({"source": list(final), "target": list(final.values())}))
    try:
        conn.execute(
            "UPDATE story_member m SET story_id = g.target FROM story_merges g WHERE m.story_id = g.source"
        )
    finally:
        conn.unregister("story_merges")
    result.changed |= set(final) | set(final.values())


def _relabel_members(conn: duckdb.DuckDBPyConnection, relabel: dict[str, str]) -> None:
    """Set story_member.story_id of the given articles."""
    if not relabel:
        return
    conn.register("relabel", pa.table({"article_id": list(relabel), "story_id": list(relabel.values())}))
    try:
        conn.execute(
            "UPDATE story_member m SET story_id = r.story_id FROM relabel r WHERE m.article_id = r.article_id"
        )
    finally:
        conn.unregister("relabel")


def _open_stories(
    conn: duckdb.DuckDBPyConnection, params: ClusterParams, cutoff_us: int, cutoff_id: str
) -> list[StoryMembers]:
    """Stories still open at the cutoff, with their members before it, in processing order."""
    gap_us = int(params.open_gap_hours * 3600 * 1_000_000)
    span_us = int(params.max_span_hours * 3600 * 1_000_000)
    rows = conn.execute(
        f"""
        WITH recent AS (
            -- an open story has its first article within the span: stories without a member there are closed
            SELECT DISTINCT m.story_id FROM cluster_member c JOIN story_member m USING (article_id)
            WHERE epoch_us(c.published_at) >= {cutoff_us - span_us}
        ), before AS (
            SELECT m.story_id, m.article_id, m.syndicated_from_article_id, epoch_us(c.published_at) AS us
            FROM story_member m JOIN recent USING (story_id) JOIN cluster_member c USING (article_id)
            WHERE epoch_us(c.published_at) < {cutoff_us}
               OR (epoch_us(c.published_at) = {cutoff_us} AND m.article_id < ?)
        ), open AS (
            SELECT story_id FROM before GROUP BY story_id
            HAVING least(max(us) + {gap_us}, min(us) + {span_us}) >= {cutoff_us}
        )
        SELECT b.story_id, b.article_id, b.syndicated_from_article_id
        FROM before b JOIN open USING (story_id) ORDER BY b.story_id, b.us, b.article_id
        """,
        [cutoff_id],
    ).fetchall()
    if not rows:
        return []
    articles = {a.article_id: a for a in _load_by_ids(conn, [row[1] for row in rows])}
    grouped: dict[str, list[tuple[ArticleIn, str | None]]] = {}
    for story_id, article_id, origin in rows:
        grouped.setdefault(story_id, []).append((articles[article_id], origin))
    return [
        StoryMembers(story_id, tuple(a for a, _ in members), tuple(o for _, o in members))
        for story_id, members in grouped.items()
    ]


def _load_by_ids(conn: duckdb.DuckDBPyConnection, article_ids: list[str]) -> list[ArticleIn]:
    conn.register("wanted_ids", pa.table({"article_id": article_ids}))
    try:
        return _load_articles(conn, "a.article_id IN (SELECT article_id FROM wanted_ids)")
    finally:
        conn.unregister("wanted_ids")


def _load_articles(
    conn: duckdb.DuckDBPyConnection, where: str, params: list[Any] | None = None, limit: int | None = None
) -> list[ArticleIn]:
    """Articles matching ``where`` (alias ``a``) in processing order, with canonical links resolved to other
    outlets' articles."""
    rows = conn.execute(
        f"SELECT {_ARTICLE_COLUMNS} FROM article a WHERE {where} ORDER BY published_us, a.article_id"
        + (f" LIMIT {int(limit)}" if limit else ""),
        params or [],
    ).fetchall()
    canonical = _resolve_canonical(conn, [(r[0], r[3], r[7], r[8]) for r in rows if r[7] and r[7] != r[8]])
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
            precise_time=row[9] in PRECISE,
        )
        for row in rows
    ]


def _resolve_canonical(
    conn: duckdb.DuckDBPyConnection, links: list[tuple[str, str, str, str]]
) -> dict[str, str]:
    """(article_id, outlet, canonical_url, url) -> {article_id: the other outlet's article the canonical link
    points to}, matching the stored URLs of articles after the ingest URL normalisation."""
    from common.urls import normalize_url

    targets: dict[str, str] = {}
    for article_id, _, canonical_url, _ in links:
        try:
            targets[article_id] = normalize_url(canonical_url)
        except ValueError:
            continue
    if not targets:
        return {}
    conn.register(
        "canonical_links", pa.table({"article_id": list(targets), "target_url": list(targets.values())})
    )
    try:
        found = conn.execute(
            """
            SELECT l.article_id, min(t.article_id)
            FROM canonical_links l
            JOIN article src ON src.article_id = l.article_id
            JOIN (SELECT url, article_id FROM article UNION SELECT url, article_id FROM article_url) u
              ON u.url = l.target_url
            JOIN article t ON t.article_id = u.article_id
            WHERE t.article_id <> l.article_id AND t.outlet IS DISTINCT FROM src.outlet
            GROUP BY l.article_id
            """
        ).fetchall()
    finally:
        conn.unregister("canonical_links")
    return dict(found)


def _token_stats(conn: duckdb.DuckDBPyConnection) -> tuple[dict[str, int], int]:
    df = dict(conn.execute("SELECT token, df FROM cluster_token_df").fetchall())
    return df, _scalar(conn, "SELECT count(*) FROM story_member")


def _write_token_stats(
    conn: duckdb.DuckDBPyConnection, before: dict[str, int], after: dict[str, int]
) -> None:
    """Write only the token counts that changed (the table holds the whole vocabulary)."""
    changed = {token: df for token, df in after.items() if before.get(token) != df}
    removed = [token for token in before if token not in after]
    if removed:
        conn.register("removed_tokens", pa.table({"token": removed}))
        try:
            conn.execute("DELETE FROM cluster_token_df WHERE token IN (SELECT token FROM removed_tokens)")
        finally:
            conn.unregister("removed_tokens")
    if not changed:
        return
    table = pa.table({"token": list(changed), "df": pa.array(list(changed.values()), pa.int32())})
    conn.register("token_stats", table)
    try:
        conn.execute("DELETE FROM cluster_token_df WHERE token IN (SELECT token FROM token_stats)")
        conn.execute("INSERT INTO cluster_token_df SELECT token, df FROM token_stats")
    finally:
        conn.unregister("token_stats")


def _write_members(
    conn: duckdb.DuckDBPyConnection, placed: list[tuple[ArticleIn, Features, Assignment]], result: _RunResult
) -> None:
    """Insert the memberships with what was clustered (time, content digest, canonical target, tokens)."""
    if not placed:
        return
    assignments = [assignment for _, _, assignment in placed]
    table = pa.table(
        {
            "article_id": [a.article_id for a in assignments],
            "story_id": [a.story_id for a in assignments],
            "score": pa.array([a.score for a in assignments], pa.float64()),
            "syndicated_from_article_id": pa.array(
                [a.syndicated_from_article_id for a in assignments], pa.string()
            ),
            "syndication_evidence": pa.array([a.syndication_evidence for a in assignments], pa.string()),
            "canonical_article_id": pa.array(
                [article.canonical_article_id for article, _, _ in placed], pa.string()
            ),
            "tokens": pa.array(
                [[*f.title_tokens, *f.lead_tokens] for _, f, _ in placed], pa.list_(pa.string())
            ),
            "merged_story_ids": pa.array(
                [list(a.merged_story_ids) or None for a in assignments], pa.list_(pa.string())
            ),
        }
    )
    conn.register("new_members", table)
    try:
        conn.execute(
            """
            INSERT INTO story_member (article_id, story_id, score, syndicated_from_article_id,
                syndication_evidence, is_first_report, assigned_at)
            SELECT article_id, story_id, score, syndicated_from_article_id, syndication_evidence, FALSE, ?
            FROM new_members
            """,
            [datetime.now(UTC)],
        )
        conn.execute(
            f"""
            INSERT INTO cluster_member (article_id, published_at, content_md5, canonical_article_id, tokens,
                fragment_id, merged_story_ids)
            SELECT n.article_id, a.published_at, {_DIGEST}, n.canonical_article_id, n.tokens, n.story_id,
                n.merged_story_ids
            FROM new_members n JOIN article a ON a.article_id = n.article_id
            """
        )
    finally:
        conn.unregister("new_members")
    for assignment in assignments:
        if assignment.score is None and assignment.story_id not in result.changed:
            result.n_created += 1
        if assignment.syndicated_from_article_id:
            result.n_syndicated += 1
        result.changed.add(assignment.story_id)


def _refresh_stories(conn: duckdb.DuckDBPyConnection, story_ids: set[str]) -> None:
    """Recompute the story rows of changed stories from their members; drop stories left empty."""
    if not story_ids:
        return
    conn.register("changed_stories", pa.table({"story_id": sorted(story_ids)}))
    try:
        conn.execute("DELETE FROM story WHERE story_id IN (SELECT story_id FROM changed_stories)")
        conn.execute(_REFRESH_SQL, [datetime.now(UTC)])
        conn.execute(
            """
            UPDATE story_member m SET is_first_report = (m.article_id = s.first_article_id)
            FROM story s WHERE s.story_id = m.story_id
              AND s.story_id IN (SELECT story_id FROM changed_stories)
            """
        )
    finally:
        conn.unregister("changed_stories")


# First report until the first-report stage refines it: the earliest member that is not a copy (ties by
# article_id), or the earliest member when every member is a copy of an article outside the story.
_REFRESH_SQL = """
INSERT INTO story
WITH members AS (
    SELECT m.story_id, a.article_id, a.title, a.outlet, a.language, a.published_at,
           m.syndicated_from_article_id IS NOT NULL AS is_copy
    FROM story_member m JOIN article a USING (article_id)
    WHERE m.story_id IN (SELECT story_id FROM changed_stories)
), ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY story_id ORDER BY published_at, article_id) AS by_time,
           row_number() OVER (PARTITION BY story_id ORDER BY is_copy, published_at, article_id) AS by_report
    FROM members
)
SELECT story_id,
       arg_min(article_id, by_time) AS founding_article_id,
       arg_min(title, by_report) AS headline,
       arg_min(article_id, by_report) AS first_article_id,
       'Earliest article in the story that is not a copy of another: ' || arg_min(outlet, by_report)
           || ' at ' || strftime(arg_min(published_at, by_report), '%Y-%m-%d %H:%M UTC')
           || CASE WHEN count(DISTINCT outlet) > 1
                   THEN '; ' || (count(DISTINCT outlet) - 1) || ' other outlet(s) followed.' ELSE '.' END
           AS first_report_evidence,
       'earliest' AS first_report_method,
       min(published_at) AS first_published_at,
       max(published_at) AS last_published_at,
       count(*) AS n_articles,
       count(DISTINCT outlet) AS n_outlets,
       list_sort(list_distinct(list(language) FILTER (WHERE language IS NOT NULL))) AS languages,
       ? AS updated_at
FROM ranked GROUP BY story_id
"""


def _set_state(conn: duckdb.DuckDBPyConnection, key: str, value: str) -> None:
    conn.execute("DELETE FROM cluster_state WHERE key = ?", [key])
    conn.execute("INSERT INTO cluster_state VALUES (?, ?)", [key, value])


def _scalar(conn: duckdb.DuckDBPyConnection, sql: str) -> int:
    rows = conn.execute(sql).fetchall()  # fetch fully: an unfinished result blocks register()
    return int(rows[0][0]) if rows else 0


def _micros(timestamp: float) -> int:
    return round(timestamp * 1_000_000)
