"""Benchmark grids: many models x seeds x defences x attacks, resumable, local or on Ray.

``harness run SPEC`` takes this path when the spec has a ``grid:`` section:
``run_grid`` (``harness.grid.driver``) expands it into cells (``harness.grid.cells``), runs the
unfinished ones on an executor (``harness.grid.executors``), keeps each finished cell in the run
folder (``harness.grid.store``), and ``write_grid_report`` (``harness.grid.report``) renders it.
"""

from harness.grid.driver import GridResult, run_grid
from harness.grid.report import write_grid_report

__all__ = ["GridResult", "run_grid", "write_grid_report"]
