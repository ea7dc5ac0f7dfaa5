"""``## Robustness sweep``: per attack, each model's metrics at every ε, and each hardened model's
improvement over the baseline; the robustness curve."""

from __future__ import annotations

import math
from collections.abc import Sequence

from harness import plots
from harness.reading import (
    DASH,
    PLOT_TITLES,
    WORST_CASE,
    Key,
    attack_names,
    attack_norms,
    attack_title,
    baseline_role,
    class_names,
    clean_accuracy,
    denominator,
    eps_values,
    hardened_roles,
    improvements,
    index,
    num,
    pct_ci,
    pp,
    roles,
    table,
)
from harness.report.engine import Figures
from harness.report.templates import prose
from harness.results import RunResult
from harness.stats import Interval
from harness.verdict import change

CURVE_PNG = "robustness_curve.png"
COLUMN_NAMES = {
    "robust_accuracy": "robust acc",
    "attack_success_rate": "success rate",
    "targeted_success_rate": "targeted success",
    "mean_linf": "mean L∞",
    "mean_l2": "mean L2",
}
# column groups, each repeated per model; the improvements follow the first group. The first
# group is always shown, the others only for the metrics the attack has (worst case: no sizes)
COLUMN_GROUPS = (
    ("robust_accuracy", "attack_success_rate"),
    ("targeted_success_rate",),
    ("mean_linf", "mean_l2"),
)


def markdown(result: RunResult) -> str:
    idx = index(result.measurements)
    attacks = [
        {
            "title": attack_title(a),
            "table": _table(result, idx, a),
            "worst_case": a == WORST_CASE,
        }
        for a in attack_names(result)
    ]
    return prose(
        "sweep",
        attacks=attacks,
        hardened=hardened_roles(result),
        baseline=baseline_role(result) or DASH,
        targeted=any(k[3] == "targeted_success_rate" for k in idx),
        paired=bool(result.flags),
    )


def figures(result: RunResult) -> Figures:
    names = class_names(result)
    clean = {role: clean_accuracy(result, role) for role in roles(result)}
    titles = {a: PLOT_TITLES[a] for a in attack_names(result) if a in PLOT_TITLES}
    norms = attack_norms(result)
    curve = lambda: plots.robustness_curve(  # noqa: E731
        result.measurements, clean, norms, len(names) or None, titles
    )
    return {CURVE_PNG: curve}


def gain_header(hardened: Sequence[str]) -> list[str]:
    """``improvement`` for one hardened model, ``improvement (<model>)`` for each of several."""
    return ["improvement"] if len(hardened) == 1 else [f"improvement ({r})" for r in hardened]


def _table(result: RunResult, idx: dict[Key, float], attack: str) -> str:
    rs, hardened = roles(result), hardened_roles(result)
    present = {k[3] for k in idx if k[1] == attack}
    first, *others = COLUMN_GROUPS
    groups = [first, *(tuple(m for m in g if m in present) for g in others)]
    cols = [[(r, m) for r in rs for m in g] for g in groups if g]  # per group: (model, metric)
    header = ["ε", *(f"{COLUMN_NAMES[m]} ({r})" for r, m in cols[0])]
    header += gain_header(hardened) if hardened else []
    header += [f"{COLUMN_NAMES[m]} ({r})" for g in cols[1:] for r, m in g]
    rows = []
    for e in eps_values(result.measurements, attack):
        cell = lambda r, m, e=e: _cell(result, r, idx.get((r, attack, e, m)), m)  # noqa: E731
        row = [num(e), *(cell(r, m) for r, m in cols[0])]
        row += [
            _gain(result, r, attack, e, g) for r, g in improvements(result, idx, attack, e).items()
        ]
        row += [cell(r, m) for g in cols[1:] for r, m in g]
        rows.append(row)
    return table(header, rows)


def _gain(result: RunResult, role: str, attack: str, eps: float, gain: float | None) -> str:
    """The hardened model's gain over the baseline with its 95% interval: paired (Newcombe) on
    the per-image flags when the run kept them, else unpaired; the bare difference when the
    counts are unknown (an older run)."""
    base = baseline_role(result)
    c = None if gain is None or base is None else change(result, role, result, base, attack, eps)
    if c is None or math.isnan(c.difference.value):
        return pp(gain)
    return Interval(gain, c.difference.low, c.difference.high).pp_text(2)


def _cell(result: RunResult, role: str, v: float | None, metric: str) -> str:
    if metric.startswith("mean_"):
        return DASH if v is None else f"{v:.4f}"
    return pct_ci(v, denominator(result, role, metric))
