"""The replay's own pieces, independent of the pipeline stages: inputs it writes, reuse stamp, clean start."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from scooptrace.demo.model import World, load_world
from scooptrace.demo.replay import (
    DemoPaths,
    describe_summary,
    ingest_args,
    is_up_to_date,
    remove_database,
    write_inputs,
    write_stamp,
)
from scooptrace.demo.server import DemoClock, serve_world


@pytest.fixture(scope="module")
def world() -> World:
    return load_world()


def test_inputs_are_an_opml_feeds_file_and_signal_files(world: World, tmp_path: Path) -> None:
    paths = DemoPaths.at(None, root=tmp_path / "demo")
    with serve_world(world, DemoClock(world.rounds[0])) as server:
        write_inputs(world, server, paths)
        base = server.base_url
    outlines = ET.parse(paths.opml).getroot().findall("./body/outline")
    assert len(outlines) == sum(len(o.feeds) for o in world.outlets.values())
    assert all(o.get("xmlUrl", "").startswith(base + "/o/") for o in outlines)
    assert {o.get("language") for o in outlines} >= {"en", "ar", "es"}
    assert paths.complaints.read_text().startswith("ts,count,service\n")
    amazon = paths.status_feed("amazon").read_text()
    assert "2026-10-06T22:24:00Z" in amazon and '<category term="Amazon"/>' in amazon
    assert "per_host_concurrency" in paths.config.read_text()


def test_stamp_decides_reuse(world: World, tmp_path: Path) -> None:
    paths = DemoPaths.at(tmp_path / "demo.duckdb", root=tmp_path)
    assert not is_up_to_date(paths, world)
    paths.db.write_bytes(b"db")
    write_stamp(paths, world, 8599)
    assert is_up_to_date(paths, world)
    stamp = json.loads(paths.stamp.read_text())
    paths.stamp.write_text(json.dumps(stamp | {"fingerprint": "changed world"}))
    assert not is_up_to_date(paths, world)
    assert not is_up_to_date(DemoPaths.at(tmp_path / "other.duckdb", root=tmp_path), world)


def test_remove_database_removes_work_copy_and_lock(tmp_path: Path) -> None:
    db = tmp_path / "demo.duckdb"
    for name in ("demo.duckdb", "demo.duckdb.work", "demo.duckdb.lock", ".demo.duckdb.123.tmp", "keep.txt"):
        (tmp_path / name).write_text("x")
    remove_database(db)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_ingest_runs_like_cron_with_the_loopback_admitted(tmp_path: Path) -> None:
    args = ingest_args(DemoPaths.at(tmp_path / "d.duckdb", root=tmp_path))
    assert args[0] == "ingest"
    assert args[args.index("--allow-host") + 1] == "127.0.0.1"
    assert "--json" in args


def test_summary_line() -> None:
    line = describe_summary('log line\n{"feeds_fetched": 3, "seconds": 1.5, "ok": true, "errors": []}\n')
    assert line == "feeds_fetched=3, seconds=1.5"
    assert describe_summary("") == "(no JSON summary)"


def test_demo_command_is_registered() -> None:
    from click.testing import CliRunner

    from scooptrace.cli import cli, register_commands

    register_commands()
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0, result.output
    for option in ("--port", "--no-app", "--db", "--rebuild", "--world-port"):
        assert option in result.output
