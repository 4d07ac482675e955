"""The burst prior and the second look: a story taking many articles right now pulls harder on an article that
names what it is about, and fragments founded early in a burst are looked at again once the story has grown."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from cluster.model import ArticleIn
from cluster.params import DEFAULT_PARAMS
from cluster.stories import cluster_articles

START = datetime(2014, 3, 10, 20, 0, tzinfo=UTC)
BURST = [
    "Sbarro files for bankruptcy",
    "Pizza chain Sbarro files for bankruptcy again",
    "Sbarro files Chapter 11 bankruptcy for second time",
    "Sbarro pizza chain files for bankruptcy protection",
    "Sbarro bankruptcy filing is its second in three years",
    "Sbarro files for Chapter 11 as mall traffic falls",
    "Pizza chain Sbarro seeks bankruptcy protection",
    "Sbarro to file for bankruptcy, closing stores",
    "Sbarro bankruptcy: pizza chain files again",
    "Sbarro files bankruptcy for the second time",
]
# Shares only the name with the burst: on its words alone it founds a story of its own.
PROBE = "13 things we will miss most about Sbarro"


def article(n: int, title: str, minutes: float, *, precise: bool = True, outlet: str = "") -> ArticleIn:
    return ArticleIn(
        article_id=f"a{n:03d}",
        title=title,
        published_at=START + timedelta(minutes=minutes),
        outlet=outlet or f"outlet{n}.example",
        language="en",
        precise_time=precise,
    )


def burst(precise: bool = True) -> list[ArticleIn]:
    return [article(i, title, i, precise=precise) for i, title in enumerate(BURST)]


def story_of(articles: list[ArticleIn], article_id: str, **params: float) -> tuple[str, set[str]]:
    """The story of ``article_id`` and the stories of the burst, clustered from scratch."""
    assignments = cluster_articles(articles, replace(DEFAULT_PARAMS, **params))
    stories = {a.article_id: a.story_id for a in assignments}
    return stories[article_id], {stories[f"a{i:03d}"] for i in range(len(BURST))}


def test_an_article_naming_a_story_in_full_burst_joins_it() -> None:
    probe, burst_stories = story_of([*burst(), article(99, PROBE, 11)], "a099")
    assert burst_stories == {probe}


def test_without_the_prior_the_same_article_stands_alone() -> None:
    probe, burst_stories = story_of([*burst(), article(99, PROBE, 11)], "a099", burst_bonus=0.0)
    assert len(burst_stories) == 1
    assert probe not in burst_stories


def test_the_same_article_hours_after_the_burst_stands_alone() -> None:
    probe, burst_stories = story_of([*burst(), article(99, PROBE, 5 * 60)], "a099")
    assert probe not in burst_stories


def test_times_known_only_to_the_day_make_no_burst() -> None:
    articles = [*burst(precise=False), article(99, PROBE, 11, precise=False)]
    probe, burst_stories = story_of(articles, "a099")
    assert probe not in burst_stories


OUTAGE = [
    "Amazon checkout outage leaves shoppers unable to pay",
    "Amazon outage: shoppers cannot check out",
    "Amazon checkout down for shoppers across the US",
    "Shoppers report Amazon checkout outage",
    "Amazon checkout outage frustrates shoppers",
    "Amazon says it is investigating checkout outage hitting shoppers",
    "Amazon shoppers stuck at checkout during outage",
    "Amazon checkout outage: what shoppers need to know",
]


def joins_the_outage(title: str, **params: float) -> bool:
    articles = [article(i, text, i) for i, text in enumerate(OUTAGE)]
    stories = {
        a.article_id: a.story_id
        for a in cluster_articles([*articles, article(99, title, 9)], replace(DEFAULT_PARAMS, **params))
    }
    assert len({stories[a.article_id] for a in articles}) == 1
    return stories["a099"] == stories["a000"]


def test_an_article_naming_another_company_gets_no_pull() -> None:
    # A plain word of the story's core ("shoppers") is pulled in by the burst, and only by the burst ...
    assert joins_the_outage("Shoppers vent on social media")
    assert not joins_the_outage("Shoppers vent on social media", burst_bonus=0.0)
    # ... but not when the article names another company: Amazon's outage hour is also Microsoft's news hour.
    assert not joins_the_outage("Microsoft shoppers vent on social media")
    assert not joins_the_outage("Shoppers vent on social media about Google")


def test_an_early_fragment_is_taken_in_once_the_story_has_grown() -> None:
    # The probe comes second: the story is one article then, and it founds its own. When the story doubles,
    # the second look compares it with the grown, busy story, and it is merged in.
    articles = [article(0, BURST[0], 0), article(99, PROBE, 0.5), *burst()[1:]]
    assignments = cluster_articles(articles)
    stories = {a.article_id: a.story_id for a in assignments}
    assert len(set(stories.values())) == 1
    merged = [a for a in assignments if a.merged_story_ids]
    assert merged, "the probe's fragment was merged by a later article, not joined directly"
    without = cluster_articles(articles, replace(DEFAULT_PARAMS, second_look_threshold=0.0))
    assert len({a.story_id for a in without}) == 2
