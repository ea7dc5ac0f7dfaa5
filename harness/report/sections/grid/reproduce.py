"""``## Reproduce``: the command that reruns the grid, the spec hash and git commit."""

from __future__ import annotations

from harness.reading import DASH
from harness.report.grid_view import GridReport
from harness.report.templates import prose


def markdown(g: GridReport) -> str:
    prov = g.result.provenance
    return prose(
        "grid/reproduce",
        source=g.result.spec.source or "SPEC",
        spec_hash=prov.get("spec_hash", DASH),
        git_commit=prov.get("git_commit", DASH),
        run_json="run.json",
    )
