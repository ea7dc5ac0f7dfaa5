"""``## Clean accuracy``: per model, correct / test samples, per-class scores, confusion matrix."""

from __future__ import annotations

from harness import plots
from harness.reading import DASH, class_names, pct_ci, table
from harness.report.engine import Figures
from harness.report.files import confusion_file
from harness.results import ModelResult, RunResult


def markdown(result: RunResult) -> str:
    summary = table(
        ["model", "clean accuracy", "correct / test samples"],
        [
            (m.role, pct_ci(m.clean_accuracy, result.data.n_test), _correct_text(m.confusion))
            for m in result.models
        ],
    )
    parts = ["## Clean accuracy", summary]
    for m in result.models:
        parts += [f"### {m.role}: per class", _per_class_table(m)]
        parts.append(f"![Confusion matrix of {m.role}]({confusion_file(m.role)})")
    return "\n\n".join(parts)


def figures(result: RunResult) -> Figures:
    names = class_names(result)
    return {confusion_file(m.role): lambda m=m: plots.confusion(m, names) for m in result.models}


def _correct_text(confusion: list[list[int]]) -> str:
    total = sum(map(sum, confusion))
    correct = sum(row[i] for i, row in enumerate(confusion))
    return f"{correct:,} / {total:,}" if total else DASH


def _per_class_table(m: ModelResult) -> str:
    rows = [
        (c.name, f"{c.precision:.4f}", f"{c.recall:.4f}", f"{c.f1:.4f}", f"{c.support:,}")
        for c in m.per_class
    ]
    if m.per_class:
        n = len(m.per_class)
        mean = [sum(getattr(c, k) for c in m.per_class) / n for k in ("precision", "recall", "f1")]
        support = sum(c.support for c in m.per_class)
        rows.append(("*macro average*", *(f"{v:.4f}" for v in mean), f"{support:,}"))
    return table(["class", "precision", "recall", "F1", "support"], rows)
