"""``## Evaluation sanity checks``: the measurement checks per model and seed (the run report's
section), and a note on the probe checks a grid does not run."""

from __future__ import annotations

from harness.report.grid_view import GridReport
from harness.report.sections.sanity import render
from harness.report.templates import prose


def markdown(g: GridReport) -> str:
    return render(g.checks) + "\n\n" + prose("grid/probes_note")
