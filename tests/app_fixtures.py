"""Databases for the app tests.

``build_story_db`` writes a hand-made world in which every detail is known (the Amazon checkout outage of
DESIGN.md with English, Spanish and Arabic coverage, a wire copy, citations, complaint counts, a hostile title),
straight into the tables and into stand-ins for the views of the later stages. ``build_pipeline_db`` builds a
database the real way, through ``scooptrace import`` (which ends with the story update).
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from storage.connection import ensure_database, writer

SCOOPTRACE = str(Path(sys.executable).parent / "scooptrace")
Conn = duckdb.DuckDBPyConnection
Row = tuple[Any, ...]
T0 = datetime(2026, 10, 6, 20, 0, tzinfo=UTC)  # 16:00 in New York: complaints start rising
HOSTILE_TITLE = (
    "<script>window.__pwned = 1</script> Checkout down, $5bn at stake "
    '<img src=x onerror="window.__pwned = 2"> [click](javascript:alert(1))'
)
ARABIC_TITLE = "عطل في أمازون يمنع المتسوقين من إتمام الشراء، وفقًا لـ GeekWire"
AMAZON = "s-amazon"

# (article_id, outlet, title, language, minutes after T0, source, syndicated_from, url)
AMAZON_ARTICLES = [
    (
        "a1",
        "GeekWire",
        "Amazon.com checkout outage leaves shoppers stuck",
        "en",
        38,
        "page",
        None,
        "https://www.geekwire.com/2026/amazon-checkout-outage/",
    ),
    (
        "a2",
        "The Verge",
        "Amazon's checkout is broken for many shoppers",
        "en",
        52,
        "page",
        None,
        "https://www.theverge.com/amazon-checkout-down",
    ),
    (
        "a3",
        "AP",
        "Amazon says some customers cannot complete purchases",
        "en",
        61,
        "feed",
        None,
        "https://apnews.com/article/amazon-outage",
    ),
    (
        "a4",
        "Yahoo News",
        "Amazon says some customers cannot complete purchases",
        "en",
        66,
        "feed",
        "a3",
        "https://news.yahoo.com/amazon-outage-ap",
    ),
    (
        "a5",
        "Xataka",
        "Caída de Amazon: los usuarios no pueden pagar",
        "es",
        95,
        "page",
        None,
        "https://www.xataka.com/amazon-caida",
    ),
    ("a6", "تك عربي", ARABIC_TITLE, "ar", 150, "page", None, "https://tech-arabi.example/amazon-outage"),
    ("a7", "Evil Daily", HOSTILE_TITLE, "en", 170, "first_seen", None, "javascript:alert(document.cookie)"),
]
TEAMS_ARTICLES = [
    (
        "b1",
        "The Register",
        "Microsoft Teams outage hits Europe",
        "en",
        -60,
        "page",
        None,
        "https://www.theregister.com/teams-outage",
    ),
    ("b2", "heise online", "Microsoft Teams gestört", "de", -40, "feed", None, "https://www.heise.de/teams"),
]
EVIL = "s-evil"
EVIL_ARTICLES = [
    ("e1", "Evil Daily", HOSTILE_TITLE, "en", -180, "feed", None, "https://evil.example/first"),
    ("e2", "Evil Weekly", "Follow-up: " + HOSTILE_TITLE, "en", -170, "feed", None, "data:text/html,<b>x</b>"),
]
CITATIONS = [
    ("a2", "GeekWire", "a1", "link", "https://www.geekwire.com/2026/amazon-checkout-outage/"),
    ("a5", "GeekWire", "a1", "mention", "según informó GeekWire"),
    ("a6", "GeekWire", "a1", "mention", "وفقًا لـ GeekWire"),
    ("a4", "AP", "a3", "mention", "The Associated Press contributed"),
]
STAND_INS = """
CREATE TABLE stories (story_id VARCHAR, headline VARCHAR, first_article_id VARCHAR, first_outlet VARCHAR,
    first_published_at TIMESTAMPTZ, last_published_at TIMESTAMPTZ, n_articles INTEGER, n_outlets INTEGER,
    languages VARCHAR[], first_report_evidence VARCHAR);
CREATE TABLE story_timeline (story_id VARCHAR, article_id VARCHAR, url VARCHAR, outlet VARCHAR, title VARCHAR,
    language VARCHAR, published_at TIMESTAMPTZ, lag_seconds DOUBLE, is_first_report BOOLEAN,
    syndicated_from_article_id VARCHAR);
