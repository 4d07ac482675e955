"""Every SQL statement of story clustering: articles read in processing order, memberships, merges, token
counts and the story rows. Plain values in and out (ids, epoch microseconds, tuples); the clustering shell
(cluster/store.py) turns them into the core's dataclasses.

A position in the processing order is a key ``(published_at in epoch microseconds, article_id)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from storage.helpers import Conn, registered

# What clustering reads of an article; the body is cut to ``body_chars`` characters.
_ARTICLE_COLUMNS = """
    a.article_id, a.title, epoch_us(a.published_at) AS published_us, coalesce(a.outlet, '') AS outlet,
    a.language, coalesce(a.summary, '') AS summary, coalesce(left(a.text, {body_chars}), '') AS text,
    a.canonical_url, a.url, a.published_at_precision
"""
_UNASSIGNED = "NOT EXISTS (SELECT 1 FROM story_member m WHERE m.article_id = a.article_id)"
_FROM_KEY = "(epoch_us(a.published_at) > ? OR (epoch_us(a.published_at) = ? AND a.article_id {op} ?))"
# What clustering reads of an article, digested: a member whose article no longer matches is re-decided.
_DIGEST = """md5(concat_ws(chr(31), coalesce(a.title, ''), coalesce(a.outlet, ''), coalesce(a.language, ''),
    coalesce(a.summary, ''), coalesce(left(a.text, {body_chars}), ''), coalesce(a.canonical_url, '')))"""
_STORY_TABLES = ("story", "story_member", "cluster_member", "cluster_token_df")

ArticleRow = tuple[Any, ...]  # the columns of _ARTICLE_COLUMNS, in that order


def _scalar(conn: Conn, sql: str, params: Sequence[Any] = ()) -> int:
    rows = conn.execute(sql, list(params)).fetchall()  # fetch fully: an unfinished result blocks register()
    return int(rows[0][0]) if rows else 0


# --- state ----------------------------------------------------------------------------------------------------


def stored_fingerprint(conn: Conn) -> str | None:
    """The fingerprint of the parameters the stored stories were made with (None: never clustered)."""
    rows = conn.execute("SELECT value FROM cluster_state WHERE key = 'fingerprint'").fetchall()
    return str(rows[0][0]) if rows else None


def set_state(conn: Conn, key: str, value: str) -> None:
    conn.execute("DELETE FROM cluster_state WHERE key = ?", [key])
    conn.execute("INSERT INTO cluster_state VALUES (?, ?)", [key, value])


def has_members(conn: Conn) -> bool:
    return bool(_scalar(conn, "SELECT count(*) FROM (SELECT 1 FROM story_member LIMIT 1)"))


def clear(conn: Conn) -> None:
    """Forget every story, membership and token count (a rebuild starts from here)."""
    for table in _STORY_TABLES:
        conn.execute(f"DELETE FROM {table}")


def count_stories(conn: Conn) -> int:
    return _scalar(conn, "SELECT count(*) FROM story")


# --- articles ---------------------------------------------------------------------------------------------------


def first_unassigned_key(conn: Conn) -> tuple[int, str] | None:
    """The earliest article without a story, in processing order."""
    rows = conn.execute(
        f"SELECT epoch_us(a.published_at) AS us, a.article_id FROM article a WHERE {_UNASSIGNED} "
        "ORDER BY us, a.article_id LIMIT 1"
    ).fetchall()
    return (int(rows[0][0]), str(rows[0][1])) if rows else None


def count_unassigned(conn: Conn) -> int:
    return _scalar(conn, f"SELECT count(*) FROM article a WHERE {_UNASSIGNED}")


def unassigned_articles(
    conn: Conn, key: tuple[int, str], *, after: bool, limit: int, body_chars: int
) -> list[ArticleRow]:
    """Up to ``limit`` articles without a story from ``key`` on (``after``: strictly after it), in processing
    order (keyset pagination: each page is fetched whole, so writes can go between pages)."""
    condition = _FROM_KEY.format(op=">" if after else ">=")
    return _articles(conn, f"{_UNASSIGNED} AND {condition}", [key[0], key[0], key[1]], limit, body_chars)


def articles_by_id(conn: Conn, article_ids: Sequence[str], *, body_chars: int) -> list[ArticleRow]:
    """The given articles, in processing order."""
    with registered(conn, "wanted_ids", {"article_id": list(article_ids)}):
        where = "a.article_id IN (SELECT article_id FROM wanted_ids)"
        return _articles(conn, where, [], None, body_chars)


def _articles(
    conn: Conn, where: str, params: list[Any], limit: int | None, body_chars: int
) -> list[ArticleRow]:
    columns = _ARTICLE_COLUMNS.format(body_chars=int(body_chars))
    sql = f"SELECT {columns} FROM article a WHERE {where} ORDER BY published_us, a.article_id"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return [tuple(row) for row in conn.execute(sql, params).fetchall()]


def articles_at_urls(conn: Conn, targets: Mapping[str, str]) -> dict[str, str]:
    """{article_id: normalised URL its canonical link points to} -> {article_id: another outlet's article
    stored at that URL (first by id)}: a canonical link to another outlet makes a syndicated copy."""
    if not targets:
        return {}
    with registered(
        conn, "canonical_links", {"article_id": list(targets), "target_url": list(targets.values())}
    ):
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
    return {str(source): str(target) for source, target in found}


# --- what changed since the last run ------------------------------------------------------------------------


def changed_members(conn: Conn, *, body_chars: int) -> list[tuple[str, int, int]]:
    """Assigned articles with another publication time or new content (a page extracted since):
    (article_id, epoch us as clustered, epoch us now)."""
    digest = _DIGEST.format(body_chars=int(body_chars))
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
        WHERE a.updated_at > m.assigned_at AND c.content_md5 <> {digest}
        """
    ).fetchall()
    return [(str(aid), int(old), int(now)) for aid, old, now in rows]


