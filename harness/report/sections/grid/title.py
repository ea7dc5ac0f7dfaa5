"""``# Grid: <name>``: the dataset and ε, how the cells multiply out, what this run did."""

from __future__ import annotations

from harness.reading import num
from harness.report.grid_view import GridReport
from harness.report.templates import prose


def markdown(g: GridReport) -> str:
    result = g.result
    spec, cells = result.spec, result.expansion.cells
    return prose(
        "grid/title",
        spec=spec,
        eps=", ".join(num(e) for e in spec.eps),
        n_cells=len(result.cells),
        models=list(dict.fromkeys(c.model for c in cells)),
        seeds=[str(s) for s in spec.grid.seeds],
        roles=list(dict.fromkeys(c.role for c in cells)),
        counts={k: g.counts.get(k, 0) for k in ("ran", "reused", "failed", "blocked")},
        seconds={k: f"{v:,.1f}" for k, v in g.cell_seconds.items()},
        n_units=len(result.units),
        executor=result.executor,
        wall=f"{result.provenance.get('seconds', 0):,.1f}",
    )
