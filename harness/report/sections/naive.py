"""``## Naive vs adaptive attacks``: a defence in front of the baseline attacked without knowing
it is there (naive) and through it (adaptive); the gap is the naive evaluation's overstatement."""

from __future__ import annotations

from typing import Any

from harness import plots
from harness.reading import (
    baseline_role,
    clean_accuracy,
    eps_values,
    index,
    num,
    pct,
    pp,
    roles,
    table,
)
from harness.report.engine import Figures
from harness.report.templates import prose
from harness.results import RunResult

NAIVE_PNG = "naive_vs_adaptive.png"
AGREE = 0.005  # naive and adaptive within half a percentage point: the same number
HEADER = [
    "model",
    "attack",
    "ε",
    "baseline (no defence)",
    "naive (crafted on the baseline)",
    "adaptive (through the defence)",
    "naive − adaptive",
]
Point = tuple[float, float, float, float]  # (eps, naive, adaptive, naive - adaptive)


def naive_twins(result: RunResult) -> dict[str, str]:
    """Naive attack name -> the adaptive attack it repeats on the baseline."""
    return {a.name: a.naive_of for a in result.attacks if a.naive_of}


def panels(result: RunResult) -> list[tuple[str, str, str]]:
    """(model, adaptive attack, naive attack) for every model attacked both ways."""
    measured = {(m.model, m.attack) for m in result.measurements}
    return [
        (model, attack, naive)
        for model in roles(result)
        for naive, attack in naive_twins(result).items()
        if (model, naive) in measured and (model, attack) in measured
    ]


def applies(result: RunResult) -> bool:
    return bool(panels(result))


def figures(result: RunResult) -> Figures:
    found = panels(result)
    clean = {r: clean_accuracy(result, r) for r in roles(result)}
    return {NAIVE_PNG: lambda: plots.naive_vs_adaptive(result.measurements, found, clean)}


def markdown(result: RunResult) -> str:
    idx, base = index(result.measurements), baseline_role(result)
    rows, verdicts = [], []
    for model, attack, naive in panels(result):
        points: list[Point] = []
        for e in eps_values(result.measurements, attack):
            if e == 0:
                continue
            a = idx.get((model, attack, e, "robust_accuracy"))
            n = idx.get((model, naive, e, "robust_accuracy"))
            b = idx.get((base, attack, e, "robust_accuracy")) if base else None
            gap = None if a is None or n is None else n - a
            rows.append([model, attack, num(e), pct(b), pct(n), pct(a), pp(gap)])
            if gap is not None:
                points.append((e, n, a, gap))
        if points:
            verdicts.append(_verdict(model, attack, points))
    return prose("naive", verdicts=verdicts, table=table(HEADER, rows), image=NAIVE_PNG)


def _verdict(model: str, attack: str, points: list[Point]) -> str:
    """The largest overstatement of the naive evaluation, and any eps where the naive attack
    is the stronger one (then the adaptive attack misses the defence, e.g. a poor BPDA)."""
    over = max(points, key=lambda p: p[3])
    under = min(points, key=lambda p: p[3])
    return prose(
        "naive_verdict",
        model=model,
        attack=attack,
        over=_point(over, pp(over[3])) if over[3] > AGREE else None,
        under=_point(under, f"{-100 * under[3]:.2f} pp") if under[3] < -AGREE else None,
        agree=f"{100 * AGREE:g}",
    )


def _point(p: Point, gap: str) -> dict[str, Any]:
    return {"eps": num(p[0]), "naive": pct(p[1]), "adaptive": pct(p[2]), "gap": gap}
