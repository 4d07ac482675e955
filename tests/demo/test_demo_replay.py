"""End to end: ``scooptrace demo --no-app`` replays the world through the real CLI (ingest rounds over HTTP,
clustering, first report, citations, signals); the Amazon checkout story must come out as the world tells it.

The expectations are derived from the world's data (``scooptrace/demo/world``), not written twice."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scooptrace.demo.model import Article, World, load_world
from storage.connection import open_reader

CENTRE = "amazon-checkout-outage"
NEIGHBOURS = ("amazon-kindle-launch", "teams-outage", "aws-outage")
GEEKWIRE_FIRST = "geekwire/amazon-com-checkout-outage-shoppers"
AGENCY = "meridian-press/amazon-shoppers-report-checkout-failures"
ONSET_COLUMNS = ("spike_onset_at", "signal_onset_at", "outage_onset_at", "onset_at")
STATEMENT_COLUMNS = ("first_statement_at", "official_statement_at", "statement_at")


@dataclass(frozen=True)
class Built:
    world: World
    db: Path
    cwd: Path
    first_run: subprocess.CompletedProcess[str]

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        conn = open_reader(self.db)
        try:
            cursor = conn.execute(sql, params or [])
            names = [d[0] for d in cursor.description or []]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
        finally:
            conn.close()

    def article_ids(self) -> dict[str, str]:
        """World key (outlet/slug) -> article_id, through the canonical URL's path."""
        out = {}
        for row in self.rows("SELECT article_id, url FROM articles"):
            path = row["url"].split("?")[0]
            parts = path.rstrip("/").split("/")
            out[f"{parts[-3]}/{parts[-1]}"] = row["article_id"]
        return out

    def story_of(self, key: str) -> str:
        article_id = self.article_ids()[key]
        rows = self.rows("SELECT story_id FROM story_timeline WHERE article_id = ?", [article_id])
        assert rows, f"{key} is in no story"
        return str(rows[0]["story_id"])


def demo_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "from scooptrace.cli import main; main()", "demo", "--no-app", *args]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    cwd = tmp_path_factory.mktemp("demo")
    run = subprocess.run(
        demo_command("--world-port", "0"), cwd=cwd, capture_output=True, text=True, timeout=240
    )
    assert run.returncode == 0, run.stdout + run.stderr
    yield Built(load_world(), cwd / "build" / "demo" / "scooptrace-demo.duckdb", cwd, run)


def members(world: World, event_id: str) -> list[Article]:
    return list(world.event(event_id).articles)


def test_replay_prints_its_steps(built: Built) -> None:
    out = built.first_run.stdout
    for step in (
        "1. news world",
        "2. feeds file",
        "3. 6 ingest rounds",
        "round 6/6",
        "4. outage signals",
        "5. result",
    ):
        assert step in out
    assert "signals: imported complaints.csv" in out, out
    # Later rounds are conditional GETs: most feeds have not changed and answer 304.
    unchanged = [int(n) for n in re.findall(r"feeds_unchanged=(\d+)", out)]
    assert len(unchanged) == len(built.world.rounds) and all(n > 0 for n in unchanged[1:]), unchanged


def test_every_article_stored_with_its_page_time(built: Built) -> None:
    ids = built.article_ids()
    assert set(ids) == set(built.world.articles)
    rows = {r["article_id"]: r for r in built.rows("SELECT * FROM articles")}
    for key, article in built.world.articles.items():
        row = rows[ids[key]]
        assert row["published_at"] == article.published, key
        assert row["published_at_source"] == ("feed" if article.members else "page"), key
    # A naive feed date (16:06 local, no zone) must not make Lakeshore look five hours early.
    lakeshore = rows[ids["lakeshore-daily/amazon-shoppers-report-checkout-failures-across-us"]]
    assert lakeshore["published_at"] == datetime(2026, 10, 6, 21, 6, tzinfo=UTC)


def test_amazon_story_members(built: Built) -> None:
    ids = built.article_ids()
    story_id = built.story_of(GEEKWIRE_FIRST)
    got = {
        r["article_id"]
        for r in built.rows("SELECT article_id FROM story_timeline WHERE story_id = ?", [story_id])
    }
    expected = {ids[a.key] for a in members(built.world, CENTRE)}
    names = {v: k for k, v in ids.items()}
    assert got == expected, (
        f"missing: {sorted(names[i] for i in expected - got)}; intruders: {sorted(names[i] for i in got - expected)}"
    )


