"""``## Clean accuracy``: each model and defence, mean ± std over seeds."""

from __future__ import annotations

from harness.reading import table
from harness.report.grid_view import GridReport
from harness.report.sections.grid.stats import mean_std


def markdown(g: GridReport) -> str:
    rows = [
        (m, d, mean_std(g.values.get((m, d, "none", 0.0, "clean_accuracy")))) for m, d in g.series
    ]
    return "## Clean accuracy\n\n" + table(("model", "defence", "clean accuracy"), rows)
