"""Ingest benchmark: the whole `scooptrace ingest` against bare trafilatura extraction of the same pages.

A local server (127.0.0.1 only) serves OUTLETS feeds of ARTICLES entries each, with realistic ~80-100 KB
article pages. Measured side by side in one run, on the same cores, each as a whole command in a fresh process:
  1. bare trafilatura: a script that extracts the same pages from local files in a process pool (one worker
     per core, the same extraction parameters);
  2. `scooptrace ingest --no-cluster`: HTTP, feed parsing, robots.txt, extraction, DuckDB writes, publish;
  3. a second `scooptrace ingest` where nothing changed (every feed answers 304, no page fetched).
The figure is the ratio of 2 to 1 in articles per second. Peak memory is the max RSS of the ingest process
and of its largest extraction worker.

    .venv/bin/python bench/ingest.py [--outlets 20] [--articles 30]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

# This script is bench/ingest.py: keep its folder off the path so `ingest` is the project's package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

WORDS = (
    "outage checkout shoppers service engineers cloud region customers payment error status page company "
    "report users complaints minutes hours restored problem network database servers retail platform "
    "holiday traffic spike mobile app website orders cart login failure spokesperson statement update "
    "investigation cause configuration deployment rollback monitoring incident response teams regional"
).split()


def paragraph(rng: random.Random, sentences: int) -> str:
    out = []
    for _ in range(sentences):
        words = [rng.choice(WORDS) for _ in range(rng.randint(12, 24))]
        out.append(" ".join(words).capitalize() + ".")
    return " ".join(out)


def article_page(rng: random.Random, outlet: int, index: int, title: str, published: str) -> bytes:
    """About 100 KB: a long article inside heavy real-world boilerplate (menus, scripts, related links)."""
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(120))
    related = "".join(
        f'<li><a href="/o{outlet}/related/{i}">{escape(paragraph(rng, 1))}</a></li>' for i in range(60)
    )
    script = "<script>window.__STATE__=" + '{"k":"' + "x" * 30000 + '"};</script>'
    body = "".join(f"<p>{paragraph(rng, 6)}</p>" for _ in range(28))
    html = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>
<meta property="article:published_time" content="{published}"><link rel="canonical" href="/o{outlet}/a{index}">
<style>{"body{margin:0}" * 400}</style>{script}</head><body>
<div class="cookie">We use cookies <button>OK</button></div><header><ul class="menu">{nav}</ul></header>
<main><article><h1>{escape(title)}</h1><p class="byline">By Staff</p>{body}</article>
<aside><ul>{related}</ul></aside></main><footer>{paragraph(rng, 8)}</footer></body></html>"""
    return html.encode()


def build_world(outlets: int, articles: int) -> tuple[dict[str, bytes], dict[str, bytes]]:
    rng = random.Random(42)
    pages: dict[str, bytes] = {}
    feeds: dict[str, bytes] = {}
    for outlet in range(outlets):
        items = []
        for index in range(articles):
            title = f"{paragraph(rng, 1)[:80]} ({outlet}-{index})"
            published = f"2025-10-{1 + index % 28:02d}T{index % 24:02d}:15:00-04:00"
            path = f"/o{outlet}/a{index}"
            pages[path] = article_page(rng, outlet, index, title, published)
            items.append(f"<item><title>{escape(title)}</title><link>http://127.0.0.1:{{port}}{path}</link>"
                         f"<pubDate>Mon, 06 Oct 2025 16:05:00 -0400</pubDate></item>")  # fmt: skip
        feeds[f"/o{outlet}/feed.xml"] = ("<rss version='2.0'><channel><title>Outlet</title>" + "".join(items)
                                         + "</channel></rss>").encode()  # fmt: skip
    return feeds, pages


def serve(feeds: dict[str, bytes], pages: dict[str, bytes]) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            port = self.server.server_address[1]
            body = feeds.get(self.path)
            if body is not None:
                body = body.replace(b"{port}", str(port).encode())
                etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    self.send_response(304)
                    self.send_header("ETag", etag)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self._reply(body, "application/rss+xml", etag)
            elif self.path in pages:
                self._reply(pages[self.path], "text/html; charset=utf-8", None)
            else:
                self._reply(b"not found", "text/plain", None, 404)

        def _reply(self, body: bytes, kind: str, etag: str | None, status: int = 200) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


BARE_SCRIPT = """
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import trafilatura

PARAMS = {"outputformat": "%Y-%m-%dT%H:%M:%S%z", "original_date": True, "extensive_search": False}


def extract(path):
    html = Path(path).read_bytes()
    doc = trafilatura.bare_extraction(html, url="http://127.0.0.1/" + Path(path).name, include_links=True,
                                      with_metadata=True, date_extraction_params=PARAMS)
    return doc is not None


if __name__ == "__main__":
    files = sorted(str(p) for p in Path(sys.argv[1]).glob("*.html"))
    with ProcessPoolExecutor(max_workers=int(sys.argv[2])) as pool:
        assert all(pool.map(extract, files, chunksize=4))
"""