def members_with_canonical_links(conn: Conn) -> list[tuple[str, int, str | None, str, str, str]]:
    """Members whose page links rel=canonical elsewhere: (article_id, epoch us, canonical target stored at
    clustering, outlet, canonical_url, url)."""
    rows = conn.execute(
        "SELECT c.article_id, epoch_us(a.published_at), c.canonical_article_id, a.outlet, a.canonical_url, "
        "a.url FROM cluster_member c JOIN article a ON a.article_id = c.article_id "
        "WHERE a.canonical_url IS NOT NULL AND a.canonical_url <> a.url"
    ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def members_from(conn: Conn, key: tuple[int, str]) -> set[str]:
    """Members clustered at or after ``key`` (by the time they were clustered with)."""
    rows = conn.execute(
        "SELECT article_id FROM cluster_member WHERE epoch_us(published_at) > ? "
        "OR (epoch_us(published_at) = ? AND article_id >= ?)",
        [key[0], key[0], key[1]],
    ).fetchall()
    return {str(row[0]) for row in rows}


# --- undoing and redoing --------------------------------------------------------------------------------------


def forget_members(
    conn: Conn, article_ids: Sequence[str]
) -> list[tuple[str, list[str] | None, str | None, list[str] | None]]:
    """Delete the memberships of these articles; returns what each was: (story_id, tokens counted,
    fragment_id, stories its placement merged)."""
    with registered(conn, "replayed_ids", {"article_id": sorted(article_ids)}):
        rows = conn.execute(
            "SELECT m.story_id, c.tokens, c.fragment_id, c.merged_story_ids FROM story_member m "
            "LEFT JOIN cluster_member c USING (article_id) "
            "WHERE m.article_id IN (SELECT article_id FROM replayed_ids)"
        ).fetchall()
        for table in ("story_member", "cluster_member"):
            conn.execute(f"DELETE FROM {table} WHERE article_id IN (SELECT article_id FROM replayed_ids)")
    return [tuple(row) for row in rows]  # type: ignore[misc]


def merges_made(conn: Conn) -> list[tuple[str, list[str]]]:
    """Every recorded merge: (the fragment that absorbed, the stories it absorbed)."""
    rows = conn.execute(
        "SELECT fragment_id, merged_story_ids FROM cluster_member WHERE len(merged_story_ids) > 0"
    ).fetchall()
    return [(str(fragment), list(merged)) for fragment, merged in rows]


def members_labelled(conn: Conn, story_ids: Sequence[str]) -> list[tuple[str, str, str | None]]:
    """Members now labelled with one of these stories: (article_id, story_id, fragment_id)."""
    with registered(conn, "undone_targets", {"story_id": sorted(story_ids)}):
        rows = conn.execute(
            "SELECT m.article_id, m.story_id, c.fragment_id FROM story_member m JOIN cluster_member c "
            "USING (article_id) WHERE m.story_id IN (SELECT story_id FROM undone_targets)"
        ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def relabel_members(conn: Conn, relabel: Mapping[str, str]) -> None:
    """Set story_member.story_id of the given articles (article_id -> story_id)."""
    if not relabel:
        return
    with registered(conn, "relabel", {"article_id": list(relabel), "story_id": list(relabel.values())}):
        conn.execute(
            "UPDATE story_member m SET story_id = r.story_id FROM relabel r WHERE m.article_id = r.article_id"
        )


def move_members(conn: Conn, merged_into: Mapping[str, str]) -> None:
    """Every member of a story merged away moves to the story it ended in (source -> target)."""
    if not merged_into:
        return
    with registered(
        conn, "story_merges", {"source": list(merged_into), "target": list(merged_into.values())}
    ):
        conn.execute(
            "UPDATE story_member m SET story_id = g.target FROM story_merges g WHERE m.story_id = g.source"
        )


def open_story_members(
    conn: Conn, key: tuple[int, str], *, gap_us: int, span_us: int
) -> list[tuple[str, str, str | None]]:
    """Members before ``key`` of the stories still open at it (latest member within ``gap_us``, first
    within ``span_us``): (story_id, article_id, syndicated_from_article_id), by story, in processing order."""
    cutoff_us, cutoff_id = int(key[0]), key[1]
    rows = conn.execute(
        f"""
        WITH recent AS (
            -- an open story has its first article within the span: stories without a member there are closed
            SELECT DISTINCT m.story_id FROM cluster_member c JOIN story_member m USING (article_id)
            WHERE epoch_us(c.published_at) >= {cutoff_us - int(span_us)}
        ), before AS (
            SELECT m.story_id, m.article_id, m.syndicated_from_article_id, epoch_us(c.published_at) AS us
            FROM story_member m JOIN recent USING (story_id) JOIN cluster_member c USING (article_id)
            WHERE epoch_us(c.published_at) < {cutoff_us}
               OR (epoch_us(c.published_at) = {cutoff_us} AND m.article_id < ?)
        ), open AS (
            SELECT story_id FROM before GROUP BY story_id
            HAVING least(max(us) + {int(gap_us)}, min(us) + {int(span_us)}) >= {cutoff_us}
        )
        SELECT b.story_id, b.article_id, b.syndicated_from_article_id
        FROM before b JOIN open USING (story_id) ORDER BY b.story_id, b.us, b.article_id
        """,
        [cutoff_id],
    ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]


# --- token counts ---------------------------------------------------------------------------------------------


def token_counts(conn: Conn) -> tuple[dict[str, int], int]:
    """Document frequency of every token, and the number of articles counted."""
    # VARCHAR and INTEGER come back as str and int: the pairs make the dictionary as they are.
    df: dict[str, int] = dict(conn.execute("SELECT token, df FROM cluster_token_df").fetchall())
    return df, _scalar(conn, "SELECT count(*) FROM story_member")


def write_token_counts(conn: Conn, changed: Mapping[str, int], removed: Sequence[str]) -> None:
    """Store the counts that changed and drop the tokens no article carries any more."""
    if removed:
        with registered(conn, "removed_tokens", {"token": list(removed)}):
            conn.execute("DELETE FROM cluster_token_df WHERE token IN (SELECT token FROM removed_tokens)")
    if not changed:
        return
    columns = {"token": list(changed), "df": pa.array(list(changed.values()), pa.int32())}
    with registered(conn, "token_stats", columns):
        conn.execute("DELETE FROM cluster_token_df WHERE token IN (SELECT token FROM token_stats)")
        conn.execute("INSERT INTO cluster_token_df SELECT token, df FROM token_stats")


# --- members and stories ---------------------------------------------------------------------------------------


def insert_members(conn: Conn, members: Mapping[str, pa.Array], *, body_chars: int) -> None:
    """Insert memberships and what was clustered of each article. ``members`` columns: article_id,
    story_id, score, syndicated_from_article_id, syndication_evidence, canonical_article_id, tokens,
    merged_story_ids."""
    digest = _DIGEST.format(body_chars=int(body_chars))
    with registered(conn, "new_members", members):
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
            SELECT n.article_id, a.published_at, {digest}, n.canonical_article_id, n.tokens, n.story_id,
                n.merged_story_ids
            FROM new_members n JOIN article a ON a.article_id = n.article_id
            """
        )


def refresh_stories(conn: Conn, story_ids: Sequence[str]) -> None:
    """Recompute the story rows of these stories from their members; drop stories left empty."""
    if not story_ids:
        return
    with registered(conn, "changed_stories", {"story_id": sorted(story_ids)}):
        conn.execute("DELETE FROM story WHERE story_id IN (SELECT story_id FROM changed_stories)")
        conn.execute(_REFRESH_SQL, [datetime.now(UTC)])
        conn.execute(
            """
            UPDATE story_member m SET is_first_report = (m.article_id = s.first_article_id)
            FROM story s WHERE s.story_id = m.story_id
              AND s.story_id IN (SELECT story_id FROM changed_stories)
            """
        )


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
