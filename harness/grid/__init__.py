"""Benchmark grids: many models x seeds x defences x attacks, resumable, local or on Ray.

``harness run SPEC`` takes this path when the spec has a ``grid:`` section:
``run_grid`` (``harness.grid.driver``) expands it into cells (``harness.grid.cells``), runs the
unfinished ones on an executor (``harness.grid.executors``), keeps each finished cell in the run
folder (``harness.grid.store``), and ``write_grid_report`` (``harness.grid.report``) renders it.

The names below are imported on first use (PEP 562), so that ``harness validate`` can expand a
grid (``harness.grid.cells``) without importing the runner, torch or ART.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["GridResult", "run_grid", "write_grid_report"]
_HOMES = {
    "GridResult": "harness.grid.driver",
    "run_grid": "harness.grid.driver",
    "write_grid_report": "harness.grid.report",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'harness.grid' has no attribute {name!r}")
