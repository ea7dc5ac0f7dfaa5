"""``## Failed``: cells and models that raised on every attempt, and those they blocked."""

from __future__ import annotations

from harness.reading import table
from harness.report.grid_view import GridReport
from harness.report.templates import prose

RUN_JSON = "run.json"


def applies(g: GridReport) -> bool:
    return bool(g.failed or g.blocked)


def markdown(g: GridReport) -> str:
    return prose(
        "grid/failures",
        failed=g.failed,
        blocked=g.blocked,
        retries=g.result.retries,
        table=table(("cell or model", "attempts", "last error"), g.failed),
        n_cells=sum(is_cell for _, is_cell in g.blocked),
        blocked_names=[what for what, _ in g.blocked],
        run_json=RUN_JSON,
    )
