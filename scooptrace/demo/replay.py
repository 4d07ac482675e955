"""The replay: serve the demo world, run ingest rounds over real HTTP as cron would, import the outage
signals, and (unless told not to) serve the app on the resulting database.

Every step runs the real command line in a subprocess, exactly as a user or cron would, so the demo
exercises the same code paths as production: conditional GET, robots.txt, extraction, clustering.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from common.errors import ScooptraceError
from common.text import plural
from scooptrace import __version__
from scooptrace.demo.model import World
from scooptrace.demo.render import render_opml, render_status_feed
from scooptrace.demo.server import DemoClock, DemoServer, running

Echo = Callable[[str], None]
DEFAULT_ROOT = Path("build") / "demo"
DEFAULT_WORLD_PORT = 8599
CENTRE_URL_SUFFIX = "/o/geekwire/news/amazon-com-checkout-outage-shoppers"
# Settings for the ingest runs of the demo: every outlet is on 127.0.0.1, so one host serves ~60 pages.
DEMO_WATCH = "Amazon outage"
# Rounds run back to back on a simulated clock, so every feed is due every round (no polling interval).
DEMO_CONFIG = "[fetch]\nper_host_concurrency = 8\ndeadline_seconds = 20.0\npoll_min_seconds = 0.0\npoll_max_seconds = 0.0\n"


@dataclass(frozen=True)
class DemoPaths:
    """Where the demo keeps what it builds (``build/demo`` by default; ignored by git)."""

    root: Path
    db: Path

    @classmethod
    def at(cls, db: Path | None, root: Path = DEFAULT_ROOT) -> DemoPaths:
        return cls(root=root, db=db if db is not None else root / "scooptrace-demo.duckdb")

    @property
    def opml(self) -> Path:
        return self.root / "world.opml"

    @property
    def config(self) -> Path:
        return self.root / "demo-settings.toml"

    @property
    def complaints(self) -> Path:
        return self.root / "complaints.csv"

    @property
    def stamp(self) -> Path:
        return self.root / "stamp.json"

    def status_feed(self, slug: str) -> Path:
        return self.root / f"status-{slug}.atom"


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def unknown_command(self) -> bool:
        return self.returncode == 2 and "No such command" in self.stderr


def build_fingerprint(world: World) -> str:
    """The world's data plus the code that renders it: a change to either means the demo is rebuilt."""
    digest = hashlib.sha256(world.fingerprint.encode())
    digest.update(__version__.encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_up_to_date(paths: DemoPaths, world: World) -> bool:
    if not paths.db.exists() or not paths.stamp.exists():
        return False
    try:
        stamp = json.loads(paths.stamp.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return stamp.get("fingerprint") == build_fingerprint(world) and stamp.get("db") == str(paths.db.resolve())


def write_stamp(paths: DemoPaths, world: World, world_port: int) -> None:
    stamp = {"fingerprint": build_fingerprint(world), "db": str(paths.db.resolve()), "world_port": world_port}
    paths.stamp.write_text(json.dumps(stamp, indent=2) + "\n", encoding="utf-8")


def remove_database(db: Path) -> None:
    """Start from nothing: the published file, the writer's working copy and the lock file."""
    for path in [db, *db.parent.glob(db.name + ".*"), *db.parent.glob(f".{db.name}.*.tmp")]:
        if path.is_file():
            path.unlink()


def run_cli(args: Sequence[str], python: str = sys.executable) -> CliResult:
    """Run ``scooptrace ARGS`` in a fresh interpreter, as cron would."""
    command = [python, "-c", "from scooptrace.cli import main; main()", *args]
    env = {k: v for k, v in os.environ.items() if k not in ("SCOOPTRACE_DB", "SCOOPTRACE_CONFIG")}
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    return CliResult(completed.returncode, completed.stdout, completed.stderr)


def write_inputs(world: World, server: DemoServer, paths: DemoPaths) -> None:
    """The OPML feeds file, the ingest settings, and the signal files (complaints CSV, status feeds)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    paths.db.parent.mkdir(parents=True, exist_ok=True)
    paths.opml.write_text(render_opml(world, server.base_url), encoding="utf-8")
    paths.config.write_text(DEMO_CONFIG, encoding="utf-8")
    shutil.copyfile(world.complaints_csv, paths.complaints)
    last = world.rounds[-1]
    for page in world.status_pages:
        text, _ = render_status_feed(page, server.base_url, last)
        paths.status_feed(page.slug).write_text(text, encoding="utf-8")


def describe_summary(stdout: str) -> str:
    """The numbers of an ``ingest --json`` summary, on one line."""
    try:
        summary: Any = json.loads(stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return "(no JSON summary)"
    if not isinstance(summary, dict):
        return str(summary)
    numbers = {k: v for k, v in summary.items() if isinstance(v, int | float) and not isinstance(v, bool)}
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in numbers.items())


def ingest_round(
    number: int, instant: datetime, world: World, clock: DemoClock, paths: DemoPaths, echo: Echo
) -> CliResult:
    clock.set(instant)
    visible = sum(1 for a in world.articles.values() if a.published <= instant)
    new_york = instant.astimezone(world.outlets["meridian-press"].zone)
    echo(
        f"  round {number}/{len(world.rounds)}: clock {instant:%a %d %b %Y %H:%M} UTC "
        f"({new_york:%H:%M} in New York), {visible} of {len(world.articles)} articles published"
    )
    result = run_cli(ingest_args(paths))
    if result.returncode != 0:
        raise DemoError(f"ingest round {number} {exit_words(result.returncode)}:\n{tail(result.stderr)}")
    echo(f"    ingest: {describe_summary(result.stdout)}")
    return result


def ingest_args(paths: DemoPaths) -> list[str]:
    return [
        "ingest",
        "--db",
        str(paths.db),
        "--config",
        str(paths.config),
        "--feeds",
        str(paths.opml),
        "--allow-host",
        "127.0.0.1",
        "--json",
        "--no-progress",
    ]


def add_demo_watch(paths: DemoPaths, echo: Echo) -> None:
    """The watcher of the story: the Alerts page shows what reached them, and at what simulated minute."""
    result = run_cli(
        ["watch", "add", DEMO_WATCH, "--terms", DEMO_WATCH, "--min-outlets", "5", "--db", str(paths.db)]
    )
    if result.unknown_command:
        echo("  watch: `scooptrace watch` is not available in this build; skipped")
        return
    if result.returncode != 0:
        raise DemoError(f"watch add failed (exit {result.returncode}):\n{tail(result.stderr)}")
    echo(f'  watch: "{DEMO_WATCH}" (terms in any language, alert when 5 outlets cover it)')


def import_signals(world: World, paths: DemoPaths, echo: Echo) -> None:
    """The complaint counts (service per row), then each status page's feed with its service named."""
    imports: list[tuple[Path, list[str]]] = [(paths.complaints, [])]
    imports += [(paths.status_feed(p.slug), ["--service", p.service]) for p in world.status_pages]
    for path, extra in imports:
        result = run_cli(["signals", "import", str(path), "--db", str(paths.db), *extra])
        if result.unknown_command:
            echo("  signals: `scooptrace signals import` is not available in this build; skipped")
            return
        if result.returncode != 0:
            raise DemoError(
                f"signals import {path} failed (exit {result.returncode}):\n{tail(result.stderr)}"
            )
        echo(f"  signals: imported {path.name}")


class DemoError(ScooptraceError):
    """A step of the demo failed; the message carries the tail of its error output."""


def exit_words(returncode: int) -> str:
    """ "failed (exit 1)", or "was stopped (SIGTERM)" for a child killed by a signal."""
    if returncode < 0 or returncode in (130, 143):
        number = -returncode if returncode < 0 else returncode - 128
        return f"was stopped ({signal.Signals(number).name})"
    return f"failed (exit {returncode})"


def tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def centre_story(db: Path) -> dict[str, Any] | None:
    """The story that holds GeekWire's first report of the checkout outage, read from the public views."""
    from storage.connection import query

    sql = (
        "SELECT s.story_id, s.headline, s.first_outlet, s.first_published_at, s.n_articles, s.n_outlets,"
        " s.languages, s.first_report_evidence FROM stories s JOIN story_timeline t USING (story_id)"
        " WHERE t.url LIKE ? LIMIT 1"
    )
    try:
        rows = query(db, sql, ["%" + CENTRE_URL_SUFFIX])
    except Exception:  # the stories views may not exist in this build yet
        return None
    if not rows:
        return None
    keys = ["story_id", "headline", "first_outlet", "first_published_at", "n_articles", "n_outlets"]
    return dict(zip([*keys, "languages", "evidence"], rows[0], strict=True))


def report(paths: DemoPaths, app_port: int, echo: Echo) -> None:
    from storage.connection import query

    try:
        n_articles = query(paths.db, "SELECT count(*) FROM articles")[0][0]
        n_stories = query(paths.db, "SELECT count(*) FROM stories")[0][0]
        echo(
            f"  database {paths.db}: {plural(n_articles, 'article')} in {plural(n_stories, 'story', 'stories')}"
        )
    except Exception:
        echo(f"  database {paths.db}")
    story = centre_story(paths.db)
    if story is None:
        echo("  (the stories view is not available: no story summary)")
        return
    echo(f"  the Amazon checkout story: {story['headline']}")
    echo(f"    first report: {story['first_outlet']} at {story['first_published_at']}")
    echo(
        f"    {plural(story['n_articles'], 'article')} from {plural(story['n_outlets'], 'outlet')} "
        f"in {story['languages']}"
    )
    if story["evidence"]:
        echo(f"    evidence: {story['evidence']}")
    echo(f"    deep link: http://localhost:{app_port}/story?id={story['story_id']}")


def build_demo(world: World, paths: DemoPaths, echo: Echo, world_port: int = 0) -> None:
    """Build the demo database from nothing: serve the world, ingest round by round, import signals."""
    paths.stamp.unlink(missing_ok=True)  # an interrupted build must never look complete
    remove_database(paths.db)
    clock = DemoClock(world.rounds[0])
    with running(bind_world_server(world, clock, world_port, echo)) as server:
        write_inputs(world, server, paths)
        echo(f"2. feeds file {paths.opml}: {sum(len(o.feeds) for o in world.outlets.values())} feeds")
        add_demo_watch(paths, echo)
        echo(f"3. {len(world.rounds)} ingest rounds, as cron would run them:")
        for number, instant in enumerate(world.rounds, start=1):
            ingest_round(number, instant, world, clock, paths, echo)
        echo("4. outage signals: complaints per minute and status-page feeds")
        import_signals(world, paths, echo)
        write_stamp(paths, world, server.server_address[1])


def bind_world_server(world: World, clock: DemoClock, port: int, echo: Echo) -> DemoServer:
    """The world's server on ``port``, or on any free port when that one is taken."""
    try:
        server = DemoServer(world, clock, port)
    except OSError:
        server = DemoServer(world, clock, 0)
    echo(f"1. news world: {len(world.outlets)} outlets, {len(world.articles)} articles at {server.base_url}/")
    return server


def serve_app(world: World, paths: DemoPaths, app_port: int, world_port: int, echo: Echo) -> int:
    """Serve the app on the demo database; the world keeps running so the articles' links open."""
    clock = DemoClock(world.rounds[-1])
    with running(bind_world_server(world, clock, world_port, lambda _: None)) as server:
        echo(
            f"6. the app: http://localhost:{app_port}/ (news world at {server.base_url}/; Ctrl-C stops both)"
        )
        command = [sys.executable, "-c", "from scooptrace.cli import main; main()"]
        command += ["app", "--port", str(app_port), "--db", str(paths.db)]
        return run_foreground(command)


def run_foreground(command: list[str]) -> int:
    """Run a long-lived child (the app and its Streamlit server) in its own process group, and stop the
    whole group on Ctrl-C or SIGTERM so no server outlives the demo."""
    child = subprocess.Popen(command, start_new_session=True)

    def stop(*_: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGTERM)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return child.wait()
    except KeyboardInterrupt:
        stop()
        child.wait(timeout=15)
        return 0
    finally:
        signal.signal(signal.SIGTERM, previous)
        stop()


def run_demo(
    world: World, paths: DemoPaths, echo: Echo, *, app_port: int, world_port: int, app: bool, rebuild: bool
) -> int:
    """``scooptrace demo``: build (or reuse) the demo database, report, then serve the app unless told not to."""
    if not rebuild and is_up_to_date(paths, world):
        echo(f"1-4. reusing {paths.db}: built from this world already (use --rebuild to build it again)")
    else:
        build_demo(world, paths, echo, world_port)
    echo("5. result")
    report(paths, app_port, echo)
    if not app:
        return 0
    return serve_app(world, paths, app_port, world_port, echo)
