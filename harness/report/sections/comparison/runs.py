"""``## Runs``: each run's folder, seed, spec hash, git commit and models."""

from __future__ import annotations

from harness.reading import DASH, table
from harness.report.leaderboard import Comparison, run_labels

HEADER = ["run", "folder", "seed", "spec hash", "git commit", "models"]


def markdown(c: Comparison) -> str:
    rows = []
    for label, run in zip(run_labels(c.runs), c.runs, strict=True):
        prov = run.result.provenance
        rows.append(
            (
                label,
                f"`{run.path}`",
                run.result.seed,
                f"`{prov.get('spec_hash', DASH)}`",
                f"`{prov.get('git_commit', DASH)}`",
                ", ".join(f"{m.role}: `{m.arch}`" for m in run.result.models) or DASH,
            )
        )
    return "## Runs\n\n" + table(HEADER, rows)
