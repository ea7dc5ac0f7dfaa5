"""Per attack (its naive twin, the worst case): robust accuracy and success rate of every model
and defence at each ε, mean ± std over seeds; the curves figure."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from harness import plots
from harness.reading import WORST_CASE, num, table
from harness.report.engine import Figures
from harness.report.grid_view import GridReport
from harness.report.sections.grid.stats import mean_std, std
from harness.report.templates import prose

CURVES_PNG = "curves.png"
METRICS = (("robust_accuracy", "Robust accuracy"), ("attack_success_rate", "Attack success rate"))


def markdown(g: GridReport) -> str:
    eps = [e for e in g.result.spec.eps if e > 0]
    parts = []
    for attack in g.attacks:
        parts.append(f"## {_heading(g, attack)}")
        for metric, title in METRICS:
            rows = [
                (m, d, *(mean_std(g.values.get((m, d, attack, e, metric))) for e in eps))
                for m, d in g.series
                if any((m, d, attack, e, metric) in g.values for e in eps)
            ]
            if rows:
                header = ("model", "defence", *(f"ε={num(e)}" for e in eps))
                parts.append(f"### {title}\n\n" + table(header, rows))
    if g.attacks:
        parts.append(prose("grid/curves", image=CURVES_PNG))
    return "\n\n".join(parts)


def figures(g: GridReport) -> Figures:
    return {CURVES_PNG: lambda: curves_figure(g)}


def _heading(g: GridReport, name: str) -> str:
    if name == WORST_CASE:
        return prose("grid/heading_worst", name=name)
    if name.endswith(g.naive_suffix):
        return prose("grid/heading_naive", name=name, base=name.removesuffix(g.naive_suffix))
    return name


def curves_figure(g: GridReport) -> Figure:
    """Robust accuracy vs ε per attack (and the worst case), one line per model and defence:
    the mean over seeds (ε = 0: clean accuracy) with a band of ± one sample standard deviation;
    a defence's naive twin of the attack dashed, in the defence's colour."""
    attacks, values = g.main_attacks, g.values
    panels: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    spread: dict[str, dict[str, list[float]]] = {}
    styles: dict[str, tuple[str, str]] = {}
    for attack in attacks:
        for i, (m, d) in enumerate(g.series):
            for name, entry, dash in (
                (attack, f"{m} / {d}", "-"),
                (attack + g.naive_suffix, f"{m} / {d}, naive", "--"),
            ):
                points = [(0.0, values.get((m, d, "none", 0.0, "clean_accuracy")))]
                points += [
                    (e, values.get((m, d, name, e, "robust_accuracy")))
                    for e in g.result.spec.eps
                    if e > 0
                ]
                known = [(e, v) for e, v in points if v]
                if len(known) > 1:
                    mean = [float(np.mean(v)) for _, v in known]
                    panels.setdefault(attack, {})[entry] = ([e for e, _ in known], mean)
                    spread.setdefault(attack, {})[entry] = [std(v) for _, v in known]
                    styles[entry] = (f"C{i % 10}", dash)
    titles = {
        a: f"{a if a != WORST_CASE else 'worst case (per sample)'}: mean over seeds"
        for a in attacks
    }
    xlabels = {a: "ε ([0, 1] pixel units)" for a in attacks}
    return plots.compare_curves(panels, titles, xlabels, styles, g.n_classes, spread)
