"""``## Metrics``: what the comparison's numbers mean: worst case, AUC, training time."""

from __future__ import annotations

from harness.report.leaderboard import FROM_MIN, FROM_ROWS, Comparison
from harness.report.templates import prose


def markdown(c: Comparison) -> str:
    sources = sorted({r.worst_source for r in c.board.rows})
    return prose("comparison/metrics", sources=sources, from_rows=FROM_ROWS, from_min=FROM_MIN)