def test_geekwire_is_first(built: Built) -> None:
    ids = built.article_ids()
    story_id = built.story_of(GEEKWIRE_FIRST)
    [story] = built.rows("SELECT * FROM stories WHERE story_id = ?", [story_id])
    assert story["first_outlet"] == "GeekWire"
    assert story["first_article_id"] == ids[GEEKWIRE_FIRST]
    assert story["first_published_at"] == datetime(2026, 10, 6, 20, 31, tzinfo=UTC)
    assert "GeekWire" in (story["first_report_evidence"] or "")
    assert set(story["languages"]) >= {"en", "ar", "es"}
    firsts = built.rows(
        "SELECT article_id FROM story_timeline WHERE story_id = ? AND is_first_report", [story_id]
    )
    assert [r["article_id"] for r in firsts] == [ids[GEEKWIRE_FIRST]]
    lags = {
        r["article_id"]: r["lag_seconds"]
        for r in built.rows(
            "SELECT article_id, lag_seconds FROM story_timeline WHERE story_id = ?", [story_id]
        )
    }
    assert lags[ids["circuit-daily/amazon-checkout-down-error"]] == 13 * 60


def test_lags_follow_the_world(built: Built) -> None:
    ids = built.article_ids()
    first = built.world.articles[GEEKWIRE_FIRST].published
    story_id = built.story_of(GEEKWIRE_FIRST)
    lags = {
        r["article_id"]: r["lag_seconds"]
        for r in built.rows(
            "SELECT article_id, lag_seconds FROM story_timeline WHERE story_id = ?", [story_id]
        )
    }
    for article in members(built.world, CENTRE):
        expected = (article.published - first).total_seconds()
        assert lags[ids[article.key]] == expected, article.key
        language = built.world.outlets[article.outlet].language
        if language != "en":  # Spanish and Arabic outlets follow hours later
            assert expected >= 3 * 3600, article.key


def test_syndicated_copies(built: Built) -> None:
    ids = built.article_ids()
    copies = [a for a in members(built.world, CENTRE) if a.copy_of]
    rows = {r["article_id"]: r for r in built.rows("SELECT * FROM story_timeline")}
    for copy in copies:
        row = rows[ids[copy.key]]
        assert row["syndicated_from_article_id"] == ids[AGENCY], copy.key
        assert not row["is_first_report"]
    assert rows[ids[AGENCY]]["syndicated_from_article_id"] is None


def test_citations_of_geekwire(built: Built) -> None:
    ids = built.article_ids()
    names = {v: k for k, v in ids.items()}
    citations = built.rows("SELECT * FROM citations WHERE cited_outlet = 'GeekWire'")
    links = {names[c["citing_article_id"]] for c in citations if c["kind"] == "link"}
    mentions = {names[c["citing_article_id"]] for c in citations if c["kind"] == "mention"}
    centre = members(built.world, CENTRE)
    linkers = {a.key for a in centre if any(t.startswith("@" + GEEKWIRE_FIRST) for _, t in a.links())}
    assert linkers <= links, f"link citations missing for {sorted(linkers - links)}"
    for c in citations:
        if c["kind"] == "link" and names[c["citing_article_id"]] in linkers:
            assert c["cited_article_id"] == ids[GEEKWIRE_FIRST]
    crediting = {a.key for a in centre if "GeekWire" in a.credits}
    assert crediting <= mentions | links, (
        f"no citation of GeekWire from {sorted(crediting - mentions - links)}"
    )
    languages = {built.world.outlets[k.split("/")[0]].language for k in mentions}
    assert languages >= {"en", "ar", "es"}, f"mentions only in {languages}"
    assert not any(names[c["citing_article_id"]].startswith("geekwire/") for c in citations)


def _first_column(row: dict[str, Any], names: tuple[str, ...]) -> Any:
    for name in names:
        if name in row:
            return row[name]
    raise AssertionError(f"none of the columns {names} in {sorted(row)}")


