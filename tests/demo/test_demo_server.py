"""The demo world and its HTTP server: data checks, feeds that parse, conditional GET, encodings, the clock."""

from __future__ import annotations

import re
import urllib.robotparser
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser
import httpx
import pytest

from scooptrace.demo.model import World, load_world
from scooptrace.demo.render import feed_path, local_article_path, render_opml
from scooptrace.demo.server import DemoClock, DemoServer, serve_world

CENTRE = "amazon-checkout-outage"
GEEKWIRE_FIRST = "geekwire/amazon-com-checkout-outage-shoppers"


@pytest.fixture(scope="module")
def world() -> World:
    return load_world()


@pytest.fixture(scope="module")
def server(world: World) -> Iterator[DemoServer]:
    with serve_world(world, DemoClock(world.rounds[-1])) as running:
        yield running


def parse(response: httpx.Response) -> feedparser.FeedParserDict:
    return feedparser.parse(
        response.content, response_headers={"content-type": response.headers["content-type"]}
    )


def test_world_has_the_promised_variety(world: World) -> None:
    assert len(world.outlets) >= 20
    assert len(world.events) >= 8
    assert {o.language for o in world.outlets.values()} >= {"en", "ar", "es"}
    feeds = [f for o in world.outlets.values() for f in o.feeds]
    assert {f.format for f in feeds} == {"rss2", "atom", "rss1"}
    assert {f.dates for f in feeds} >= {"offset", "zone_name", "utc", "naive", "none"}
    assert any(f.encoding == "windows-1256" for f in feeds)
    assert any(len(o.feeds) > 1 for o in world.outlets.values())
    assert any("utm_" in f.tracking for f in feeds)
    days = {a.published.date() for a in world.articles.values()}
    assert len(days) >= 4


def test_centrepiece_story_shape(world: World) -> None:
    event = world.event(CENTRE)
    independent = [a for a in event.articles if a.copy_of is None]
    first = min(independent, key=lambda a: a.published)
    assert first.key == GEEKWIRE_FIRST
    copies = [a for a in event.articles if a.copy_of]
    assert len(copies) == 2 and {a.canonical is not None for a in copies} == {True, False}
    assert all(a.published > world.articles[a.copy_of].published for a in copies if a.copy_of)
    linkers = [a for a in event.articles if any(t.startswith("@" + GEEKWIRE_FIRST) for _, t in a.links())]
    crediting = [a for a in event.articles if "GeekWire" in a.credits]
    assert len(linkers) >= 3 and len(crediting) >= 3
    assert {world.outlets[a.outlet].language for a in crediting} >= {"en", "ar", "es"}
    assert any(a.role == "follow-up" for a in event.articles)


def test_every_feed_parses_cleanly(world: World, server: DemoServer) -> None:
    versions = set()
    for outlet in world.outlets.values():
        for feed in outlet.feeds:
            response = httpx.get(server.base_url + feed_path(feed))
            assert response.status_code == 200
            parsed = parse(response)
            assert not parsed.bozo, (feed_path(feed), parsed.get("bozo_exception"))
            assert parsed.entries, feed_path(feed)
            versions.add(parsed.version)
    assert versions == {"rss20", "atom10", "rss10"}


def test_conditional_get_gives_304(server: DemoServer) -> None:
    url = server.base_url + "/o/geekwire/feeds/main.xml"
    first = httpx.get(url)
    etag, last_modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert httpx.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert httpx.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert httpx.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    page = server.base_url + "/o/geekwire/news/amazon-com-checkout-outage-shoppers"
    assert httpx.get(page, headers={"If-None-Match": httpx.get(page).headers["ETag"]}).status_code == 304


def test_windows_1256_feed_is_declared_and_decodes(server: DemoServer) -> None:
    response = httpx.get(server.base_url + "/o/al-raqmiya/feeds/legacy.xml")
    assert "charset=windows-1256" in response.headers["content-type"]
    assert response.content.startswith(b'<?xml version="1.0" encoding="windows-1256"?>')
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    titles = [e.title for e in parse(response).entries]
    assert "أمازون: عطل مفاجئ يوقف عمليات الدفع في المتجر الأمريكي" in titles


