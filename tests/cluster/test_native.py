"""The compiled clustering core: used only while it is exactly its source, and it decides as the pure one does."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cluster import native
from cluster.labelled import read_labelled_csv

ROOT = Path(__file__).resolve().parents[2]

# Clusters real headline wording (the outage set and, beside the checkout, the stories dev set) in three
# copies a day apart, prints which core ran and every decision.
SCRIPT = r"""
import csv, json, sys
from datetime import timedelta
from pathlib import Path
from cluster import native
from cluster.labelled import read_labelled_csv
from cluster.model import ArticleIn
from cluster.stories import Clusterer

articles = []
for name in sys.argv[1:]:
    for article in read_labelled_csv(Path(name)).articles:
        for copy in range(3):
            articles.append(ArticleIn(
                article_id=f"{copy}-{article.article_id}", title=article.title, outlet=article.outlet,
                published_at=article.published_at + timedelta(hours=20 * copy), language=article.language,
                summary=article.summary, text=article.text, precise_time=article.precise_time))
out = [[a.article_id, a.story_id, a.score, a.syndicated_from_article_id, list(a.merged_story_ids)]
       for a in Clusterer().add_all(articles)]
print(json.dumps({"core": native.status(), "assignments": out}))
"""


def run_core(pure: bool) -> dict[str, object]:
    env = {**os.environ, native.PURE_ENV: "1" if pure else ""}
    files = [ROOT / "tests" / "data" / "cluster_outages.csv"]
    dev = ROOT.parent / "shared" / "data" / "uci-stories-dev.csv"
    if dev.exists():
        files.append(dev)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *map(str, files)], capture_output=True, text=True, env=env, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_compiled_core_decides_exactly_as_the_pure_one() -> None:
    compiled, pure = run_core(pure=False), run_core(pure=True)
    assert str(compiled["core"]).startswith("compiled"), (
        f"the compiled core is not in use here ({compiled['core']}): `make install` or `make native` builds it"
    )
    assert str(pure["core"]).startswith("pure Python")
    outages = len(read_labelled_csv(ROOT / "tests" / "data" / "cluster_outages.csv").articles)
    assert len(compiled["assignments"]) >= 3 * outages  # type: ignore[arg-type]  # (5,000+ with stories-dev)
    assert compiled["assignments"] == pure["assignments"]


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the package's sources and of its compiled folder, to change one without touching the other."""
    if not native.plan().compiled:
        pytest.fail(f"no compiled core to copy ({native.plan().reason}): `make native` builds it")
    package = tmp_path / "cluster"
    package.mkdir()
    for name in native.MODULES:
        shutil.copy2(native.PACKAGE_DIR / f"{name}.py", package / f"{name}.py")
    shutil.copytree(native.NATIVE_DIR, package / "_native")
    return package / "_native", package


def test_plan_uses_compiled_files_that_match_their_sources(built: tuple[Path, Path]) -> None:
    plan = native.plan(*built)
    assert plan.compiled and plan.reason.startswith("compiled")
    assert {f"cluster.{name}" for name in native.MODULES} < set(plan.files)
    assert all(path.parent == built[0] for path in plan.files.values())


def test_one_edited_source_turns_the_whole_group_off(built: tuple[Path, Path]) -> None:
    native_dir, package = built
    with open(package / "features.py", "a", encoding="utf-8") as handle:
        handle.write("\n# an edit after compiling\n")
    plan = native.plan(native_dir, package)
    assert not plan.compiled and plan.files == {}
    assert "features.py changed since it was compiled" in plan.reason


def test_missing_broken_or_foreign_builds_fall_back_to_source(
    built: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    native_dir, package = built
    manifest = native_dir / native.MANIFEST
    text = manifest.read_text(encoding="utf-8")

    monkeypatch.setenv(native.PURE_ENV, "1")
    assert "SCOOPTRACE_PURE_PYTHON is set" in native.plan(native_dir, package).reason
    monkeypatch.delenv(native.PURE_ENV)

    manifest.write_text(text.replace(native.extension_suffix(), ".cpython-39-x86_64-linux-gnu.so"))
    assert "compiled for .cpython-39" in native.plan(native_dir, package).reason

    manifest.write_text("{not json")
    assert "unreadable manifest" in native.plan(native_dir, package).reason
    manifest.write_text(text.replace('"sha256"', '"digest"'))
    assert "unreadable manifest" in native.plan(native_dir, package).reason

    manifest.write_text(text)
    next(native_dir.glob("stories.*")).unlink()
    assert "compiled file missing" in native.plan(native_dir, package).reason

    manifest.unlink()
    assert "not compiled" in native.plan(native_dir, package).reason


def test_make_rebuilds_when_any_compiled_source_changes() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    line = next(line for line in makefile.splitlines() if line.startswith("NATIVE_SOURCES"))
    listed = line.split(",", 1)[1].rstrip(")").split()
    assert sorted(name.removesuffix(".py") for name in listed) == sorted(native.MODULES)
