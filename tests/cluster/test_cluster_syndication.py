"""Syndication without rel=canonical: near-identical extracted body text marks the later article as a copy,
whatever page furniture surrounds the copied text; reports that only quote the wire are not copies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from cluster.features import featurize
from cluster.model import ArticleIn, Assignment
from cluster.stories import Clusterer, cluster_articles

WIRE = (
    "Amazon.com Inc said on Monday it was investigating problems that left thousands of shoppers unable to "
    "complete purchases on its website and app, after outage reports spiked on the tracking site Downdetector "
    "from about 4 p.m. New York time. The company did not say what caused the disruption to its checkout, "
    "which came days before its Prime Big Deal Days sales event. Sellers on the marketplace said orders "
    "stopped arriving for more than an hour, and some customers reported being charged twice when they "
    "retried. Amazon shares were little changed in after-hours trading."
)
# Another site's page furniture around the same wire text, as an extractor keeps it: a newsletter box and a
# byline before, related links and a comment prompt after. No canonical link anywhere.
FURNITURE_BEFORE = (
    "Sign up for the Morning Brief newsletter to get the day's top business stories in your inbox. "
    "By Wire Staff | Updated 6:05 PM EDT | 3 min read | Share on Facebook, share on X, copy link. "
)
FURNITURE_AFTER = (
    " Related: Best early Prime Day deals we found so far. Related: How to check whether a site is down. "
    "Have a question about your order? Tell us in the comments below; our team reads every message."
)
OWN_REPORT = (
    "Amazon.com Inc said on Monday it was investigating problems that left thousands of shoppers unable to "
    "complete purchases. Our reporters in Seattle spoke with sellers who watched sales drop to zero during "
    "the evening rush, and with a delivery driver whose route app froze at the same time. The status page "
    "still showed every service operating normally at six o'clock, and support lines played a recorded message."
)


def at(minutes: float) -> datetime:
    return datetime(2025, 10, 6, 21, tzinfo=UTC) + timedelta(minutes=minutes)


def by_id(articles: list[ArticleIn]) -> dict[str, Assignment]:
    return {a.article_id: a for a in cluster_articles(articles)}


def test_wire_text_inside_other_page_furniture_is_a_copy() -> None:
    wrapped = FURNITURE_BEFORE + WIRE + FURNITURE_AFTER
    result = by_id(
        [
            ArticleIn(
                "reuters", "Amazon investigating checkout problems", at(0), "reuters.com", "en", text=WIRE
            ),
            # its own headline, no canonical link, the wire text in the middle of the page's text
            ArticleIn(
                "portal", "Shoppers stuck at Amazon checkout", at(25), "portal.example", "en", text=wrapped
            ),
        ]
    )
    copy = result["portal"]
    assert copy.syndicated_from_article_id == "reuters"
    assert copy.syndication_evidence and "identical to article reuters" in copy.syndication_evidence
    assert copy.story_id == result["reuters"].story_id
    assert result["reuters"].syndicated_from_article_id is None


def test_copy_is_found_whatever_its_headline() -> None:
    """The copy's headline shares no word with the original's: the body alone puts it in the story."""
    wrapped = FURNITURE_BEFORE + WIRE
    result = by_id(
        [
            ArticleIn(
                "reuters", "Amazon investigating checkout problems", at(0), "reuters.com", "en", text=WIRE
            ),
            ArticleIn(
                "blog", "Why your cart would not pay tonight", at(40), "blog.example", "en", text=wrapped
            ),
        ]
    )
    assert result["blog"].syndicated_from_article_id == "reuters"
    assert result["blog"].story_id == result["reuters"].story_id


def test_a_report_that_quotes_the_wire_is_not_a_copy() -> None:
    result = by_id(
        [
            ArticleIn(
                "reuters", "Amazon investigating checkout problems", at(0), "reuters.com", "en", text=WIRE
            ),
            ArticleIn(
                "local",
                "Amazon checkout outage hits Seattle sellers",
                at(30),
                "local.example",
                "en",
                text=OWN_REPORT,
            ),
        ]
    )
    assert result["local"].syndicated_from_article_id is None


def test_shared_furniture_alone_is_not_a_copy() -> None:
    """Two different stories of one site share its furniture; the furniture does not make one a copy."""
    other = (
        "Microsoft said its Teams chat service was restored on Monday evening after a configuration change "
        "left users in Europe unable to join meetings or send messages for about two hours. The company "
        "said it rolled the change back and was reviewing how it passed its checks, and that no data was lost."
    )
    result = by_id(
        [
            ArticleIn(
                "a", "Amazon checkout problems", at(0), "site.example", "en", text=FURNITURE_BEFORE + WIRE
            ),
            ArticleIn(
                "b", "Teams back after outage", at(10), "site.example", "en", text=FURNITURE_BEFORE + other
            ),
        ]
    )
    assert result["b"].syndicated_from_article_id is None


def test_shingles_are_the_same_in_every_process_and_order_free() -> None:
    article = ArticleIn("x", "t", at(0), text=WIRE)
    first = featurize(article).shingles
    assert first == tuple(sorted(first)) and len(first) >= 10
    assert (
        featurize(ArticleIn("y", "other title", at(5), text="  " + WIRE.replace(" ", "\n "))).shingles
        == first
    )


def test_copies_survive_a_restore() -> None:
    """Incremental equals rebuild with the shingle index: restoring the open stories finds the same copy."""
    wrapped = FURNITURE_BEFORE + WIRE + FURNITURE_AFTER
    articles = [
        ArticleIn("reuters", "Amazon investigating checkout problems", at(0), "reuters.com", "en", text=WIRE),
        ArticleIn("geekwire", "Amazon.com outage: shoppers unable to check out", at(5), "geekwire.com", "en"),
        ArticleIn(
            "portal", "Shoppers stuck at Amazon checkout", at(25), "portal.example", "en", text=wrapped
        ),
    ]
    whole = cluster_articles(articles)
    first = Clusterer()
    done = first.add_all(articles[:2])
    from cluster.model import StoryMembers

    second = Clusterer(df=first.df, n_docs=first.n_docs)
    second.restore([StoryMembers(done[0].story_id, tuple(articles[:2]), (None, None))])
    assert done + second.add_all(articles[2:]) == whole
    assert whole[2].syndicated_from_article_id == "reuters"
