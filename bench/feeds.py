"""Feed-crawling benchmark: one `scooptrace ingest` cycle over 10,000 feeds on loopback.

A server process answers on HOSTS addresses (127.0.1.1, 127.0.1.2, ...) with FEEDS feeds each, after a
simulated round trip (default 20 ms: at zero latency two requests in flight look as fast as thirty-two).
Every feed has an ETag and answers 304 to a matching If-None-Match. robots.txt disallows every page, so
only feed work is measured. Three cycles, each a whole `scooptrace ingest --no-cluster` in a fresh process:
  1. first sight: every feed answers 200 with 5 entries (50,000 new articles);
  2. nothing changed: every feed answers 304;
  3. 1% of the feeds have one new entry, the rest answer 304.
For each: seconds, requests per second, peak RSS of the ingest process and of its largest worker.

    .venv/bin/python bench/feeds.py [--hosts 200] [--feeds 50] [--rtt-ms 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import socket
import subprocess
import sys
import tempfile
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path

# This script is bench/feeds.py: keep its folder off the path so `ingest` is the project's package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

ENTRIES = 5  # entries in every feed at first sight
NEW_EVERY = 100  # in cycle 3, one feed in this many has a new entry
ROBOTS = b"User-agent: *\nDisallow: /\n"


def host_address(index: int) -> str:
    return f"127.0.1.{index + 1}"


def feed_body(origin: str, feed: int, entries: int) -> bytes:
    items = "".join(
        f"<item><title>Story {i} of feed {feed}</title>"
        f"<link>http://{origin}/f{feed}/story-{i}</link>"
        f"<pubDate>Tue, 01 Dec 2026 {i % 24:02d}:{feed % 60:02d}:00 +0000</pubDate></item>"
        for i in range(entries)
    )
    return (f"<?xml version='1.0'?><rss version='2.0'><channel><title>Feed {feed}</title>{items}"
            "</channel></rss>").encode()  # fmt: skip


def reply(origin: str, path: str, headers: dict[str, str], cycle: int) -> tuple[int, bytes, str]:
    """(status, body, extra header lines) for one request in the given cycle."""
    if path == "/robots.txt":
        return 200, ROBOTS, "Content-Type: text/plain\r\n"
    if not (path.startswith("/f") and path.endswith("/feed.xml")):
        return 404, b"not found", ""
    feed = int(path[2:].split("/")[0])
    entries = ENTRIES + (1 if cycle >= 3 and feed % NEW_EVERY == 0 else 0)
    etag = f'"{feed}-{entries}"'
    if headers.get("if-none-match") == etag:
        return 304, b"", f"ETag: {etag}\r\n"
    return 200, feed_body(origin, feed, entries), f"ETag: {etag}\r\nContent-Type: application/rss+xml\r\n"


async def handle(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rtt: float, cycle: Synchronized,
    served: Synchronized, connections: Synchronized,
) -> None:  # fmt: skip
    host, port = writer.get_extra_info("sockname")[:2]
    origin = f"{host}:{port}"
    with connections.get_lock():
        connections.value += 1
    try:
        while True:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            path = head[0].split(" ")[1]
            headers = {
                k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:] if line)
            }
            await asyncio.sleep(rtt)  # the simulated round trip
            status, body, extra = reply(origin, path, headers, cycle.value)
            with served.get_lock():
                served.value += 1
            writer.write(
                f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n{extra}\r\n".encode("latin-1") + body
            )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, IndexError):
        pass
    finally:
        writer.close()


def serve(
    hosts: int, port: int, rtt: float, cycle: Synchronized, served: Synchronized, connections: Synchronized
) -> None:
    async def main() -> None:
        addresses = [host_address(i) for i in range(hosts)]
        server = await asyncio.start_server(
            lambda r, w: handle(r, w, rtt, cycle, served, connections),
            host=addresses,
            port=port,
            backlog=1024,
        )
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((host_address(0), 0))
        return int(sock.getsockname()[1])


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
                  "self_cpu": me.ru_utime + me.ru_stime}), file=sys.stderr)
"""


def descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, frontier = [], [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            found.append(child)
            frontier.append(child)
    return found


def peak_rss_mb(pid: int) -> float:
    """VmHWM: the peak resident set of a process so far."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_cycle(db: Path, feeds_file: Path, config: Path) -> tuple[float, dict[str, float], dict[str, int]]:
    """One ingest in a fresh process; its peak memory, and that of its largest worker (sampled from /proc:
    the workers are the fork server's children, not ours)."""
    args = ["ingest", "--db", str(db), "--feeds", str(feeds_file), "--config", str(config),
            "--allow-host", "127.0.1.0/24", "--no-cluster", "--no-progress", "--json"]  # fmt: skip
    started = time.perf_counter()
    log = db.with_suffix(".log")
    with open(log, "w") as err, open(db.with_suffix(".json"), "w+") as out:
        proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, *args], stdout=out, stderr=err)
        worker_mb = 0.0
        while proc.poll() is None:
            worker_mb = max([worker_mb, *(peak_rss_mb(pid) for pid in descendants(proc.pid))])
            time.sleep(0.2)
        elapsed = time.perf_counter() - started
        out.seek(0)
        stdout = out.read()
    stderr = log.read_text()
    memory = json.loads(stderr.strip().splitlines()[-1])
    memory["worker_mb"] = worker_mb
    if memory["code"] != 0:
        raise SystemExit(f"ingest failed (exit {memory['code']}):\n{stderr[-3000:]}")
    return elapsed, memory, json.loads(stdout)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hosts", type=int, default=200)
    parser.add_argument("--feeds", type=int, default=50, help="feeds per host")
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    options = parser.parse_args()
    port = free_port()
    cycle = multiprocessing.Value("i", 1)
    served = multiprocessing.Value("l", 0)
    connections = multiprocessing.Value("l", 0)
    server = multiprocessing.Process(
        target=serve,
        args=(options.hosts, port, options.rtt_ms / 1000, cycle, served, connections),
        daemon=True,
    )
    server.start()
    time.sleep(1.0)
    total = options.hosts * options.feeds
    print(
        f"{total} feeds on {options.hosts} hosts, {options.rtt_ms:g} ms round trip; {multiprocessing.cpu_count()} cores"
    )
    print(
        f"{'cycle':38}{'seconds':>9}{'requests':>10}{'conns':>7}{'req/s':>8}{'main MB':>9}{'worker MB':>10}  result"
    )
    with tempfile.TemporaryDirectory() as tmp:
        outlines = "".join(
            f'<outline text="Outlet {h}" xmlUrl="http://{host_address(h)}:{port}/f{h * options.feeds + f}/feed.xml"/>'
            for h in range(options.hosts)
            for f in range(options.feeds)
        )
        feeds_file = Path(tmp) / "feeds.opml"
        feeds_file.write_text(f'<opml version="2.0"><head/><body>{outlines}</body></opml>')
        config = Path(tmp) / "bench.toml"
        # Cycles run back to back: every feed is due every cycle (no polling interval).
        config.write_text("[fetch]\npoll_min_seconds = 0.0\npoll_max_seconds = 0.0\n")
        names = {1: "1. first sight (all 200, 5 entries)", 2: "2. nothing changed (all 304)",
                 3: f"3. 1% new ({total // NEW_EVERY} feeds), rest 304"}  # fmt: skip
        for number in (1, 2, 3):
            cycle.value = number
            before, opened = served.value, connections.value
            seconds, memory, summary = run_cycle(Path(tmp) / "feeds.duckdb", feeds_file, config)
            requests, opened = served.value - before, connections.value - opened
            result = (f"{summary['feeds_fetched']} fetched, {summary['feeds_unchanged']} unchanged,"
                      f" {summary['feeds_failed']} failed, {summary['new_articles']} new")  # fmt: skip
            print(f"{names[number]:38}{seconds:9.1f}{requests:10d}{opened:7d}{requests / seconds:8.0f}"
                  f"{memory['self_mb']:9.0f}{memory['worker_mb']:10.0f}  {result}")  # fmt: skip
    server.terminate()
    server.join()


if __name__ == "__main__":
    main()
