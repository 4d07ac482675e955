"""Story clustering at scale: time and peak memory for 10k, 100k and 1M articles, side by side in one run.

Articles are real headline wording (../shared/data/uci-slugs-dev.csv when present, and the bundled outage set
tests/data/cluster_outages.csv) repeated in copies shifted by three days, so each copy meets the same mix of
stories and confusable neighbours while earlier copies' stories close. Each size runs in a fresh process, so
peak memory (max RSS, interpreter included) is its own.

    .venv/bin/python bench/cluster.py                 # core, 10k / 100k / 1M
    .venv/bin/python bench/cluster.py --store         # also update_stories on a DuckDB file (10k / 100k)
    .venv/bin/python bench/cluster.py --cores compiled  # only the compiled core (default: compiled and pure)

"core" runs everything in one process; "core+fx" featurises on a spare core meanwhile (cluster.parallel),
which is what ``update_stories`` does for large batches. "main cpu" is the clustering process's CPU time:
under load from other programs, wall time grows but that does not.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [
    ROOT.parent / "shared" / "data" / "uci-slugs-dev.csv",
    ROOT / "tests" / "data" / "cluster_outages.csv",
]
START = datetime(2024, 1, 1, tzinfo=UTC)
COPY_SHIFT = timedelta(days=3)  # longer than a story stays open, so copies never merge
COPY_SPREAD_SECONDS = 86_400  # one copy's articles are spread over a day


def headlines() -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in SOURCES:
        if path.exists():
            with open(path, newline="", encoding="utf-8") as handle:
                rows.extend(csv.DictReader(handle))
    return rows


def articles(n: int, rows: list[dict[str, str]]) -> Iterator[object]:
    """``n`` articles in processing order (time, then id)."""
    from cluster.model import ArticleIn

    step = COPY_SPREAD_SECONDS / len(rows)
    made = copy = 0
    while made < n:
        batch = []
        for i, row in enumerate(rows[: n - made]):
            offset = (i * 7919) % len(rows) * step  # a fixed shuffle of the rows across the day
            batch.append(
                ArticleIn(
                    article_id=f"{copy:06d}-{i:05d}",
                    title=row["title"],
                    published_at=START + copy * COPY_SHIFT + timedelta(seconds=offset),
                    outlet=row.get("outlet", ""),
                    language=row.get("language") or None,
                    text=row.get("text", ""),
                )
            )
        batch.sort(key=lambda a: a.sort_key)
        yield from batch
        made += len(batch)
        copy += 1


def run_core(n: int, workers: int | None) -> dict[str, float]:
    from cluster.stories import Clusterer, merge_targets

    batch = list(articles(n, headlines()))
    clusterer = Clusterer()
    clusterer.features(batch[0])  # type: ignore[arg-type]  # load the word lists before timing
    started = time.perf_counter()
    cpu = time.process_time()
    assignments = clusterer.add_all(batch, workers=workers)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "cpu": time.process_time() - cpu,
        # stories merged away by the merge pass are not stories any more
        "stories": len({a.story_id for a in assignments} - merge_targets(assignments).keys()),
    }


def prepare_store(n: int, path: Path) -> None:
    """A database file holding ``n`` articles (in its own process, so its memory is not measured)."""
    import pyarrow as pa

    from storage import connection as db

    rows = list(articles(n, headlines()))
    table = pa.table(
        {
            "article_id": [a.article_id for a in rows],  # type: ignore[attr-defined]
            "title": [a.title for a in rows],  # type: ignore[attr-defined]
            "published_at": [a.published_at for a in rows],  # type: ignore[attr-defined]
            "outlet": [a.outlet for a in rows],  # type: ignore[attr-defined]
            "language": [a.language for a in rows],  # type: ignore[attr-defined]
            "text": [a.text for a in rows],  # type: ignore[attr-defined]
        }
    )
    now = datetime.now(UTC)
    with db.writer(path) as w:
        w.conn.register("bench_rows", table)
        w.conn.execute(
            "INSERT INTO article (article_id, url, outlet, title, language, published_at, published_at_source, "
            "first_seen_at, text, page_state, origin, updated_at) SELECT article_id, 'https://x/' || article_id, "
            "outlet, title, language, published_at, 'feed', ?, text, 'not_fetched', 'import', ? FROM bench_rows",
            [now, now],
        )
        w.conn.unregister("bench_rows")


def run_store(n: int) -> dict[str, float]:
    from cluster.store import update_stories
    from storage import connection as db

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.duckdb"
        subprocess.run([sys.executable, __file__, "--prepare", str(n), str(path)], check=True, cwd=ROOT)
        with db.writer(path) as w:
            started = time.perf_counter()
            cpu = time.process_time()
            summary = update_stories(w.conn, workers=None)
            seconds = time.perf_counter() - started
            cpu = time.process_time() - cpu
            # then what an ingest run does: 1,000 new articles into the full database, incrementally
            w.conn.execute(
                "INSERT INTO article SELECT * REPLACE (article_id || '+' AS article_id, url || '+' AS url, "
                "published_at + INTERVAL 3 DAY AS published_at) FROM article ORDER BY published_at DESC LIMIT 1000"
            )
            started = time.perf_counter()
            update_stories(w.conn)
            incremental = time.perf_counter() - started
        return {"seconds": seconds, "cpu": cpu, "stories": summary.stories_total, "plus_1k": incremental}


def child(mode: str, n: int) -> None:
    workers = 0 if mode == "core" else None
    result = run_store(n) if mode == "store" else run_core(n, workers=workers)
    result["peak_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def child_core() -> None:
    from cluster import native

    print(native.status())


def core_env(core: str) -> dict[str, str]:
    """The environment of a child process running the ``compiled`` or the ``pure`` core."""
    return {**os.environ, "SCOOPTRACE_PURE_PYTHON": "1" if core == "pure" else ""}


def measure(mode: str, n: int, core: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(n)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env=core_env(core),
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def core_status(core: str) -> str:
    done = subprocess.run(
        [sys.executable, __file__, "--core"], capture_output=True, text=True, cwd=ROOT, env=core_env(core)
    )
    return done.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--store", action="store_true", help="also time update_stories on a DuckDB file")
    parser.add_argument("--store-sizes", default="10000,100000")
    parser.add_argument(
        "--cores",
        default="compiled,pure",
        help="which clustering cores to time, each size side by side: compiled (cluster.native), pure",
    )
    parser.add_argument(
        "--modes", default="core,core+fx", help="which of core, core+fx to time (default both)"
    )
    parser.add_argument("--core", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", nargs=2, metavar=("MODE", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--prepare", nargs=2, metavar=("N", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare:
        prepare_store(int(args.prepare[0]), Path(args.prepare[1]))
        return
    if args.core:
        child_core()
        return
    if args.child:
        child(args.child[0], int(args.child[1]))
        return
    cores = [core.strip() for core in args.cores.split(",") if core.strip()]
    for core in cores:
        status = core_status(core)
        print(f"{core} core: {status}")
        if core == "compiled" and not status.startswith("compiled"):
            raise SystemExit(
                "the compiled core is not in use here: `make native` builds it (or --cores pure)"
            )
    modes = [mode.strip() for mode in args.modes.split(",") if mode.strip()]
    plan = [(mode, int(n)) for mode in modes for n in args.sizes.split(",") if n.strip()]
    if args.store:
        plan += [("store", int(n)) for n in args.store_sizes.split(",")]
    print(
        f"{'what':<9}{'core':<10}{'articles':>10}{'seconds':>9}{'main cpu':>10}{'us/article':>12}{'peak MiB':>10}"
        f"{'stories':>10}{'+1k new, s':>12}"
    )
    for mode, n in plan:
        cpu: dict[str, float] = {}
        for core in cores:  # each size under every core one after the other: the same machine load
            r = measure(mode, n, core)
            cpu[core] = r["cpu"]
            print(
                f"{mode:<9}{core:<10}{n:>10,}{r['seconds']:>9.1f}{r['cpu']:>10.1f}{r['seconds'] / n * 1e6:>12.1f}"
                f"{r['peak_mib']:>10.0f}{int(r['stories']):>10,}"
                + (f"{r['plus_1k']:>12.2f}" if "plus_1k" in r else ""),
                flush=True,
            )
        if {"compiled", "pure"} <= cpu.keys() and cpu["compiled"]:
            print(f"{'':<9}{'pure/compiled main cpu: ' + format(cpu['pure'] / cpu['compiled'], '.2f') + 'x'}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