def run_bare(pages: dict[str, bytes], workers: int, tmp: Path) -> float:
    """Bare trafilatura as a whole command too: a fresh process that extracts the same pages in a pool of
    one worker per core (same extraction parameters as ingest), with its own start-up and imports."""
    folder = tmp / "pages"
    folder.mkdir()
    for path, body in pages.items():
        (folder / (path.strip("/").replace("/", "_") + ".html")).write_bytes(body)
    script = tmp / "bare.py"
    script.write_text(BARE_SCRIPT)
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script), str(folder), str(workers)], check=True)
    return time.perf_counter() - started


LAUNCHER = """
import json, resource, sys
from scooptrace.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    code = exc.code
me = resource.getrusage(resource.RUSAGE_SELF)
kids = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": code, "self_mb": me.ru_maxrss / 1024, "worker_mb": kids.ru_maxrss / 1024,
                  "self_cpu": me.ru_utime + me.ru_stime, "worker_cpu": kids.ru_utime + kids.ru_stime}),
      file=sys.stderr)
"""


def tree_sample(root: int, seen: dict[int, tuple[float, float]]) -> None:
    """Peak RSS (MB) and CPU seconds of every descendant of ``root`` now, kept per pid: the extraction
    workers are the fork server's children, so RUSAGE_CHILDREN never counts them."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    frontier = [root]
    while frontier:
        for pid in children.get(frontier.pop(), []):
            frontier.append(pid)
            cpu = (int(stats[pid][11]) + int(stats[pid][12])) / os.sysconf("SC_CLK_TCK")
            try:
                status = Path(f"/proc/{pid}/status").read_text()
                hwm = next(int(x.split()[1]) / 1024 for x in status.splitlines() if x.startswith("VmHWM:"))
            except (OSError, StopIteration):
                hwm = 0.0
            old_hwm, old_cpu = seen.get(pid, (0.0, 0.0))
            seen[pid] = (max(old_hwm, hwm), max(old_cpu, cpu))


def run_ingest(db: Path, feeds_file: Path) -> tuple[float, dict[str, float]]:
    import json

    args = ["ingest", "--db", str(db), "--feeds", str(feeds_file), "--allow-host", "127.0.0.1",
            "--no-cluster", "--no-progress"]  # fmt: skip
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", LAUNCHER, *args], stdout=subprocess.DEVNULL, stderr=err
        )
        seen: dict[int, tuple[float, float]] = {}
        while proc.poll() is None:
            tree_sample(proc.pid, seen)
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        err.seek(0)
        stderr = err.read()
    memory = json.loads(stderr.strip().splitlines()[-1])
    if memory["code"] != 0:
        raise SystemExit(f"ingest failed:\n{stderr[-3000:]}")
    if seen:  # sampled: workers of a fork server are not our children
        memory["worker_mb"] = max(memory["worker_mb"], max(hwm for hwm, _cpu in seen.values()))
        memory["worker_cpu"] = max(memory["worker_cpu"], sum(cpu for _hwm, cpu in seen.values()))
    return elapsed, memory


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--outlets", type=int, default=20)
    parser.add_argument("--articles", type=int, default=30)
    options = parser.parse_args()
    feeds, pages = build_world(options.outlets, options.articles)
    workers = os.cpu_count() or 1
    httpd = serve(feeds, pages)
    port = httpd.server_address[1]
    mean_kb = sum(len(b) for b in pages.values()) / len(pages) / 1024
    print(f"{len(pages)} pages of {mean_kb:.0f} KB on average from {len(feeds)} feeds; {workers} cores")
    with tempfile.TemporaryDirectory() as tmp:
        feeds_file = Path(tmp) / "feeds.opml"
        outlines = "".join(f'<outline text="Outlet {p}" xmlUrl="http://127.0.0.1:{port}{p}"/>' for p in feeds)
        feeds_file.write_text(f'<opml version="2.0"><head/><body>{outlines}</body></opml>')
        bare = run_bare(pages, workers, Path(tmp))
        full, memory = run_ingest(Path(tmp) / "bench.duckdb", feeds_file)
        unchanged, _ = run_ingest(Path(tmp) / "bench.duckdb", feeds_file)
    httpd.shutdown()
    n = len(pages)
    print(f"{'':34}{'seconds':>9}{'articles/s':>12}")
    print(f"{'bare trafilatura (pool of ' + str(workers) + ')':34}{bare:9.2f}{n / bare:12.1f}")
    print(f"{'scooptrace ingest (whole run)':34}{full:9.2f}{n / full:12.1f}")
    print(f"ratio ingest / bare: {bare / full:.2f}")
    print(f"second run, nothing changed (all 304): {unchanged:.2f} s")
    print(f"peak RSS: ingest process {memory['self_mb']:.0f} MB, largest worker {memory['worker_mb']:.0f} MB")
    print(
        f"CPU seconds of the ingest run: main process {memory['self_cpu']:.1f}, workers {memory['worker_cpu']:.1f}"
    )


if __name__ == "__main__":
    main()
