"""Clustering quality against gold labels: B-cubed and pairwise precision, recall and F1.

``evaluate`` is pure (two labellings in, figures out); ``evaluate_file`` runs the clustering core on a
labelled CSV; ``read_gate`` and ``gate_failures`` check the figures against the floors pinned in
cluster/data/eval_gate.toml (the evaluation gate, as trafilatura keeps one)."""

from __future__ import annotations

import tomllib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from cluster.labelled import ONE_WINDOW, read_labelled_csv
from cluster.model import ArticleIn
from cluster.params import DEFAULT_PARAMS, ClusterParams
from cluster.stories import cluster_articles


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


@dataclass(frozen=True)
class Evaluation:
    n_items: int
    n_gold: int
    n_predicted: int
    bcubed: Scores
    pairwise: Scores

    def as_dict(self) -> dict[str, object]:
        return {
            "items": self.n_items,
            "gold_clusters": self.n_gold,
            "predicted_clusters": self.n_predicted,
            "bcubed": self.bcubed.as_dict(),
            "pairwise": self.pairwise.as_dict(),
        }

    def describe(self) -> str:
        b, p = self.bcubed, self.pairwise
        return (
            f"{self.n_items} articles, {self.n_gold} gold stories, {self.n_predicted} predicted\n"
            f"B-cubed   precision {b.precision:.3f}  recall {b.recall:.3f}  F1 {b.f1:.3f}\n"
            f"pairwise  precision {p.precision:.3f}  recall {p.recall:.3f}  F1 {p.f1:.3f}"
        )


