"""``## Where the attack pushes``: per model, the clean confusion matrix beside the one under
attack at the headline ε, and the classes the attack moved the most images into."""

from __future__ import annotations

import numpy as np

from harness import plots
from harness.reading import attack_title, class_names, num, table
from harness.report.engine import Figures
from harness.report.files import confusion_file
from harness.results import AttackConfusion, RunResult
from harness.verdict import verdict


def applies(result: RunResult) -> bool:
    return bool(_chosen(result))


def markdown(result: RunResult) -> str:
    names = class_names(result)
    parts = [
        "## Where the attack pushes",
        f"At the headline ε = {num(verdict(result).eps)}: true class (rows) against the class "
        "predicted on the image that counted (columns), clean on the left, under attack on the "
        "right, one colour scale. Off the diagonal on the right is where the attack sent each "
        "class.",
    ]
    rows = []
    for role, c, counts in _chosen(result):
        flows = _flows(np.asarray(counts), names)
        rows.append([role, attack_title(c.attack), flows or "—"])
        parts.append(f"![{role} under {c.attack}]({_file(role)})")
    parts.insert(
        2, table(["model", "attack", "largest flows under attack (true → predicted)"], rows)
    )
    return "\n\n".join(parts)


def figures(result: RunResult) -> Figures:
    names = class_names(result)
    eps = verdict(result).eps
    models = {m.role: m for m in result.models}
    return {
        _file(role): (
            lambda role=role, c=c, counts=counts: plots.attack_confusion(
                models[role], counts, names, f"{c.attack} at ε = {num(eps)}"
            )
        )
        for role, c, counts in _chosen(result)
    }


def _chosen(result: RunResult) -> list[tuple[str, AttackConfusion, list[list[int]]]]:
    """Per model, the confusion of the attack its verdict leans on (its lowest robust accuracy
    at the headline ε), else its first untargeted attack."""
    v = verdict(result)
    if v.eps is None:
        return []
    out = []
    for m in v.models:
        mine = [c for c in result.attack_confusion if c.model == m.role]
        if not mine:
            continue
        lowest = min(m.robust.items(), key=lambda kv: kv[1].value)[0] if m.robust else None
        c = next((c for c in mine if c.attack == lowest), mine[0])
        counts = c.at(v.eps)
        if counts is not None and any(r.role == m.role for r in result.models):
            out.append((m.role, c, counts))
    return out


def _flows(counts: np.ndarray, names: list[str], top: int = 3) -> str:
    """The largest off-diagonal cells: "cat → dog (41)"."""
    off = counts.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    cells = [np.unravel_index(i, off.shape) for i in order]
    label = lambda i: names[i] if i < len(names) else str(i)  # noqa: E731
    return ", ".join(f"{label(i)} → {label(j)} ({off[i, j]:,})" for i, j in cells if off[i, j])


def _file(role: str) -> str:
    return confusion_file(role).replace("confusion_", "confusion_attacked_")
