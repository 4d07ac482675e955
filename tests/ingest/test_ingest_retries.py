"""Over real HTTP: failed pages retried when due, robots.txt per RFC 9309, truncated feeds, adaptive polling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.conftest import Item, ingest, opml, page, rows, rss
from tests.localserver import LocalServer, Reply, Request

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture
def retry_config(tmp_path: Path) -> Path:
    """Pages retried at once (no wait) so consecutive runs show the retry rules; feeds due every run."""
    path = tmp_path / "retry.toml"
    path.write_text(
        "lock_wait_seconds = 1.0\nworkers = 1\n[fetch]\ndeadline_seconds = 2.0\nconnect_timeout_seconds = 1.0\n"
        "poll_min_seconds = 0.0\npoll_max_seconds = 0.0\npage_retry_base_seconds = 0.0\n"
        "robots_retry_seconds = 0.0\n"
    )
    return path


def page_row(db_path: Path, url: str) -> tuple[object, ...]:
    found = rows(
        db_path,
        "SELECT page_state, page_error, page_attempts, page_next_attempt_at IS NOT NULL, text IS NOT NULL"
        " FROM article WHERE url = ?",
        [url],
    )
    assert len(found) == 1
    return found[0]


def flaky(replies: list[Reply]) -> object:
    """A handler that answers with each reply in turn, then the last one for ever."""
    served: list[int] = []

    def handler(_request: Request) -> Reply:
        served.append(1)
        return replies[min(len(served), len(replies)) - 1]

    return handler


def test_transient_page_failure_is_retried_until_it_works(
    server: LocalServer, tmp_path: Path, db_path: Path, retry_config: Path
) -> None:
    server.route("/feed.xml", Reply(200, rss([Item("Flaky story", server.url("/a1"))]), RSS))
    server.route(
        "/a1", flaky([Reply(500, b"oops"), Reply(503, b"busy"), Reply(200, page("Flaky story"), HTML)])
    )
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    url = server.url("/a1")
    assert ingest(db_path, feeds, retry_config).returncode == 0
    assert page_row(db_path, url) == ("failed", "HTTP 500", 1, True, False)
    ingest(db_path, feeds, retry_config)
    assert page_row(db_path, url) == ("failed", "HTTP 503", 2, True, False)
    third = ingest(db_path, feeds, retry_config)
    assert json.loads(third.stdout)["pages_fetched"] == 1
    assert page_row(db_path, url) == ("extracted", None, 3, False, True)
    ingest(db_path, feeds, retry_config)
    assert len(server.hits("/a1")) == 3  # extracted: never fetched again


def test_missing_page_is_given_up_after_a_few_tries(
    server: LocalServer, tmp_path: Path, db_path: Path, retry_config: Path
) -> None:
    server.route("/feed.xml", Reply(200, rss([Item("Gone story", server.url("/gone"))]), RSS))
    server.route("/gone", Reply(404, b"no such page"))
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    for _ in range(5):
        assert ingest(db_path, feeds, retry_config).returncode == 0
    assert len(server.hits("/gone")) == 3
    assert page_row(db_path, server.url("/gone")) == ("failed", "HTTP 404", 3, False, False)
    # The article itself stays, from its feed entry.
    assert rows(db_path, "SELECT title FROM articles") == [("Gone story",)]


def test_robots_unavailable_keeps_pages_out_for_now_and_asks_again(
    server: LocalServer, tmp_path: Path, db_path: Path, retry_config: Path
) -> None:
    server.route("/feed.xml", Reply(200, rss([Item("Robots story", server.url("/r1"))]), RSS))
    server.route("/r1", Reply(200, page("Robots story"), HTML))
    server.route(
        "/robots.txt", flaky([Reply(503, b"busy"), Reply(200, b"User-agent: *\nDisallow: /private\n")])
    )
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    ingest(db_path, feeds, retry_config)
    assert not server.hits("/r1")  # RFC 9309: a 5xx robots.txt means keep out ...
    state, error, attempts, due, _text = page_row(db_path, server.url("/r1"))
    assert (state, attempts, due) == ("failed", 1, True) and "robots.txt unavailable" in str(error)
    ingest(db_path, feeds, retry_config)  # ... for now: asked again, and now it allows the page
    assert len(server.hits("/robots.txt")) == 2
    assert page_row(db_path, server.url("/r1"))[0] == "extracted"


def test_robots_4xx_allows_everything(
    server: LocalServer, tmp_path: Path, db_path: Path, retry_config: Path
) -> None:
    server.route("/feed.xml", Reply(200, rss([Item("Open story", server.url("/o1"))]), RSS))
    server.route("/o1", Reply(200, page("Open story"), HTML))
    server.route("/robots.txt", Reply(403, b"forbidden"))
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    ingest(db_path, feeds, retry_config)
    assert page_row(db_path, server.url("/o1"))[0] == "extracted"


def test_truncated_feed_never_stores_its_validators(
    server: LocalServer, tmp_path: Path, db_path: Path, retry_config: Path
) -> None:
    items = [Item(f"Story {i}", server.url(f"/s{i}")) for i in range(4)]
    full = rss(items)
    cut = full[: full.index(b"<title>Story 2")]  # the connection dropped mid-XML
    validators = {"ETag": '"v1"', "Last-Modified": "Mon, 06 Oct 2025 20:00:00 GMT"}

    def feed(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(304, b"", {"ETag": '"v1"'})
        body = cut if len(server.hits("/feed.xml")) == 1 else full
        return Reply(200, body, {**RSS, **validators})

    server.route("/feed.xml", feed)
    for i in range(4):
        server.route(f"/s{i}", Reply(200, page(f"Story {i}"), HTML))
    feeds = opml(tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml"))])
    first = ingest(db_path, feeds, retry_config)
    assert json.loads(first.stdout)["new_articles"] == 2
    assert rows(db_path, "SELECT etag, last_modified FROM feed_status") == [(None, None)]
    second = ingest(db_path, feeds, retry_config)
    assert "if-none-match" not in server.hits("/feed.xml")[1].headers  # a full GET, not a 304
    assert json.loads(second.stdout)["new_articles"] == 2  # the entries the cut hid
    assert rows(db_path, "SELECT etag FROM feed_status") == [('"v1"',)]
    assert rows(db_path, "SELECT count(*) FROM articles") == [(4,)]


def test_feed_status_shows_next_due_and_stale(server: LocalServer, tmp_path: Path, db_path: Path) -> None:
    config = tmp_path / "poll.toml"
    config.write_text("workers = 1\n[fetch]\ndeadline_seconds = 2.0\n")  # default bounds: 5 min to 6 h
    now = datetime.now(UTC)
    hourly_long_ago = [
        Item(f"Old {i}", server.url(f"/old{i}"), format_datetime(now - timedelta(days=5, hours=i)))
        for i in range(10)
    ]
    every_two_hours = [
        Item(f"Live {i}", server.url(f"/live{i}"), format_datetime(now - timedelta(hours=2 * i + 1)))
        for i in range(10)
    ]
    server.route("/quiet.xml", Reply(200, rss(hourly_long_ago), RSS))
    server.route("/live.xml", Reply(200, rss(every_two_hours), RSS))
    server.route(
        "/cached.xml", Reply(200, rss(every_two_hours[:1]), {**RSS, "Cache-Control": "max-age=7200"})
    )
    feeds = opml(
        tmp_path / "feeds.opml",
        [
            ("Quiet", server.url("/quiet.xml")),
            ("Live", server.url("/live.xml")),
            ("Cached", server.url("/cached.xml")),
        ],
    )
    first = ingest(db_path, feeds, config)
    assert first.returncode == 0, first.stderr
    found = rows(
        db_path, "SELECT outlet, next_due_at - last_fetched_at, stale FROM feed_status ORDER BY outlet"
    )
    assert found == [
        ("Cached", timedelta(hours=2), False),  # max-age is a floor
        ("Live", timedelta(hours=1), False),  # half its two-hour rhythm
        ("Quiet", timedelta(minutes=30), True),  # hourly, then silent for 5 days
    ]
    again = ingest(db_path, feeds, config)
    assert json.loads(again.stdout)["feeds_waiting"] == 3
    assert len(server.hits("/live.xml")) == 1
