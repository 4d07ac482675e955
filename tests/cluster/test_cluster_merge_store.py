"""The merge pass in a real database: members of merged stories move to the surviving story, and a replay from
before a merge (a late article) undoes it and decides again, so incremental runs still equal a rebuild."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import duckdb
import pytest

from cluster.params import DEFAULT_PARAMS
from cluster.store import update_stories
from storage import connection as db
from tests.cluster.test_cluster_store import insert_articles, outage_rows, snapshot

# Articles join only on close wording, so the outage corpus falls into fragments the merge pass joins.
MERGING = replace(DEFAULT_PARAMS, join_threshold=0.7, merge_min_members=1)


@pytest.fixture
def conn(tmp_path: Path) -> Iterable[duckdb.DuckDBPyConnection]:
    with db.writer(tmp_path / "news.duckdb") as w:
        yield w.conn


def merges(conn: duckdb.DuckDBPyConnection) -> int:
    rows = conn.execute("SELECT count(*) FROM cluster_member WHERE len(merged_story_ids) > 0").fetchall()
    return int(rows[0][0])


def test_merged_stories_leave_no_members_behind(conn: duckdb.DuckDBPyConnection) -> None:
    insert_articles(conn, outage_rows())
    update_stories(conn, params=MERGING)
    assert merges(conn) >= 4
    merged_away = conn.execute(
        "SELECT DISTINCT unnest(merged_story_ids) FROM cluster_member WHERE merged_story_ids IS NOT NULL"
    ).fetchall()
    labels = {row[0] for row in conn.execute("SELECT story_id FROM story_member").fetchall()}
    stories = {row[0] for row in conn.execute("SELECT story_id FROM story").fetchall()}
    assert labels == stories
    assert not {row[0] for row in merged_away} & labels


@pytest.mark.parametrize(
    "order",
    [
        [(20, 35), (0, 20), (35, 47)],  # a batch older than the one before: replays across merges
        [(10, 47), (0, 10)],
        [(0, 15), (30, 47), (15, 30)],
    ],
)
def test_incremental_with_merges_and_late_arrivals_equals_rebuild(
    conn: duckdb.DuckDBPyConnection, order: list[tuple[int, int]]
) -> None:
    rows = outage_rows()
    replayed = 0
    for start, end in order:
        insert_articles(conn, rows[start:end])
        replayed += update_stories(conn, params=MERGING).articles_replayed
    assert replayed > 0
    assert merges(conn) >= 4
    incremental = snapshot(conn)
    summary = update_stories(conn, params=MERGING, rebuild=True)
    assert summary.mode == "rebuild"
    assert snapshot(conn) == incremental


def test_a_late_article_undoes_a_merge_of_earlier_members(conn: duckdb.DuckDBPyConnection) -> None:
    """The 7th article (by time) arrives last. Without it, a later article merged a story whose members
    came before it; the replay must move those members back and decide the merge again."""
    rows = sorted(outage_rows(), key=lambda r: r["published_at"])
    late = rows.pop(6)
    insert_articles(conn, rows)
    update_stories(conn, params=MERGING)
    before = dict(conn.execute("SELECT article_id, story_id FROM story_member").fetchall())
    insert_articles(conn, [late])
    summary = update_stories(conn, params=MERGING)
    assert summary.articles_replayed > 0
    after = dict(conn.execute("SELECT article_id, story_id FROM story_member").fetchall())
    fragments = dict(conn.execute("SELECT article_id, fragment_id FROM cluster_member").fetchall())
    # some member placed before the late article's time now sits in its own fragment again
    assert any(before[a] != after[a] and after[a] == fragments[a] for a in before)
    incremental = snapshot(conn)
    update_stories(conn, params=MERGING, rebuild=True)
    assert snapshot(conn) == incremental
