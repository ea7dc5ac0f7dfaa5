"""``## Robust accuracy per attack and ε``: one table per attack, and the curves of every entry."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from harness import plots
from harness.reading import DASH, class_names, num, pct, table
from harness.report.engine import Figures
from harness.report.leaderboard import FROM_ROWS, WORST, Comparison, Row, Run, entries
from harness.report.sections.comparison.leaderboard import auc_text
from harness.report.templates import prose

CURVES_PNG = "curves.png"


def markdown(c: Comparison) -> str:
    attacks = []
    for attack, norm in c.board.attacks.items():
        eps = c.board.eps[attack]
        header = ["entry", "clean acc", *(f"ε={num(e)}" for e in eps), "AUC"]
        rows = [
            [
                r.entry,
                pct(r.clean_accuracy),
                *(pct(r.robust.get(attack, {}).get(e)) for e in eps),
                auc_text(r.auc.get(attack)),
            ]
            for r in c.board.rows
        ]
        attacks.append({"title": f"{attack} ({norm})", "table": table(header, rows)})
    return prose("comparison/attacks", dash=DASH, attacks=attacks, image=CURVES_PNG)


def figures(c: Comparison) -> Figures:
    return {CURVES_PNG: lambda: curves_figure(c)}


def curves_figure(c: Comparison) -> Figure:
    board = c.board
    panels: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for attack in board.attacks:
        panels[attack] = {r.entry: _points(r.robust.get(attack, {}), r) for r in board.rows}
    if len(board.attacks) > 1 or any(r.worst_source == FROM_ROWS for r in board.rows):
        panels[WORST] = {r.entry: _points(r.worst, r) for r in board.rows}  # else a copy
    titles = {a: f"{a} ({n})" for a, n in board.attacks.items()} | {WORST: "worst case"}
    xlabels = {a: f"ε ({n}, [0, 1] pixel units)" for a, n in board.attacks.items()}
    xlabels[WORST] = "ε ([0, 1] pixel units)"
    styles = _styles(c.runs)
    n_classes = len(class_names(c.runs[0].result)) or None
    return plots.compare_curves(panels, titles, xlabels, styles, n_classes)


def _points(curve: dict[float, float], row: Row) -> tuple[list[float], list[float]]:
    """The curve from (0, clean accuracy); no points at all when the entry lacks the attack."""
    if not curve:
        return [], []
    eps = [0.0, *sorted(e for e in curve if e > 0)]
    return eps, [row.clean_accuracy, *(curve[e] for e in eps[1:])]


def _styles(runs: Sequence[Run]) -> dict[str, tuple[str, str]]:
    """Entry -> (colour, line style): a colour per run, a line style per role."""
    roles = list(dict.fromkeys(e.role for e in entries(runs)))
    index = {id(r): i for i, r in enumerate(runs)}
    dashes = ("-", "--", ":", "-.")
    return {
        e.label: (f"C{index[id(e.run)] % 10}", dashes[roles.index(e.role) % len(dashes)])
        for e in entries(runs)
    }