def evaluate(gold: Mapping[str, str], predicted: Mapping[str, str]) -> Evaluation:
    """Compare two labellings of the same items (item -> cluster label)."""
    items = sorted(gold)
    if set(items) != set(predicted):
        raise ValueError("gold and predicted label different items")
    joint = Counter((gold[i], predicted[i]) for i in items)
    gold_size = Counter(gold[i] for i in items)
    pred_size = Counter(predicted[i] for i in items)
    n = len(items)
    # B-cubed: per item, the share of its predicted cluster in its gold cluster (and vice versa); each
    # (gold, predicted) cell of size c contributes c * c / size.
    bc_p = sum(c * c / pred_size[p] for (_, p), c in joint.items()) / n if n else 0.0
    bc_r = sum(c * c / gold_size[g] for (g, _), c in joint.items()) / n if n else 0.0
    same_both = sum(c * (c - 1) // 2 for c in joint.values())
    same_pred = sum(c * (c - 1) // 2 for c in pred_size.values())
    same_gold = sum(c * (c - 1) // 2 for c in gold_size.values())
    pw_p = same_both / same_pred if same_pred else 1.0
    pw_r = same_both / same_gold if same_gold else 1.0
    return Evaluation(n, len(gold_size), len(pred_size), Scores(bc_p, bc_r), Scores(pw_p, pw_r))


# --- running the clustering on labelled files (the ``eval-clusters`` command and the gate test) ----------

ROOT = Path(__file__).resolve().parent.parent
# The files ``eval-clusters`` measures by default: the two shared development sets beside the checkout
# (when present) and the bundled outage set (en/ar/es/fr/de, confusable neighbours, wire copies).
DEFAULT_FILES = (
    ROOT.parent / "shared" / "data" / "uci-stories-dev.csv",
    ROOT.parent / "shared" / "data" / "uci-slugs-dev.csv",
    ROOT / "tests" / "data" / "cluster_outages.csv",
)
GATE_FILE = Path(__file__).parent / "data" / "eval_gate.toml"


def evaluate_articles(
    articles: Iterable[ArticleIn], gold: Mapping[str, str], params: ClusterParams = DEFAULT_PARAMS
) -> Evaluation:
    """Cluster ``articles`` from scratch (the rebuild path) and compare with the gold labels."""
    predicted = {a.article_id: a.story_id for a in cluster_articles(articles, params)}
    return evaluate(gold, predicted)


# How ``evaluate_file`` treats the file's publication times: "given" as written; "none" every article at one
# instant with no precise time (what the words alone achieve: the burst prior never applies); "concurrent"
# every gold story moved to start at the file's first instant, its own spread kept (all stories break at
# once: how much the burst prior costs when bursts overlap).
TIMES = ("given", "none", "concurrent")


def retime(articles: Sequence[ArticleIn], gold: Mapping[str, str], times: str) -> list[ArticleIn]:
    """The articles with their publication times treated as ``times`` says (see TIMES)."""
    if times == "given":
        return list(articles)
    if times == "none":
        return [replace(a, published_at=ONE_WINDOW, precise_time=False) for a in articles]
    if times != "concurrent":
        raise ValueError(f"times must be one of {', '.join(TIMES)}, not {times!r}")
    start = min((a.published_at for a in articles), default=ONE_WINDOW)
    first: dict[str, datetime] = {}
    for a in articles:
        label = gold[a.article_id]
        first[label] = min(first.get(label, a.published_at), a.published_at)
    return [replace(a, published_at=start + (a.published_at - first[gold[a.article_id]])) for a in articles]


def evaluate_file(path: Path, params: ClusterParams = DEFAULT_PARAMS, times: str = "given") -> Evaluation:
    """B-cubed and pairwise figures of the clustering on one labelled CSV (see cluster.labelled)."""
    labelled = read_labelled_csv(path)
    articles = retime(labelled.articles, labelled.gold, times)
    return evaluate_articles(articles, labelled.gold, params)


def default_files() -> list[Path]:
    """The default evaluation files that exist here (the shared dev sets may be absent)."""
    return [path for path in DEFAULT_FILES if path.exists()]


def table(results: Sequence[tuple[str, Evaluation]]) -> str:
    """A plain-text table: one row per file, B-cubed and pairwise precision, recall and F1."""
    groups = f"{'':<45}  {'B-cubed':<19}  {'pairwise':<19}"
    header = (
        f"{'file':<24}{'articles':>9}{'gold':>6}{'pred':>6}  "
        f"{'P':>6}{'R':>6}{'F1':>7}  {'P':>6}{'R':>6}{'F1':>7}"
    )
    lines = [groups, header]
    for name, result in results:
        b, p = result.bcubed, result.pairwise
        lines.append(
            f"{name:<24}{result.n_items:>9}{result.n_gold:>6}{result.n_predicted:>6}  "
            f"{b.precision:>6.3f}{b.recall:>6.3f}{b.f1:>7.3f}  {p.precision:>6.3f}{p.recall:>6.3f}{p.f1:>7.3f}"
        )
    return "\n".join(lines)


@dataclass(frozen=True)
class GateFloor:
    """Pinned minimum figures for one evaluation file."""

    file: str  # file name, looked up among DEFAULT_FILES
    minimums: dict[str, float]  # "bcubed_f1", "bcubed_precision", "pairwise_f1", ... -> minimum


def read_gate(path: Path | None = None) -> list[GateFloor]:
    """The pinned floors (default cluster/data/eval_gate.toml): one table per file name."""
    path = path or GATE_FILE
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    floors = []
    for name, values in sorted(data.get("files", {}).items()):
        unknown = set(values) - set(FIGURES)
        if unknown:
            raise ValueError(f"{path}: [files.{name!r}] has unknown figures {sorted(unknown)}")
        floors.append(GateFloor(name, {key: float(value) for key, value in values.items()}))
    return floors


def figures(result: Evaluation) -> dict[str, float]:
    """The figures a gate can pin, by name."""
    b, p = result.bcubed, result.pairwise
    values = (b.precision, b.recall, b.f1, p.precision, p.recall, p.f1)
    return dict(zip(FIGURES, values, strict=True))


FIGURES = (
    "bcubed_precision",
    "bcubed_recall",
    "bcubed_f1",
    "pairwise_precision",
    "pairwise_recall",
    "pairwise_f1",
)


def gate_failures(result: Evaluation, floor: GateFloor) -> list[str]:
    """Each pinned figure the result falls below, as a readable line (empty: the gate holds)."""
    have = figures(result)
    return [
        f"{floor.file}: {key} {have[key]:.4f} < pinned {minimum:.4f}"
        for key, minimum in sorted(floor.minimums.items())
        if have[key] < minimum
    ]
