"""The comparison report: the ordered sections of compare.md (``harness compare``)."""

from __future__ import annotations

from collections.abc import Sequence
from types import ModuleType

from harness.report import engine
from harness.report.leaderboard import Comparison, Leaderboard, Run
from harness.report.sections.comparison import (
    attacks,
    confusion,
    gradcam,
    leaderboard,
    metrics,
    runs,
    sanity,
    title,
)

COMPARISON: list[ModuleType] = [  # the order of compare.md: the ranking first
    title,
    leaderboard,
    runs,
    metrics,
    sanity,
    attacks,
    confusion,
    gradcam,
]


def render_markdown(runs: Sequence[Run], board: Leaderboard) -> str:
    """compare.md of runs already read back and validated, and their leaderboard."""
    return engine.render_markdown(COMPARISON, Comparison(runs, board))


def figures(runs: Sequence[Run], board: Leaderboard) -> engine.Figures:
    """File name -> figure builder (built one at a time)."""
    return engine.figures(COMPARISON, Comparison(runs, board))
