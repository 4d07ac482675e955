"""The pure clustering core: story assembly over a realistic corpus, syndication, determinism, evaluation."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cluster.evaluate import evaluate
from cluster.labelled import ONE_WINDOW, read_labelled_csv
from cluster.model import ArticleIn, Assignment, StoryMembers
from cluster.params import DEFAULT_PARAMS, ClusterParams
from cluster.stories import Clusterer, cluster_articles, resolve_merges, story_id_for
from common.errors import UsageError

DATA = Path(__file__).parent.parent / "data"
OUTAGES = DATA / "cluster_outages.csv"


def gold_groups(gold: dict[str, str], predicted: dict[str, str]) -> dict[str, set[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for article_id, story in gold.items():
        groups[story].add(predicted[article_id])
    return groups


def test_outage_corpus_assembles_into_its_stories() -> None:
    labelled = read_labelled_csv(OUTAGES)
    predicted = {a.article_id: a.story_id for a in cluster_articles(labelled.articles)}
    groups = gold_groups(labelled.gold, predicted)
    outage = groups["amazon-checkout-outage-2025-10-06"]
    assert len(outage) == 1  # every language, wire copies and the next-day follow-ups together
    for neighbour in (
        "amazon-kindle-launch-2025-10-06",
        "aws-outage-2025-09-29",
        "microsoft-teams-outage-2025-10-06",
        "amazon-stock-2025-10-06",
        "amazon-prime-day",
    ):
        assert not groups[neighbour] & outage, neighbour
    result = evaluate(labelled.gold, predicted)
    assert result.bcubed.precision >= 0.95
    assert result.bcubed.f1 >= 0.9


def test_story_ids_come_from_the_founding_article() -> None:
    labelled = read_labelled_csv(OUTAGES)
    assignments = cluster_articles(labelled.articles)
    founders = {story_id_for(a.article_id) for a in assignments if a.score is None}
    final = {a.story_id for a in assignments}
    merged = {story_id for a in assignments for story_id in a.merged_story_ids}
    # Every story is named after the article that founded it; a founder's story that is gone was merged.
    assert final <= founders
    assert founders - final == merged


def at(minutes: float) -> datetime:
    return datetime(2025, 10, 6, 21, tzinfo=UTC) + timedelta(minutes=minutes)


WIRE = (
    "Amazon.com Inc said on Monday it was investigating problems that left thousands of shoppers unable to complete "
    "purchases on its website and app, after outage reports spiked on the tracking site Downdetector from about 4 "
    "p.m. New York time. The company did not say what caused the disruption to its checkout."
)


def wire_articles() -> list[ArticleIn]:
    original = ArticleIn(
        "reuters", "Amazon investigating checkout problems", at(0), "reuters.com", "en", text=WIRE
    )
    edited = WIRE.replace("Amazon.com Inc said on Monday", "Amazon.com Inc. said Monday").replace(
        "p.m.", "pm"
    )
    return [
        original,
        # a partner republishes with a light edit and its own headline
        ArticleIn("usnews", "Amazon Probes Checkout Glitch", at(7), "usnews.com", "en", text=edited),
        # an aggregator's copy whose rel=canonical names the original
        ArticleIn(
            "yahoo", "Amazon checkout problems", at(9), "yahoo.com", "en", canonical_article_id="reuters"
        ),
        # a copy of the copy: credited to the original
        ArticleIn("local", "Amazon shoppers hit by checkout glitch", at(12), "local.com", "en", text=edited),
        # independent reporting on the same event
        ArticleIn(
            "geekwire", "Amazon.com outage: shoppers unable to check out", at(-20), "geekwire.com", "en"
        ),
    ]


def test_syndicated_copies_point_at_the_original_and_stay_in_the_story() -> None:
    by_id = {a.article_id: a for a in cluster_articles(wire_articles())}
    assert by_id["usnews"].syndicated_from_article_id == "reuters"
    assert by_id["usnews"].syndication_evidence and "identical" in by_id["usnews"].syndication_evidence
    assert by_id["yahoo"].syndicated_from_article_id == "reuters"
    assert by_id["yahoo"].syndication_evidence == "canonical link points to article reuters"
    assert by_id["local"].syndicated_from_article_id == "reuters"
    assert by_id["reuters"].syndicated_from_article_id is None
    assert by_id["geekwire"].syndicated_from_article_id is None
    assert len({a.story_id for a in by_id.values()}) == 1


def test_a_different_body_is_not_a_copy() -> None:
    own = (
        "Shoppers in Seattle told us their carts emptied at the payment step for more than an hour, and the "
        "company's status page still showed every service as operating normally. Several sellers said their "
        "sales dropped to zero during the evening rush."
    )
    articles = [
        ArticleIn("a", "Amazon checkout outage", at(0), "a.com", "en", text=WIRE),
        ArticleIn("b", "Amazon checkout outage continues", at(5), "b.com", "en", text=WIRE[:100] + " " + own),
    ]
    assert all(a.syndicated_from_article_id is None for a in cluster_articles(articles))


def test_articles_must_arrive_in_order() -> None:
    clusterer = Clusterer()
    clusterer.add(ArticleIn("b", "Amazon outage", at(10)))
    with pytest.raises(ValueError, match="out of order"):
        clusterer.add(ArticleIn("a", "Amazon outage", at(5)))


def restore_point(
    articles: list[ArticleIn], done: list[Assignment], cutoff: int, params: ClusterParams = DEFAULT_PARAMS
) -> list[StoryMembers]:
    """What the shell hands back: the stories still open at the cutoff, with their members before it (the
    stories merged away before the cutoff are part of the story they were merged into)."""
    ts = articles[cutoff].sort_key[0]
    members: dict[str, list[tuple[ArticleIn, str | None]]] = defaultdict(list)
    for article, assignment in zip(articles[:cutoff], resolve_merges(done), strict=True):
        members[assignment.story_id].append((article, assignment.syndicated_from_article_id))
    open_stories = []
    for story_id, rows in members.items():
        times = [a.sort_key[0] for a, _ in rows]
        deadline = min(max(times) + params.open_gap_hours * 3600, min(times) + params.max_span_hours * 3600)
        if deadline >= ts:
            open_stories.append(StoryMembers(story_id, tuple(a for a, _ in rows), tuple(o for _, o in rows)))
    random.Random(3).shuffle(open_stories)  # the core must not depend on the order stories come back in
    return open_stories


@pytest.mark.parametrize("cutoff", [1, 17, 30, 46])
def test_restoring_open_stories_continues_exactly(cutoff: int) -> None:
    articles = sorted(read_labelled_csv(OUTAGES).articles, key=lambda a: a.sort_key)
    whole = Clusterer()
    expected = whole.add_all(articles)
    first = Clusterer()
    done = first.add_all(articles[:cutoff])
    second = Clusterer(df=first.df, n_docs=first.n_docs)
    second.restore(restore_point(articles, done, cutoff))
    assert done + second.add_all(articles[cutoff:]) == expected
    assert second.df == whole.df


# Articles join only on close wording, so the outage corpus first falls into fragments that the merge pass
# then joins: every restore point below lies before, between or after merges.
MERGING = replace(DEFAULT_PARAMS, join_threshold=0.7, merge_min_members=1)


def test_merge_pass_joins_fragments_into_the_oldest() -> None:
    articles = sorted(read_labelled_csv(OUTAGES).articles, key=lambda a: a.sort_key)
    raw = Clusterer(MERGING).add_all(articles)
    merges = [a for a in raw if a.merged_story_ids]
    assert len(merges) >= 4
    # a story's id comes from its founding article, also when the story is merged away at once
    founded = {story_id_for(a.article_id): i for i, a in enumerate(raw) if a.score is None}
    for assignment in merges:
        for source in assignment.merged_story_ids:
            assert founded[source] > founded[assignment.story_id]  # merged into the older story
    resolved = resolve_merges(raw)
    assert len({a.story_id for a in resolved}) < len(founded)
    assert {a.story_id for a in resolved} <= set(founded) - {s for a in merges for s in a.merged_story_ids}


@pytest.mark.parametrize("cutoff", range(1, 47, 3))
def test_restoring_merged_stories_continues_exactly(cutoff: int) -> None:
    articles = sorted(read_labelled_csv(OUTAGES).articles, key=lambda a: a.sort_key)
    expected = Clusterer(MERGING).add_all(articles)
    first = Clusterer(MERGING)
    done = first.add_all(articles[:cutoff])
    second = Clusterer(MERGING, df=first.df, n_docs=first.n_docs)
    second.restore(restore_point(articles, done, cutoff, MERGING))
    assert done + second.add_all(articles[cutoff:]) == expected


def test_equal_times_are_ordered_by_article_id() -> None:
    articles = [ArticleIn(i, "Amazon checkout outage hits shoppers", at(0), f"{i}.com") for i in "cab"]
    assignments = cluster_articles(articles)
    assert [a.article_id for a in assignments] == ["a", "b", "c"]
    assert assignments[0].score is None and assignments[1].score is not None


def test_evaluate_bcubed_and_pairwise() -> None:
    gold = {"1": "x", "2": "x", "3": "x", "4": "y"}
    perfect = evaluate(gold, {"1": "a", "2": "a", "3": "a", "4": "b"})
    assert perfect.bcubed.f1 == perfect.pairwise.f1 == 1.0
    merged = evaluate(gold, {"1": "a", "2": "a", "3": "a", "4": "a"})
    assert merged.bcubed.recall == 1.0
    assert merged.bcubed.precision == pytest.approx((3 * 3 / 4 + 1 / 4) / 4)
    assert merged.pairwise.precision == pytest.approx(3 / 6)
    split = evaluate(gold, {"1": "a", "2": "b", "3": "c", "4": "d"})
    assert split.bcubed.precision == 1.0
    assert split.bcubed.recall == pytest.approx((3 * (1 / 3) + 1) / 4)
    assert split.pairwise.recall == 0.0
    assert "B-cubed" in split.describe()
    with pytest.raises(ValueError):
        evaluate(gold, {"1": "a"})


def test_labelled_csv_without_times_is_one_window(tmp_path: Path) -> None:
    path = tmp_path / "set.csv"
    path.write_text(
        "story,title,url\ns1,Amazon outage,https://a/1\ns1,Amazon down,https://b/2\n", encoding="utf-8"
    )
    labelled = read_labelled_csv(path)
    assert {a.published_at for a in labelled.articles} == {ONE_WINDOW}
    assert len(set(labelled.gold)) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("title\nAmazon outage\n", encoding="utf-8")
    with pytest.raises(UsageError, match="story"):
        read_labelled_csv(bad)


def test_params_fingerprint_changes_with_any_value() -> None:
    assert DEFAULT_PARAMS.fingerprint() == replace(DEFAULT_PARAMS).fingerprint()
    assert DEFAULT_PARAMS.fingerprint() != replace(DEFAULT_PARAMS, join_threshold=0.41).fingerprint()


def test_featurising_on_a_worker_process_changes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import cluster.parallel

    monkeypatch.setattr(cluster.parallel, "CHUNK", 10)  # several chunks in flight
    articles = sorted(read_labelled_csv(OUTAGES).articles, key=lambda a: a.sort_key)
    serial = list(cluster.parallel.featurize_stream(articles, DEFAULT_PARAMS, workers=0))
    parallel = list(cluster.parallel.featurize_stream(iter(articles), DEFAULT_PARAMS, workers=1))
    assert parallel == serial
    assert resolve_merges(list(Clusterer().add_stream(iter(articles), workers=1))) == cluster_articles(
        articles
    )
