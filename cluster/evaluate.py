"""Clustering quality against gold labels: B-cubed and pairwise precision, recall and F1 (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass


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