CREATE TABLE citations (citing_article_id VARCHAR, cited_outlet VARCHAR, cited_article_id VARCHAR, kind VARCHAR,
    evidence VARCHAR);
CREATE TABLE signals (source VARCHAR, service VARCHAR, ts TIMESTAMPTZ, value DOUBLE, kind VARCHAR, text VARCHAR);
CREATE TABLE story_outages (story_id VARCHAR, service VARCHAR, onset_at TIMESTAMPTZ, lag_seconds BIGINT,
    statement_at TIMESTAMPTZ, statement_text VARCHAR, summary VARCHAR);
"""


def build_empty_db(path: Path) -> Path:
    ensure_database(path)
    return path


def build_feeds_db(path: Path) -> Path:
    """Four feeds: one healthy with articles, one failing, one never fetched, one stale."""
    with writer(path) as w:
        rows = [
            ("f1", "https://www.geekwire.com/feed/", "GeekWire", T0, 200, None, 0),
            ("f2", "https://broken.example/rss", "Broken Times", T0, 503, "HTTP 503 Service Unavailable", 4),
            ("f3", "https://new.example/atom", "Newcomer", None, None, None, 0),
            ("f4", "https://sleepy.example/rss", "Sleepy Gazette", T0, 304, None, 0),
        ]
        for feed_id, url, outlet, fetched, status, error, failures in rows:
            w.conn.execute(
                "INSERT INTO feed (feed_id, configured_url, feed_url, outlet, last_fetched_at, last_status, "
                "last_error, consecutive_failures, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [feed_id, url, url, outlet, fetched, status, error, failures, T0 - timedelta(days=30)],
            )
        w.conn.execute("UPDATE feed SET stale = TRUE WHERE feed_id = 'f4'")
        w.conn.execute("UPDATE feed SET next_fetch_after = ? WHERE feed_id = 'f1'", [T0 + timedelta(hours=1)])
        now = datetime.now(UTC)
        for i in range(14):
            insert_article(
                w.conn,
                f"g{i}",
                "GeekWire",
                f"Story {i}",
                "en",
                now - timedelta(hours=i),
                "f1",
                "feed",
                f"https://www.geekwire.com/{i}",
            )
    return path


def insert_article(
    conn: Conn,
    article_id: str,
    outlet: str,
    title: str,
    language: str,
    published_at: datetime,
    feed_id: str | None,
    source: str,
    url: str,
) -> None:
    conn.execute(
        "INSERT INTO article (article_id, url, outlet, feed_id, title, language, published_at, "
        "published_at_source, first_seen_at, page_state, origin, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'extracted', 'feed', ?)",
        [article_id, url, outlet, feed_id, title, language, published_at, source, published_at, published_at],
    )


def build_story_db(path: Path) -> Path:
    """The hand-made world: stand-in tables take the place of the stories/citations/signals views."""
    build_feeds_db(path)
    with writer(path) as w:
        for view in ("stories", "story_timeline", "citations", "signals", "outlet_stats", "story_outages"):
            w.conn.execute(f"DROP VIEW IF EXISTS {view}")
        w.conn.execute(STAND_INS)
        add_story(
            w.conn,
            AMAZON,
            "Amazon.com checkout outage leaves shoppers stuck",
            AMAZON_ARTICLES,
            "GeekWire at 16:38 EDT (page metadata, agrees with its feed); credited as first by "
            "The Verge, Xataka and تك عربي. Costs of $5bn were *not* confirmed.",
        )
        add_story(
            w.conn,
            "s-teams",
            "Microsoft Teams outage hits Europe",
            TEAMS_ARTICLES,
            "The Register at 19:00 UTC (page metadata).",
        )
        add_story(w.conn, EVIL, HOSTILE_TITLE, EVIL_ARTICLES, "Evil Daily first; <b>$1</b> and $2 **bold**")
        for citing, outlet, cited, kind, evidence in CITATIONS:
            w.conn.execute(
                "INSERT INTO citations VALUES (?, ?, ?, ?, ?)", [citing, outlet, cited, kind, evidence]
            )
        add_signals(w.conn)
        # Linked to its service, but without an onset: the app finds the onset itself.
        w.conn.execute("INSERT INTO story_outages (story_id, service) VALUES (?, 'Amazon')", [AMAZON])
    return path


def add_story(conn: Conn, story_id: str, headline: str, articles: list[Row], evidence: str) -> None:
    times = {aid: T0 + timedelta(minutes=minutes) for aid, _, _, _, minutes, _, _, _ in articles}
    first_id = articles[0][0]
    for aid, outlet, title, language, _, source, copy_of, url in articles:
        insert_article(conn, aid, outlet, title, language, times[aid], None, source, url)
        conn.execute(
            "INSERT INTO story_timeline VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                story_id,
                aid,
                url,
                outlet,
                title,
                language,
                times[aid],
                (times[aid] - times[first_id]).total_seconds(),
                aid == first_id,
                copy_of,
            ],
        )
    outlets = {a[1] for a in articles}
    languages = sorted({a[3] for a in articles})
    conn.execute(
        "INSERT INTO stories VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            story_id,
            headline,
            first_id,
            articles[0][1],
            times[first_id],
            max(times.values()),
            len(articles),
            len(outlets),
            languages,
            evidence,
        ],
    )


def add_signals(conn: Conn) -> None:
    """Complaints per minute: noise around 12, a rise from 16:02 New York time, a peak near 17:10."""
    for minute, value in complaint_counts():
        conn.execute(
            "INSERT INTO signals VALUES ('downdetector', 'Amazon', ?, ?, 'complaints', NULL)",
            [T0 + timedelta(minutes=minute), value],
        )


def complaint_counts() -> list[tuple[int, float]]:
    counts = []
    for minute in range(-90, 240, 2):
        noise = (minute * 7919) % 7 - 3
        if minute < 2:
            rise = 0
        elif minute < 70:
            rise = min(900, 14 * (minute - 1))
        else:
            rise = max(40, 900 - 5 * (minute - 70))
        counts.append((minute, float(12 + noise + rise)))
    return counts


def write_signals_csv(path: Path) -> Path:
    """The complaint series of ``add_signals`` as ``ts,count,service``, plus nothing official."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["ts", "count", "service"])
        for minute, value in complaint_counts():
            out.writerow([(T0 + timedelta(minutes=minute)).isoformat(), int(value), "Amazon"])
    return path


