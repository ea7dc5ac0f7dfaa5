"""``# Robustness comparison``: how many models and runs, the dataset, the attacks."""

from __future__ import annotations

from harness.reading import DASH, class_names
from harness.report.leaderboard import Comparison
from harness.report.templates import prose

RESULTS_CSV = "results.csv"
RUN_JSON = "run.json"


def markdown(c: Comparison) -> str:
    data = c.runs[0].result.data
    return prose(
        "comparison/title",
        n_models=len(c.board.rows),
        n_runs=len(c.runs),
        dataset=data.name or DASH,
        classes=class_names(c.runs[0].result),
        shape=" × ".join(map(str, data.input_shape)) or DASH,
        attacks=", ".join(f"{a} ({n})" for a, n in c.board.attacks.items()) or "none",
        results_csv=RESULTS_CSV,
        run_json=RUN_JSON,
    )
