"""Table-driven pairs: does the second article join the first one's story? Same event across wording and
languages: yes. Confusable neighbours (same company other event, same event word other company, the same kind of
outage a week earlier): no."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from cluster.model import ArticleIn
from cluster.stories import Clusterer

T0 = datetime(2025, 10, 6, 20, 40, tzinfo=UTC)  # the Amazon.com checkout outage, 4:40 pm New York time


@dataclass(frozen=True)
class Side:
    title: str
    language: str
    text: str = ""
    hours: float = 0.0  # after T0
    outlet: str = ""


@dataclass(frozen=True)
class Pair:
    name: str
    first: Side
    second: Side
    same: bool


AMAZON_EN = Side(
    "Amazon.com outage: Shoppers unable to check out as site experiences problems",
    "en",
    "Amazon.com is experiencing an outage that is preventing shoppers from completing purchases, according to "
    "reports on Downdetector that spiked around 4 p.m. ET on Monday.",
    outlet="geekwire.com",
)

PAIRS = [
    # --- the same event ---
    Pair(
        "en rewording",
        AMAZON_EN,
        Side("Amazon website outage leaves shoppers unable to pay, Downdetector shows", "en", hours=0.8),
        True,
    ),
    Pair(
        "en short headline", AMAZON_EN, Side("Amazon checkout is down for thousands", "en", hours=0.3), True
    ),
    Pair(
        "ar",
        AMAZON_EN,
        Side(
            "عطل في أمازون يمنع المتسوقين من إتمام عمليات الشراء",
            "ar",
            "أفاد آلاف المستخدمين بتعطل موقع أمازون وتطبيقها، بحسب موقع Downdetector، وكان موقع GeekWire أول من أورد الخبر.",
            hours=1.0,
        ),
        True,
    ),
    Pair(
        "ar headline only",
        AMAZON_EN,
        Side("تعطل موقع أمازون.. آلاف المستخدمين عاجزون عن الدفع", "ar", hours=1.5),
        True,
    ),
    Pair(
        "es",
        AMAZON_EN,
        Side("Caída de Amazon: los clientes no pueden completar sus compras", "es", hours=2),
        True,
    ),
    Pair(
        "fr",
        AMAZON_EN,
        Side("Amazon victime d'une panne : impossible de finaliser ses achats", "fr", hours=2),
        True,
    ),
    Pair(
        "de",
        AMAZON_EN,
        Side("Amazon-Störung: Kunden können Bestellungen nicht bezahlen", "de", hours=2.5),
        True,
    ),
    Pair(
        "follow-up hours later",
        AMAZON_EN,
        Side(
            "Amazon says checkout problems fixed after hours-long outage",
            "en",
            hours=5.5,
            outlet="geekwire.com",
        ),
        True,
    ),
    Pair("ar follow-up", AMAZON_EN, Side("أمازون: إصلاح عطل الدفع بعد ساعات من التوقف", "ar", hours=6), True),
    # --- confusable neighbours ---
    Pair(
        "same company, launch the same day",
        Side("Amazon announces new Kindle Scribe with a color screen", "en", hours=-5),
        AMAZON_EN,
        False,
    ),
    Pair(
        "same company, stock the same day",
        Side("Amazon stock slips ahead of Prime Big Deal Days sales event", "en", hours=-7),
        AMAZON_EN,
        False,
    ),
    Pair(
        "AWS outage a week earlier",
        Side("Amazon outage takes down websites and apps as shoppers report problems", "en", hours=-7 * 24),
        AMAZON_EN,
        False,
    ),
    Pair(
        "Microsoft Teams outage an hour before",
        Side("Microsoft Teams outage blocks users from sending messages", "en", hours=-1),
        AMAZON_EN,
        False,
    ),
    Pair(
        "ar: Teams outage vs Amazon outage",
        Side("عطل في مايكروسوفت تيمز يمنع المستخدمين من إرسال الرسائل", "ar", hours=-0.5),
        Side("عطل في أمازون يمنع المتسوقين من إتمام عمليات الشراء", "ar", hours=1),
        False,
    ),
    Pair(
        "es: Teams caída vs Amazon caída",
        Side("Caída de Microsoft Teams: los usuarios no pueden enviar mensajes", "es", hours=-0.5),
        Side("Caída de Amazon: los clientes no pueden completar sus compras", "es", hours=2),
        False,
    ),
    Pair(
        "ar Amazon outage vs English Teams story",
        Side("Microsoft Teams outage blocks users from sending messages", "en", hours=-1),
        Side("عطل في أمازون يمنع المتسوقين من إتمام عمليات الشراء", "ar", hours=1),
        False,
    ),
    Pair(
        "es Kindle launch vs English outage story",
        AMAZON_EN,
        Side("Amazon presenta el nuevo Kindle Scribe con pantalla a color", "es", hours=1),
        False,
    ),
    Pair(
        "unrelated news",
        AMAZON_EN,
        Side("Fed holds interest rates steady, signals caution on cuts", "en", hours=0.5),
        False,
    ),
]


def as_article(side: Side, article_id: str) -> ArticleIn:
    return ArticleIn(
        article_id=article_id,
        title=side.title,
        published_at=T0 + timedelta(hours=side.hours),
        outlet=side.outlet or f"outlet-{article_id}",
        language=side.language,
        text=side.text,
    )


@pytest.mark.parametrize("pair", PAIRS, ids=[p.name for p in PAIRS])
def test_pair(pair: Pair) -> None:
    assignments = Clusterer().add_all([as_article(pair.first, "a"), as_article(pair.second, "b")])
    stories = {a.article_id: a.story_id for a in assignments}
    assert (stories["a"] == stories["b"]) is pair.same


def test_the_neighbours_stay_apart_in_one_stream() -> None:
    """All of the above in one stream: the Amazon outage story collects every language and nothing else."""
    sides = {f"p{i}{j}": side for i, p in enumerate(PAIRS) for j, side in enumerate((p.first, p.second))}
    articles = [as_article(side, key) for key, side in sides.items()]
    story_of = {a.article_id: a.story_id for a in Clusterer().add_all(articles)}
    outage = story_of["p00"]
    members = {sides[key].title for key, story in story_of.items() if story == outage}
    assert "Caída de Amazon: los clientes no pueden completar sus compras" in members
    assert "عطل في أمازون يمنع المتسوقين من إتمام عمليات الشراء" in members
    for neighbour in (
        "Amazon announces new Kindle Scribe with a color screen",
        "Microsoft Teams outage blocks users from sending messages",
        "Amazon outage takes down websites and apps as shoppers report problems",
        "Caída de Microsoft Teams: los usuarios no pueden enviar mensajes",
        "Fed holds interest rates steady, signals caution on cuts",
    ):
        assert neighbour not in members
