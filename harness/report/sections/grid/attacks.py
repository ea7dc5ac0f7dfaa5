"""``## Attacks``: the grid's attacks as a run records them (the run report's section)."""

from __future__ import annotations

from harness.report.grid_view import GridReport
from harness.report.sections.attacks import render


def markdown(g: GridReport) -> str:
    return render(g.records)
