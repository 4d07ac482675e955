"""Databases for the app tests, all made through the real storage.

``build_story_db`` makes a world in which every detail is known (the Amazon checkout outage of DESIGN.md with
English, Spanish and Arabic coverage, a wire copy, citations, complaint counts, a hostile title) through the real
stages: ``scooptrace import`` of the coverage (stories, first reports, citations, spread figures) and the
signals import of the complaint counts, so every view the app reads has all its real columns.
``build_pipeline_db`` loads a similar world through the CLI in subprocesses.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from cluster.report_store import import_signals, update_reports
from cluster.signals import parse_counts_csv
from cluster.stories import story_id_for
from common.settings import load_settings
from common.urls import normalize_url, stable_id
from scooptrace.pipeline import import_file
from storage.connection import data_folder_for, ensure_database, writer

SCOOPTRACE = str(Path(sys.executable).parent / "scooptrace")
Conn = duckdb.DuckDBPyConnection
Row = tuple[Any, ...]
T0 = datetime(2026, 10, 6, 20, 0, tzinfo=UTC)  # 16:00 in New York: complaints start rising
HOSTILE_TITLE = (
    "<script>window.__pwned = 1</script> Checkout down, $5bn at stake "
    '<img src=x onerror="window.__pwned = 2"> [click](javascript:alert(1))'
)
HOSTILE_OUTLET = "Evil <b>Weekly</b> $2 **bold**"
ARABIC_TITLE = "عطل في أمازون يمنع المتسوقين من إتمام الشراء، وفقًا لـ GeekWire"

# (article_id, outlet, title, language, minutes after T0, how its time is known, the article it copies, url);
# the import gives every article a feed-date claim and the clustering finds the copy by itself.
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
# Three days before the outage, so its story is closed when the outage begins.
EVIL_ARTICLES = [
    ("e1", "Evil Daily", HOSTILE_TITLE, "en", -4320, "feed", None, "https://evil.example/first"),
    (
        "e2",
        HOSTILE_OUTLET,
        "Follow-up: " + HOSTILE_TITLE,
        "en",
        -4310,
        "feed",
        None,
        "data:text/html,<b>x</b>",
    ),
]
ALL_ARTICLES = AMAZON_ARTICLES + TEAMS_ARTICLES + EVIL_ARTICLES
# URLs no import accepts, planted in the article table: a database the app must survive.
HOSTILE_URLS = {a[0]: a[7] for a in ALL_ARTICLES if not a[7].startswith("http")}


def import_url(article_id: str, url: str) -> str:
    """The URL the import stores: an http(s) stand-in for a URL no import accepts."""
    return url if url.startswith("http") else f"https://evil.example/{article_id}"


# The ids the real stages give: an article's is a digest of its URL, a story's one of its founding article's.
ARTICLE_IDS = {a[0]: stable_id(normalize_url(import_url(a[0], a[7]))) for a in ALL_ARTICLES}
AMAZON = story_id_for(ARTICLE_IDS["a1"])
TEAMS = story_id_for(ARTICLE_IDS["b1"])
EVIL = story_id_for(ARTICLE_IDS["e1"])

# The article bodies the real stages read: The Verge credits GeekWire as first, Xataka and the Arabic title
# cite it, Yahoo News runs AP's wire copy word for word (so the clustering marks it a copy, and its credit line
# is a citation of AP); Evil Daily's hostile title is about the same outage.
AP_WIRE = (
    "SEATTLE (AP) - Amazon said some customers could not complete purchases on its website on Tuesday and that "
    "it was working on a fix. The company gave no cause for the checkout errors, which began in the afternoon "
    "and left carts stuck at the payment step. The Associated Press contributed to this report."
)
TEXTS = {
    "a1": "Shoppers on Amazon.com could not complete purchases on Tuesday afternoon: the checkout page kept "
    "returning an error after the cart was filled. Amazon did not answer questions about the cause.",
    "a2": "Amazon's checkout has been failing for many shoppers this afternoon. The outage was first reported by "
    "GeekWire, whose readers could not pay for their carts.",
    "a3": AP_WIRE,
    "a4": AP_WIRE,
    "a5": "Los usuarios de Amazon no pueden completar sus compras desde la tarde del martes, según informó "
    "GeekWire. La página de pago devuelve un error.",
    "a6": ARABIC_TITLE + ". لم يتمكن المتسوقون من إتمام عمليات الشراء على موقع أمازون مساء الثلاثاء.",
    "a7": "Amazon checkout outage: shoppers stuck, Amazon.com cannot complete purchases.",
}


def build_empty_db(path: Path) -> Path:
    """A just-migrated database: every table and view, no rows."""
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
    """The known world, made by the real stages (see ``make_story_db``); built once per test process and
    copied, because the stages take seconds."""
    global _STORY_TEMPLATE
    if _STORY_TEMPLATE is None or not _STORY_TEMPLATE.exists():
        folder = Path(tempfile.mkdtemp(prefix="scooptrace-story-"))
        _STORY_TEMPLATE = make_story_db(folder / "story.duckdb")
    copy_database(_STORY_TEMPLATE, path)
    return path


_STORY_TEMPLATE: Path | None = None


def make_story_db(path: Path) -> Path:
    """``scooptrace import`` (scooptrace.pipeline.import_file) of the coverage (articles, stories, first reports, citations), two URLs no import
    accepts planted in the article table (a hostile database the app must survive), then ``scooptrace
    signals import`` of the complaint counts (the story lined up with its outage)."""
    settings = load_settings(db=str(path), env={})
    csv_path = write_story_csv(path.with_name(path.stem + "-coverage.csv"))
    import_file(settings, csv_path, fmt=None, cluster=True)
    with writer(path) as w:
        for aid, url in HOSTILE_URLS.items():
            w.conn.execute("UPDATE article SET url = ? WHERE article_id = ?", [url, ARTICLE_IDS[aid]])
    complaints = write_signals_csv(path.with_name(path.stem + "-complaints.csv"))
    points = parse_counts_csv(complaints.read_text(encoding="utf-8"), complaints.name, "Amazon").points
    with writer(path) as w:
        import_signals(w.conn, points)
        update_reports(w.conn)
    return path


def copy_database(source: Path, target: Path) -> None:
    """A copy of a SQLite-catalog DuckLake: the catalog, its data folder, and the data path it records."""
    target_files = data_folder_for(target)
    shutil.copyfile(source, target)
    shutil.copytree(data_folder_for(source), target_files)
    with closing(sqlite3.connect(target)) as catalog, catalog:
        catalog.execute(
            "UPDATE ducklake_metadata SET value = ? WHERE key = 'data_path'",
            [str(target_files.absolute()) + "/"],
        )


def write_story_csv(path: Path) -> Path:
    """Every article of the world as an import file, with the bodies the citations and copies come from."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["url", "title", "outlet", "published_at", "language", "text"])
        for aid, outlet, title, language, minutes, _, _, url in ALL_ARTICLES:
            stamp = (T0 + timedelta(minutes=minutes)).isoformat()
            out.writerow([import_url(aid, url), title, outlet, stamp, language, TEXTS.get(aid, "")])
    return path


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
            stamp = (T0 + timedelta(minutes=minutes)).isoformat()
            out.writerow([import_url(aid, url), title, outlet, stamp, language, title])
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
