"""``## Runs``: each run's folder, seed, spec hash, harness version and git commit, and models."""

from __future__ import annotations

from harness.reading import DASH, table
from harness.report.leaderboard import Comparison, run_labels

HEADER = ["run", "folder", "seed", "spec hash", "harness (git commit)", "models"]


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
                _code(prov),
                ", ".join(f"{m.role}: `{m.arch}`" for m in run.result.models) or DASH,
            )
        )
    return "## Runs\n\n" + table(HEADER, rows)


def _code(prov: dict) -> str:
    """The harness version, with the commit when the run came from a checkout (an installed
    package records "unknown")."""
    version = prov.get("versions", {}).get("robustness-harness", DASH)
    commit = prov.get("git_commit", "unknown")
    if commit == "unknown":
        return f"{version}"
    sha, _, dirty = commit.partition("+")
    return f"{version} (`{sha[:12]}{'+' + dirty if dirty else ''}`)"
