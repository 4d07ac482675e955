"""Shared fixtures: a real HTTP server on 127.0.0.1, temp databases, the real CLI, feed and page builders."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from storage.connection import open_reader
from tests.localserver import LocalServer

SCOOPTRACE = str(Path(sys.executable).parent / "scooptrace")


@pytest.fixture
def server() -> Iterator[LocalServer]:
    srv = LocalServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "news.duckdb"


@pytest.fixture
def fast_config(tmp_path: Path) -> Path:
    """Settings for tests: short deadlines so failure cases finish quickly."""
    path = tmp_path / "scooptrace.toml"
    path.write_text(
        "lock_wait_seconds = 1.0\nworkers = 1\n[fetch]\ndeadline_seconds = 2.0\nconnect_timeout_seconds = 1.0\n"
        "backoff_base_seconds = 60.0\npoll_min_seconds = 0.0\npoll_max_seconds = 0.0\n",
        encoding="utf-8",
    )
    return path


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the installed ``scooptrace`` command as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("SCOOPTRACE_")}
    full_env.update(env or {})
    return subprocess.run(
        [SCOOPTRACE, *args], capture_output=True, text=True, timeout=timeout, env=full_env, check=False
    )


def ingest(db_path: Path, feeds: Path, config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    result = run_cli(
        "ingest", "--db", str(db_path), "--feeds", str(feeds), "--config", str(config),
        "--allow-host", "127.0.0.1", "--no-cluster", "--json", *extra,
    )  # fmt: skip
    return result


def rows(db_path: Path, sql: str, params: list[object] | None = None) -> list[tuple[object, ...]]:
    conn = open_reader(db_path)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


@dataclass(frozen=True)
class Item:
    title: str
    link: str
    date: str | None = None
    summary: str | None = None


def rss(items: list[Item], title: str = "Test feed", encoding: str = "utf-8") -> bytes:
    parts = [f'<?xml version="1.0" encoding="{encoding}"?>', '<rss version="2.0"><channel>']
    parts.append(f"<title>{escape(title)}</title><link>https://example.org/</link>")
    for item in items:
        parts.append(f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>")
        if item.date:
            parts.append(f"<pubDate>{escape(item.date)}</pubDate>")
        if item.summary:
            parts.append(f"<description>{escape(item.summary)}</description>")
        parts.append("</item>")
    parts.append("</channel></rss>")
    return "\n".join(parts).encode(encoding)


def page(title: str, paragraphs: int = 12, published: str | None = None, canonical: str | None = None,
         links: str = "", lang: str = "en", sentence: str | None = None) -> bytes:  # fmt: skip
    """A realistic article page: navigation, cookie banner, article body, related links, footer."""
    meta = f'<meta property="article:published_time" content="{published}">' if published else ""
    canon = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    line = sentence or f"Reporting on {title}: engineers said the problem affected many customers for hours."
    body = "".join(
        f"<p>{escape(line)} Paragraph {i} adds detail about the incident.</p>" for i in range(paragraphs)
    )
    html = f"""<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8"><title>{escape(title)} | Site</title>
{meta}{canon}</head><body>
<div class="cookie-banner">We use cookies. <button>Accept</button></div>
<nav><a href="/">Home</a> <a href="/tech">Tech</a> <a href="/business">Business</a></nav>
<article><h1>{escape(title)}</h1>{body}{links}</article>
<aside><h3>Related</h3><ul><li><a href="/other-1">Other story one</a></li><li><a href="/other-2">Two</a></li></ul></aside>
<footer>Copyright Example Media. <a href="/privacy">Privacy</a></footer></body></html>"""
    return html.encode("utf-8")


def opml(path: Path, feeds: list[tuple[str, str]], language: str = "en") -> Path:
    outlines = "".join(
        f'<outline text="{escape(name)}" xmlUrl="{escape(url)}" language="{language}"/>\n'
        for name, url in feeds
    )
    path.write_text(f'<?xml version="1.0"?>\n<opml version="2.0"><head/><body>\n{outlines}</body></opml>\n')
    return path