def test_clock_reveals_articles(world: World) -> None:
    clock = DemoClock(datetime(2026, 10, 6, 20, 0, tzinfo=UTC))
    page = local_article_path(world, world.articles[GEEKWIRE_FIRST])
    with serve_world(world, clock) as server:
        feed = server.base_url + "/o/geekwire/feeds/main.xml"
        before = httpx.get(feed)
        assert "checkout" not in before.text
        assert httpx.get(server.base_url + page).status_code == 404
        clock.set(datetime(2026, 10, 6, 20, 31, tzinfo=UTC))
        after = httpx.get(feed, headers={"If-None-Match": before.headers["ETag"]})
        assert after.status_code == 200
        assert parse(after).entries[0].title.startswith("Amazon.com shoppers can't reach checkout")
        assert httpx.get(server.base_url + page).status_code == 200


def test_article_page_metadata(world: World, server: DemoServer) -> None:
    html = httpx.get(server.base_url + "/o/geekwire/news/amazon-com-checkout-outage-shoppers").text
    assert '<html lang="en"' in html
    assert '<meta property="article:published_time" content="2026-10-06T13:31:00-07:00">' in html
    assert 'class="cookie-banner"' in html and "<nav" in html and "<footer" in html
    copy = httpx.get(
        server.base_url + "/o/riverbend-courier/news/amazon-shoppers-report-checkout-failures"
    ).text
    agency = server.base_url + "/o/meridian-press/news/amazon-shoppers-report-checkout-failures"
    assert f'<link rel="canonical" href="{agency}">' in copy
    arabic = httpx.get(server.base_url + "/o/tech-arabi/news/amazon-checkout-outage-us").text
    assert '<html lang="ar" dir="rtl">' in arabic and "غيك واير" in arabic
    linking = httpx.get(server.base_url + "/o/bytewise/news/when-checkout-is-the-only-thing-broken").text
    assert re.search(
        r'href="[^"]*/o/geekwire/news/amazon-com-checkout-outage-shoppers\?utm_source=twitter', linking
    )


def test_syndicated_copies_are_verbatim(world: World, server: DemoServer) -> None:
    def body(path: str) -> str:
        html = httpx.get(server.base_url + path).text
        return html[html.index('<div class="article-body">') : html.index("</article>")]

    agency = body("/o/meridian-press/news/amazon-shoppers-report-checkout-failures")
    assert body("/o/riverbend-courier/news/amazon-shoppers-report-checkout-failures") == agency
    assert body("/o/lakeshore-daily/news/amazon-shoppers-report-checkout-failures-across-us") == agency


def test_robots_and_members_pages(server: DemoServer) -> None:
    robots = urllib.robotparser.RobotFileParser()
    robots.parse(httpx.get(server.base_url + "/robots.txt").text.splitlines())
    assert robots.can_fetch("scooptrace", server.base_url + "/o/geekwire/news/x")
    assert not robots.can_fetch(
        "scooptrace", server.base_url + "/o/harbor-herald/members/inside-the-bike-lane-vote"
    )


def test_opml_lists_every_feed(world: World) -> None:
    opml = render_opml(world, "http://127.0.0.1:1")
    n_feeds = sum(len(o.feeds) for o in world.outlets.values())
    assert opml.count("<outline ") == n_feeds
    assert 'xmlUrl="http://127.0.0.1:1/o/al-raqmiya/feeds/legacy.xml"' in opml
    assert 'language="ar"' in opml


def test_server_binds_loopback_only(server: DemoServer) -> None:
    assert server.server_address[0] == "127.0.0.1"


def test_pages_give_extractors_a_zone_aware_time_and_the_whole_body(world: World, server: DemoServer) -> None:
    """htmldate prefers a dated URL (day only) to article:published_time, so article URLs carry no date."""
    import trafilatura
    from htmldate import find_date

    article = world.articles[GEEKWIRE_FIRST]
    url = server.base_url + local_article_path(world, article)
    html = httpx.get(url).text
    assert (
        find_date(html, outputformat="%Y-%m-%dT%H:%M:%S%z", original_date=True) == "2026-10-06T13:31:00-0700"
    )
    text = trafilatura.extract(html, url=url) or ""
    assert all(paragraph[:60] in text for paragraph in article.body)
    assert world.chrome["en"]["cookie"][:30] not in text
