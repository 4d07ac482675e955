"""Ingest over real HTTP against a local server: every hostile or unusual thing a crawler meets."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import Item, ingest, opml, page, rows, rss
from tests.localserver import LocalServer, Reply, Request

RSS = {"Content-Type": "application/rss+xml; charset=utf-8"}
HTML = {"Content-Type": "text/html; charset=utf-8"}


def feed_row(db_path: Path, outlet: str = "Outlet") -> tuple[object, ...]:
    found = rows(
        db_path,
        "SELECT feed_url, last_status, last_error, consecutive_failures, etag, last_modified, n_articles"
        " FROM feed_status WHERE outlet = ?",
        [outlet],
    )
    assert len(found) == 1
    return found[0]


def one_feed(tmp_path: Path, server: LocalServer, path: str = "/feed.xml") -> Path:
    return opml(tmp_path / "feeds.opml", [("Outlet", server.url(path))])


def test_conditional_get_round_trip(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    etag = '"v1-abc"'
    modified = "Mon, 06 Oct 2025 20:00:00 GMT"

    def feed(request: Request) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(304, b"", {"ETag": etag})
        body = rss([Item("Amazon checkout is down", server.url("/a1"), "Mon, 06 Oct 2025 16:05:00 -0400")])
        return Reply(200, body, {**RSS, "ETag": etag, "Last-Modified": modified})

    server.route("/feed.xml", feed)
    server.route("/a1", Reply(200, page("Amazon checkout is down"), HTML))
    feeds = one_feed(tmp_path, server)
    first = ingest(db_path, feeds, fast_config)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["new_articles"] == 1
    second = ingest(db_path, feeds, fast_config)
    summary = json.loads(second.stdout)
    assert (summary["feeds_unchanged"], summary["new_articles"], summary["pages_fetched"]) == (1, 0, 0)
    assert server.hits("/feed.xml")[1].headers["if-none-match"] == etag
    assert server.hits("/feed.xml")[1].headers["if-modified-since"] == modified
    assert len(server.hits("/a1")) == 1  # a page is fetched once
    _url, status, error, failures, stored_etag, stored_modified, n = feed_row(db_path)
    assert (status, error, failures, stored_etag, stored_modified, n) == (304, None, 0, etag, modified, 1)
    assert "scooptrace" in server.hits("/feed.xml")[0].headers["user-agent"]


def test_trickling_server_is_cut_off_by_the_deadline(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    def trickle() -> Iterator[bytes]:
        yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
        for _ in range(60):
            yield b" "

    server.route("/slow.xml", lambda _r: Reply(200, trickle(), RSS, delay_per_chunk=0.2))
    server.route("/feed.xml", Reply(200, rss([Item("Fine", server.url("/ok"))]), RSS))
    feeds = opml(
        tmp_path / "feeds.opml", [("Slow", server.url("/slow.xml")), ("Outlet", server.url("/feed.xml"))]
    )
    result = ingest(db_path, feeds, fast_config)
    assert result.returncode == 0, result.stderr
    slow = rows(
        db_path, "SELECT last_status, last_error, consecutive_failures FROM feed_status WHERE outlet='Slow'"
    )
    assert slow[0][0] is None and "deadline" in slow[0][1] and slow[0][2] == 1
    assert feed_row(db_path)[6] == 1  # the other feed was stored all the same


def test_server_error_backs_off_and_every_feed_failing_exits_3(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    server.route("/feed.xml", Reply(500, b"oops"))
    result = ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert result.returncode == 3, result.stderr  # the only due feed failed: cron must notice
    assert "WARNING scooptrace.ingest every feed due in this run failed (1 of 1)" in result.stderr
    assert json.loads(result.stdout)["feeds_failed"] == 1
    assert feed_row(db_path)[1:4] == (500, "HTTP 500", 1)
    waiting = rows(db_path, "SELECT next_fetch_after - last_fetched_at FROM feed_status")[0][0]
    assert waiting == timedelta(seconds=60)  # backoff_base_seconds in the test config
    again = ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert again.returncode == 0  # nothing was due, so nothing failed
    assert json.loads(again.stdout)["feeds_waiting"] == 1
    assert len(server.hits("/feed.xml")) == 1


def test_gone_feed_is_retired(server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path) -> None:
    server.route("/feed.xml", Reply(410, b"gone"))
    feeds = one_feed(tmp_path, server)
    ingest(db_path, feeds, fast_config)
    ingest(db_path, feeds, fast_config)
    assert len(server.hits("/feed.xml")) == 1
    assert rows(db_path, "SELECT retired_at IS NOT NULL, last_status FROM feed_status")[0] == (True, 410)


def test_permanent_redirect_updates_feed_url(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    server.route("/old.xml", Reply(301, b"", {"Location": "/new.xml"}))
    server.route("/new.xml", Reply(200, rss([Item("Moved", server.url("/m1"))]), RSS))
    server.route("/m1", Reply(200, page("Moved"), HTML))
    feeds = one_feed(tmp_path, server, "/old.xml")
    ingest(db_path, feeds, fast_config)
    assert feed_row(db_path)[0] == server.url("/new.xml")
    ingest(db_path, feeds, fast_config)
    assert len(server.hits("/old.xml")) == 1 and len(server.hits("/new.xml")) == 2
    assert rows(db_path, "SELECT feed_url FROM articles") == [(server.url("/new.xml"),)]


def test_too_many_requests_honours_retry_after(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    server.route("/feed.xml", Reply(429, b"slow down", {"Retry-After": "3600"}))
    feeds = one_feed(tmp_path, server)
    ingest(db_path, feeds, fast_config)
    status, error, wait = rows(
        db_path, "SELECT last_status, last_error, next_fetch_after - last_fetched_at FROM feed_status"
    )[0]
    assert (status, wait) == (429, timedelta(hours=1))
    assert "Retry-After 3600s" in str(error)
    ingest(db_path, feeds, fast_config)
    assert len(server.hits("/feed.xml")) == 1


def test_gzip_feed_and_gzip_bomb(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    body = rss([Item("Compressed", server.url("/c1"))])
    server.route("/feed.xml", Reply(200, gzip.compress(body), {**RSS, "Content-Encoding": "gzip"}))
    bomb = gzip.compress(b"<rss>" + b" " * (200 * 1024 * 1024))
    server.route("/bomb.xml", Reply(200, bomb, {**RSS, "Content-Encoding": "gzip"}))
    feeds = opml(
        tmp_path / "feeds.opml", [("Outlet", server.url("/feed.xml")), ("Bomb", server.url("/bomb.xml"))]
    )
    result = ingest(db_path, feeds, fast_config)
    assert result.returncode == 0
    assert feed_row(db_path)[6] == 1
    bomb_row = rows(db_path, "SELECT last_error FROM feed_status WHERE outlet = 'Bomb'")[0][0]
    assert "larger than 10485760 bytes once decompressed" in str(bomb_row)


def test_oversize_body_is_refused(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    server.route("/feed.xml", Reply(200, b"<rss>" + b"x" * (11 * 1024 * 1024), RSS))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert "over the 10485760 byte cap" in str(feed_row(db_path)[2])


def test_malformed_xml_still_stores_entries(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    broken = f"<rss version='2.0'><channel><item><title>Broken & open</title><link>{server.url('/b1')}</link>"
    server.route("/feed.xml", Reply(200, broken.encode(), RSS))
    server.route("/b1", Reply(200, page("Broken and open"), HTML))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert rows(db_path, "SELECT title FROM articles") == [("Broken & open",)]
    assert feed_row(db_path)[2] is None


def test_html_instead_of_feed_is_recorded(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    server.route("/feed.xml", Reply(200, page("Home page"), HTML))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert feed_row(db_path)[1:4] == (200, "HTML page served as a feed (text/html; charset=utf-8)", 1)


def test_windows_1256_arabic_feed_over_http(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    title = "عطل مفاجئ في أمازون يمنع المتسوقين من إتمام الشراء"
    body = rss([Item(title, server.url("/ar1"), "Mon, 06 Oct 2025 23:10:00 +0300")], encoding="windows-1256")
    server.route("/feed.xml", Reply(200, body, {"Content-Type": "application/rss+xml; charset=windows-1256"}))
    server.route("/ar1", Reply(404, b""))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert rows(db_path, "SELECT title, published_at, published_at_source FROM articles") == [
        (title, datetime(2025, 10, 6, 20, 10, tzinfo=UTC), "feed")
    ]


def test_naive_feed_date_loses_to_zoned_page_time(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    # New York wall-clock time without a zone in the feed; the page says 16:05 -04:00 (20:05 UTC).
    server.route(
        "/feed.xml",
        Reply(200, rss([Item("Checkout down", server.url("/n1"), "Mon, 06 Oct 2025 16:05:00")]), RSS),
    )
    server.route("/n1", Reply(200, page("Checkout down", published="2025-10-06T16:05:00-04:00"), HTML))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    published, source, raw = rows(
        db_path, "SELECT published_at, published_at_source, feed_published_raw FROM articles"
    )[0]
    assert (published, source, raw) == (
        datetime(2025, 10, 6, 20, 5, tzinfo=UTC),
        "page",
        "Mon, 06 Oct 2025 16:05:00",
    )


def test_unknown_zone_name_is_not_read_as_utc(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    now = datetime.now(UTC)
    stamp = now.strftime("%a, %d %b %Y %H:%M:%S") + " XYZT"
    server.route("/feed.xml", Reply(200, rss([Item("Unknown zone", server.url("/u1"), stamp)]), RSS))
    server.route("/u1", Reply(404, b""))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    source, precision, published = rows(
        db_path, "SELECT published_at_source, published_at_precision, published_at FROM articles"
    )[0]
    # Only the day is known: never presented as a time, and the wall clock is not read as UTC.
    assert (source, precision) == ("feed", "day")
    assert published == datetime.combine(now.date(), datetime.min.time(), tzinfo=UTC)


def test_future_date_is_never_after_first_sight(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    future = (datetime.now(UTC) + timedelta(days=2)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    server.route("/feed.xml", Reply(200, rss([Item("From the future", server.url("/f1"), future)]), RSS))
    server.route("/f1", Reply(200, page("From the future", published="2030-01-01T00:00:00+00:00"), HTML))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert rows(db_path, "SELECT published_at <= first_seen_at, published_at_source FROM articles")[0] == (
        True, "first_seen",
    )  # fmt: skip


def test_one_article_in_two_feeds_with_tracking(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    link = server.url("/story")
    server.route(
        "/tech.xml", Reply(200, rss([Item("Shared", link + "?utm_source=tech&utm_medium=rss")]), RSS)
    )
    server.route("/all.xml", Reply(200, rss([Item("Shared", link + "?fbclid=xyz#top")]), RSS))
    server.route("/story", Reply(200, page("Shared"), HTML))
    feeds = opml(
        tmp_path / "feeds.opml", [("Outlet", server.url("/tech.xml")), ("Outlet", server.url("/all.xml"))]
    )
    ingest(db_path, feeds, fast_config)
    assert rows(db_path, "SELECT url FROM articles") == [(link,)]
    assert len(server.hits("/story")) == 1


def test_canonical_link_on_same_site_merges(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    canonical = server.url("/2025/amazon-outage")
    server.route(
        "/feed.xml", Reply(200, rss([Item("A", server.url("/amp/amazon-outage")), Item("A", canonical)]), RSS)
    )
    server.route("/amp/amazon-outage", Reply(200, page("A", canonical=canonical), HTML))
    server.route("/2025/amazon-outage", Reply(200, page("A", canonical=canonical), HTML))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert rows(db_path, "SELECT url FROM articles") == [(canonical,)]


def test_missing_page_falls_back_to_feed_entry(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    items = [
        Item("Teams is down", server.url("/gone"), "Mon, 06 Oct 2025 15:00:00 -0400", "Calls fail worldwide.")
    ]
    server.route("/feed.xml", Reply(200, rss(items), RSS))
    result = ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert json.loads(result.stdout)["pages_failed"] == 1
    assert rows(
        db_path, "SELECT title, summary, published_at_source, page_state, page_error FROM articles"
    ) == [("Teams is down", "Calls fail worldwide.", "feed", "failed", "HTTP 404")]


def test_robots_disallow_keeps_feed_entry(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    server.route(
        "/robots.txt", Reply(200, b"User-agent: *\nDisallow: /private/\n", {"Content-Type": "text/plain"})
    )
    server.route(
        "/feed.xml",
        Reply(200, rss([Item("Private", server.url("/private/p1")), Item("Open", server.url("/p2"))]), RSS),
    )
    server.route("/private/p1", Reply(200, page("Private"), HTML))
    server.route("/p2", Reply(200, page("Open"), HTML))
    ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert not server.hits("/private/p1")
    assert rows(db_path, "SELECT title, page_state FROM articles ORDER BY title") == [
        ("Open", "extracted"), ("Private", "robots"),
    ]  # fmt: skip


def test_redirect_to_forbidden_address_is_refused(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    # Only 127.0.0.1 is admitted; 127.0.0.2 is loopback too and must not be contacted.
    server.route("/feed.xml", Reply(302, b"", {"Location": f"http://127.0.0.2:{server.port}/internal"}))
    result = ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert result.returncode == 3  # the run completed; its only feed failed
    error = str(feed_row(db_path)[2])
    assert "127.0.0.2 resolves to 127.0.0.2, a non-public address" in error


def test_private_address_refused_without_allow_host(
    server: LocalServer, tmp_path: Path, db_path: Path
) -> None:
    from tests.conftest import run_cli

    server.route("/feed.xml", Reply(200, rss([Item("x", server.url("/x"))]), RSS))
    result = run_cli(
        "ingest", "--db", str(db_path), "--feeds", str(one_feed(tmp_path, server)), "--no-cluster"
    )
    assert result.returncode == 3  # the run completed; its only feed failed
    assert not server.hits("/feed.xml")
    assert "non-public address" in str(feed_row(db_path)[2])


def test_entity_expansion_over_http(
    server: LocalServer, tmp_path: Path, db_path: Path, fast_config: Path
) -> None:
    lol = "".join(f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY l0 "lol">{lol}]><rss version="2.0"><channel>'
            f"<item><title>&l9;</title><link>{server.url('/e1')}</link></item></channel></rss>")  # fmt: skip
    server.route("/feed.xml", Reply(200, body.encode(), RSS))
    result = ingest(db_path, one_feed(tmp_path, server), fast_config)
    assert result.returncode == 0
    assert rows(db_path, "SELECT count(*), max(length(coalesce(title, ''))) < 100 FROM articles")[0] == (
        1,
        True,
    )
