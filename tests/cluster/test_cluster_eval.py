"""The evaluation entry point and its gate: figures on the labelled sets never drop below the pinned floors
(cluster/data/eval_gate.toml), and ``scooptrace eval-clusters`` prints them for several files at once."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cluster.evaluate import (
    DEFAULT_FILES,
    FIGURES,
    GateFloor,
    evaluate_file,
    gate_failures,
    read_gate,
    table,
)
from scooptrace.commands import stories

OUTAGES = Path(__file__).parent.parent / "data" / "cluster_outages.csv"


@click.group()
def main() -> None:
    """The commands scooptrace.commands.stories registers, on a group of their own (as ``scooptrace`` registers them)."""


stories.register(main)
FLOORS = {floor.file: floor for floor in read_gate()}
PATHS = {path.name: path for path in DEFAULT_FILES}


def test_gate_pins_every_default_file() -> None:
    assert set(FLOORS) == set(PATHS)
    for floor in FLOORS.values():
        assert floor.minimums and set(floor.minimums) <= set(FIGURES)
        assert all(0 < value <= 1 for value in floor.minimums.values())


def test_outage_set_holds_its_floor() -> None:
    result = evaluate_file(OUTAGES)
    assert gate_failures(result, FLOORS[OUTAGES.name]) == []


@pytest.mark.parametrize("name", ["uci-stories-dev.csv", "uci-slugs-dev.csv"])
def test_shared_dev_sets_hold_their_floors(name: str) -> None:
    path = PATHS[name]
    if not path.exists():
        pytest.skip(f"{path} is not beside the checkout")
    assert gate_failures(evaluate_file(path), FLOORS[name]) == []


def test_a_drop_below_a_floor_is_reported() -> None:
    result = evaluate_file(OUTAGES)
    strict = GateFloor(OUTAGES.name, {"bcubed_f1": 1.0, "pairwise_precision": 0.5})
    failures = gate_failures(result, strict)
    assert len(failures) == 1 and failures[0].startswith("cluster_outages.csv: bcubed_f1 ")


def test_table_has_one_row_per_file() -> None:
    result = evaluate_file(OUTAGES)
    text = table([("a.csv", result), ("b.csv", result)])
    lines = text.splitlines()
    assert "B-cubed" in lines[0] and "pairwise" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == ["a.csv", "b.csv"]
    assert f"{result.bcubed.f1:.3f}" in lines[2]


def test_cli_eval_clusters_on_several_files(tmp_path: Path) -> None:
    other = tmp_path / "tiny.csv"
    other.write_text(
        "story,title,url,published_at\n"
        "s1,Sbarro files for bankruptcy again,https://a/1,2014-03-10T20:00:00Z\n"
        "s1,Sbarro files for bankruptcy for second time,https://b/2,2014-03-10T20:30:00Z\n"
        "s2,Metro-North worker killed by train in Harlem,https://c/3,2014-03-10T21:00:00Z\n",
        encoding="utf-8",
    )
    runner = CliRunner()
    result = runner.invoke(main, ["eval-clusters", str(OUTAGES), str(other), "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [Path(row["file"]).name for row in rows] == ["cluster_outages.csv", "tiny.csv"]
    assert rows[1]["items"] == 3 and rows[1]["bcubed"]["f1"] == 1.0
    text = runner.invoke(main, ["eval-clusters", str(OUTAGES), str(other), "--gate"])
    assert text.exit_code == 0, text.output
    assert "cluster_outages.csv" in text.output and "tiny.csv" in text.output


def test_cli_eval_clusters_defaults_to_the_evaluation_sets() -> None:
    result = CliRunner().invoke(main, ["eval-clusters", "--json"])
    assert result.exit_code == 0, result.output
    names = [Path(json.loads(line)["file"]).name for line in result.output.splitlines()]
    assert names == [path.name for path in DEFAULT_FILES if path.exists()]
    assert "cluster_outages.csv" in names


def test_cli_gate_fails_below_a_floor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import cluster.evaluate

    gate = tmp_path / "gate.toml"
    gate.write_text('[files."cluster_outages.csv"]\nbcubed_f1 = 1.0\n', encoding="utf-8")
    monkeypatch.setattr(cluster.evaluate, "GATE_FILE", gate)
    result = CliRunner().invoke(main, ["eval-clusters", str(OUTAGES), "--gate"])
    assert result.exit_code == 1
    assert "below the gate: cluster_outages.csv: bcubed_f1" in result.output
