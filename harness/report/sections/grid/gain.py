"""``## What hardening bought``: each defence's robust accuracy minus its own baseline's, paired
by seed (the same model, test subset and initial weights), mean ± std over seeds."""

from __future__ import annotations

from harness.reading import num, table
from harness.report.grid_view import GridReport
from harness.report.sections.grid.stats import gain_text
from harness.report.templates import prose


def markdown(g: GridReport) -> str:
    tables = [(a, t) for a in g.main_attacks if (t := _table(g, a))]
    return prose("grid/gain", tables=tables) if tables else ""


def _table(g: GridReport, attack: str) -> str:
    robust = {
        (r.model, r.defence, r.seed, r.attack, r.eps): r.value
        for r in g.rows
        if r.metric == "robust_accuracy" or r.attack == "none"
    }
    eps = [0.0] + [e for e in g.result.spec.eps if e > 0]
    seeds = g.result.spec.grid.seeds if g.result.spec.grid else ()
    base = g.no_defence
    lines = []
    for m, d in g.series:
        if d == base:
            continue
        cells = []
        for e in eps:
            a = "none" if e == 0 else attack
            diffs = [
                robust[(m, d, s, a, e)] - robust[(m, base, s, a, e)]
                for s in seeds
                if (m, d, s, a, e) in robust and (m, base, s, a, e) in robust
            ]
            cells.append(gain_text(diffs))
        lines.append((m, d, *cells))
    if not lines:
        return ""
    return table(("model", "defence", "clean", *(f"ε={num(e)}" for e in eps[1:])), lines)