STATEMENT = "Checkout errors: we are investigating <b>reports</b> of $0 carts"


def write_status_feed(path: Path) -> Path:
    """The company's status page: one entry, 2 h 22 min after complaints began rising."""
    stamp = (T0 + timedelta(minutes=144)).strftime("%Y-%m-%dT%H:%M:%SZ")
    title = STATEMENT.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>Amazon status</title><id>urn:status</id><updated>" + stamp + "</updated>"
        f"<entry><title>{title}</title><id>urn:status:1</id><updated>{stamp}</updated>"
        f"<published>{stamp}</published></entry></feed>",
        encoding="utf-8",
    )
    return path


def build_pipeline_db(folder: Path) -> Path:
    """The Amazon, Teams and hostile coverage loaded the real way: ``scooptrace import`` (which updates the
    stories and first reports) and ``scooptrace signals import``."""
    db = folder / "pipeline.duckdb"
    for args in (
        ["import", str(write_import_csv(folder / "coverage.csv"))],
        ["signals", "import", str(write_signals_csv(folder / "complaints.csv"))],
        ["signals", "import", str(write_status_feed(folder / "status.atom")), "--service", "Amazon"],
    ):
        result = run_cli(*args, "--db", str(db))
        assert result.returncode == 0, result.stderr
    return db


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOOPTRACE_")}
    return subprocess.run(
        [SCOOPTRACE, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )


def write_import_csv(path: Path) -> Path:
    """The Amazon and Teams articles as an import file (url, title, outlet, published_at, language)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["url", "title", "outlet", "published_at", "language", "summary"])
        for aid, outlet, title, language, minutes, _, _, url in AMAZON_ARTICLES + TEAMS_ARTICLES:
            if not url.startswith("http"):
                url = "https://evil.example/" + aid
            stamp = (T0 + timedelta(minutes=minutes)).isoformat()
            out.writerow([url, title, outlet, stamp, language, title])
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode("utf-8", "replace")


@contextmanager
def serving(db: Path, port: int) -> Iterator[subprocess.Popen[bytes]]:
    """``scooptrace app`` running until the block ends; waits for Streamlit's health check."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOOPTRACE_")}
    command = [SCOOPTRACE, "app", "--db", str(db), "--port", str(port), "--address", "127.0.0.1"]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if get(f"http://127.0.0.1:{port}/_stcore/health")[1] == "ok":
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"app did not start: {output}")
            time.sleep(0.3)
        yield process
    finally:
        stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the server and anything it started (its own session's process group, by its id)."""
    for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        with suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # stragglers of the group, if any
    if process.stdout:
        process.stdout.close()
