"""``eval-clusters --times``: the same labelled set with its times as given, removed, or made concurrent."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from click.testing import CliRunner

from cluster.evaluate import evaluate_file, retime
from cluster.labelled import ONE_WINDOW, read_labelled_csv
from scooptrace.cli import cli, register_commands

OUTAGES = Path(__file__).parent.parent / "data" / "cluster_outages.csv"


def test_no_times_puts_every_article_at_one_imprecise_instant() -> None:
    labelled = read_labelled_csv(OUTAGES)
    articles = retime(labelled.articles, labelled.gold, "none")
    assert {a.published_at for a in articles} == {ONE_WINDOW}
    assert not any(a.precise_time for a in articles)
    assert [a.title for a in articles] == [a.title for a in labelled.articles]


def test_concurrent_starts_every_story_at_once_and_keeps_its_spread() -> None:
    labelled = read_labelled_csv(OUTAGES)
    moved = {a.article_id: a for a in retime(labelled.articles, labelled.gold, "concurrent")}
    by_story: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for original in labelled.articles:
        pair = (original.published_at.timestamp(), moved[original.article_id].published_at.timestamp())
        by_story[labelled.gold[original.article_id]].append(pair)
    starts = {min(new for _, new in pairs) for pairs in by_story.values()}
    assert starts == {min(a.published_at.timestamp() for a in labelled.articles)}
    for pairs in by_story.values():
        shifts = {new - old for old, new in pairs}
        assert len(shifts) == 1  # one shift per story: its own spread is kept
    assert all(a.precise_time for a in moved.values())


def test_times_change_the_figures_and_the_cli_says_which() -> None:
    given, none = evaluate_file(OUTAGES), evaluate_file(OUTAGES, times="none")
    # Without times, a week-old AWS outage and the same day's neighbours are no longer kept apart by time.
    assert none.bcubed.precision < given.bcubed.precision
    register_commands()
    runner = CliRunner()
    result = runner.invoke(cli, ["eval-clusters", str(OUTAGES), "--times", "none", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["times"] == "none"
    assert figures["bcubed"]["precision"] == round(none.bcubed.precision, 4)
    table = runner.invoke(cli, ["eval-clusters", str(OUTAGES), "--times", "concurrent"])
    assert table.exit_code == 0 and table.output.startswith("times: concurrent")
    refused = runner.invoke(cli, ["eval-clusters", str(OUTAGES), "--times", "none", "--gate"])
    assert refused.exit_code == 2 and "--gate" in refused.output
