"""``scooptrace export`` and ``scooptrace app`` through the installed command, as a user runs them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from tests.app_fixtures import AMAZON, ARABIC_TITLE, build_story_db, free_port, get, serving

SCOOPTRACE = str(Path(sys.executable).parent / "scooptrace")


def run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCOOPTRACE_")}
    return subprocess.run([SCOOPTRACE, *args], capture_output=True, timeout=timeout, env=env, check=False)


@pytest.fixture
def story_db(tmp_path: Path) -> Path:
    return build_story_db(tmp_path / "s.duckdb")


def test_export_csv_to_stdout(story_db: Path) -> None:
    result = run("export", "--db", str(story_db), "--story", AMAZON)
    assert result.returncode == 0, result.stderr
    frame = pd.read_csv(io.BytesIO(result.stdout))
    assert frame["outlet"].tolist()[0] == "GeekWire"
    assert ARABIC_TITLE in frame["title"].tolist()


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_export_to_file(story_db: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"story.{fmt}"
    result = run("export", "--db", str(story_db), "--story", AMAZON, "--format", fmt, "-o", str(out))
    assert result.returncode == 0, result.stderr
    if fmt == "json":
        payload = json.loads(out.read_text(encoding="utf-8"))
        assert payload["story"]["story_id"] == AMAZON and len(payload["articles"]) == 7
    else:
        assert pd.read_parquet(out)["is_first_report"].sum() == 1


def test_export_problems_are_usage_errors(story_db: Path, tmp_path: Path) -> None:
    unknown = run("export", "--db", str(story_db), "--story", "nope")
    assert unknown.returncode == 2 and b"no story with id 'nope'" in unknown.stderr
    missing = run("export", "--db", str(tmp_path / "none.duckdb"), "--story", AMAZON)
    assert missing.returncode == 2 and b"no database" in missing.stderr
    bad_format = run("export", "--db", str(story_db), "--story", AMAZON, "--format", "xlsx")
    assert bad_format.returncode == 2


def test_app_command_serves_the_story_link(story_db: Path) -> None:
    port = free_port()
    with serving(story_db, port):
        status, body = get(f"http://127.0.0.1:{port}/story?id={AMAZON}")
        assert status == 200 and '<div id="root">' in body.replace("'", '"')
