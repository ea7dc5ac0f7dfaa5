"""**Metrics.**: what clean accuracy, robust accuracy and success rate count; ε's units."""

from __future__ import annotations

from harness.reading import NORMS
from harness.report.templates import prose
from harness.results import RunResult


def markdown(result: RunResult) -> str:
    attacks = result.attacks
    norms = {NORMS.get(a.norm, a.norm) for a in attacks} or {"L∞"}
    return prose("metrics", norms=sorted(norms))
