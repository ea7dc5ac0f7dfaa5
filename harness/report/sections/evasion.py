"""``## Single-image evasion``: the smallest FGSM ε that flips each chosen test image."""

from __future__ import annotations

from harness.reading import num, pct, table
from harness.report.templates import prose
from harness.results import RunResult

HEADER = [
    "model",
    "index",
    "true label",
    "clean prediction",
    "smallest flipping ε",
    "adversarial prediction",
]


def applies(result: RunResult) -> bool:
    return bool(result.evasion)


def markdown(result: RunResult) -> str:
    ev = result.spec.get("evasion", {}) if isinstance(result.spec.get("evasion"), dict) else {}
    eps_max, step = ev.get("eps_max"), ev.get("eps_step")
    grid = (
        f"ε = {num(step)}, {num(2 * step)}, … ≤ {num(eps_max)}"
        if step and eps_max
        else "a grid of ε"
    )
    never = f"not flipped ≤ {num(eps_max)}" if eps_max is not None else "not flipped"
    rows = [
        (
            r.model,
            r.index,
            r.true_label,
            f"{r.clean_pred} ({pct(r.clean_conf)})",
            never if r.flip_eps is None else num(r.flip_eps),
            f"{r.adv_pred} ({pct(r.adv_conf)})",
        )
        for r in result.evasion
    ]
    return prose("evasion", grid=grid, table=table(HEADER, rows))