def test_signal_onset_and_lag(built: Built) -> None:
    complaints = built.rows(
        "SELECT count(*) AS n FROM signals WHERE kind = 'complaints' AND service = 'Amazon'"
    )
    assert complaints[0]["n"] == 600
    statuses = built.rows("SELECT min(ts) AS ts FROM signals WHERE kind = 'status' AND service = 'Amazon'")
    assert statuses[0]["ts"] == datetime(2026, 10, 6, 22, 24, tzinfo=UTC)
    [story] = built.rows("SELECT * FROM stories WHERE story_id = ?", [built.story_of(GEEKWIRE_FIRST)])
    onset = _first_column(story, ONSET_COLUMNS)
    assert onset is not None
    assert datetime(2026, 10, 6, 19, 56, tzinfo=UTC) <= onset <= datetime(2026, 10, 6, 20, 3, tzinfo=UTC)
    lag = story["first_published_at"] - onset
    assert timedelta(minutes=28) <= lag <= timedelta(minutes=35)
    assert _first_column(story, STATEMENT_COLUMNS) == datetime(2026, 10, 6, 22, 24, tzinfo=UTC)
    teams_story = built.story_of("downtime-digest/microsoft-teams-messages-not-sending")
    [teams] = built.rows("SELECT * FROM stories WHERE story_id = ?", [teams_story])
    teams_onset = _first_column(teams, ONSET_COLUMNS)
    assert datetime(2026, 10, 6, 19, 0, tzinfo=UTC) <= teams_onset <= datetime(2026, 10, 6, 19, 5, tzinfo=UTC)


def test_confusable_neighbours_kept_apart(built: Built) -> None:
    centre_story = built.story_of(GEEKWIRE_FIRST)
    for event_id in NEIGHBOURS:
        stories = {built.story_of(a.key) for a in members(built.world, event_id)}
        assert centre_story not in stories, event_id
    ordinary = [e for e in built.world.events if e.kind == "ordinary"]
    for event in ordinary:
        assert centre_story not in {built.story_of(a.key) for a in event.articles}, event.event_id


def test_neighbours_are_stories_of_their_own(built: Built) -> None:
    for event_id in NEIGHBOURS:
        stories = {built.story_of(a.key) for a in members(built.world, event_id)}
        assert len(stories) == 1, f"{event_id} split into {len(stories)} stories"


def test_second_run_reuses_the_database(built: Built) -> None:
    before = built.db.stat().st_mtime_ns
    run = subprocess.run(
        demo_command("--world-port", "0"), cwd=built.cwd, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0, run.stderr
    assert "reusing" in run.stdout
    assert "round 1/6" not in run.stdout
    assert built.db.stat().st_mtime_ns == before


def test_the_demo_watch_hears_of_the_outage_before_geekwire(built: Built) -> None:
    from scooptrace.queries import alert_replay

    [watch] = built.rows("SELECT name, terms FROM watches")
    assert watch == {"name": "Amazon outage", "terms": "Amazon outage"}
    geekwire = next(a for a in members(built.world, CENTRE) if a.key == GEEKWIRE_FIRST)
    centre = built.story_of(GEEKWIRE_FIRST)
    replay = alert_replay(built.db).to_dict("records")
    spike = [r for r in replay if r["trigger"] == "spike_without_coverage" and "Amazon" in r["story_id"]]
    assert len(spike) == 1
    assert geekwire.published - timedelta(minutes=40) < spike[0]["raised_at"] < geekwire.published
    when = {r["trigger"]: r["raised_at"] for r in replay if r["story_id"] == centre}
    assert when["new_story"] == when["coverage_after_spike"] == geekwire.published
    assert when["statement"] == datetime(2026, 10, 6, 22, 24, tzinfo=UTC)
    # The neighbours that are not Amazon outages never reach this watcher.
    for event_id in ("amazon-kindle-launch", "teams-outage"):
        stories = {built.story_of(a.key) for a in members(built.world, event_id)}
        assert not stories & {r["story_id"] for r in replay}, event_id
    # The live runs raised the centre story's alerts too (at the real time of the run).
    live = built.rows("SELECT trigger FROM alerts WHERE story_id = ?", [centre])
    assert {"new_story", "outlets_reached", "language_reached"} <= {r["trigger"] for r in live}
