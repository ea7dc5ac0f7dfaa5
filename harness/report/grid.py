"""The grid report: the ordered sections of a grid's report.md (``harness.grid.report`` computes
the ``GridReport`` they read).
"""

from __future__ import annotations

from types import ModuleType

from harness.report import engine
from harness.report.grid_view import GridReport
from harness.report.sections.grid import (
    attacks,
    clean,
    corruptions,
    failures,
    gain,
    reproduce,
    sanity,
    tables,
    title,
)

GRID_REPORT: list[ModuleType] = [  # the order of a grid's report.md
    title,
    failures,
    attacks,
    clean,
    gain,
    tables,
    corruptions,
    sanity,
    reproduce,
]


def render_markdown(report: GridReport) -> str:
    return engine.render_markdown(GRID_REPORT, report)


def figures(report: GridReport) -> engine.Figures:
    return engine.figures(GRID_REPORT, report)
