"""``## Runs``: each run's folder, seed, spec hash, harness version and git commit, hardware and
models; a sentence when the runs came from different hardware (their bytes need not match)."""

from __future__ import annotations

from collections.abc import Sequence

from harness import reproducibility
from harness.reading import DASH, table
from harness.report.leaderboard import Comparison, Run, run_labels

HEADER = ["run", "folder", "seed", "spec hash", "harness (git commit)", "hardware", "models"]


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
                _hardware(prov),
                ", ".join(f"{m.role}: `{m.arch}`" for m in run.result.models) or DASH,
            )
        )
    return "\n\n".join(["## Runs", table(HEADER, rows), *_hardware_note(c.runs)])


def _hardware(prov: dict) -> str:
    hw = prov.get("machine", {}).get("hardware")
    if not hw:
        return DASH
    strict = ", strict" if hw.get("reproducible") == "strict" else ""
    return (
        f"{hw.get('cpu_model')} ({hw.get('instruction_set')}, {hw.get('threads')} threads{strict})"
    )


def _hardware_note(runs: Sequence[Run]) -> list[str]:
    found = reproducibility.among([r.result.provenance for r in runs])
    if not found:
        return []
    return [
        "**Different hardware or kernels** (" + "; ".join(found) + "): the same spec and seed "
        "give the same bytes only on the same hardware and software, so these runs' figures "
        "are compared within their intervals, not to the bit."
    ]


def _code(prov: dict) -> str:
    """The harness version, with the commit when the run came from a checkout (an installed
    package records "unknown")."""
    version = prov.get("versions", {}).get("robustness-harness", DASH)
    commit = prov.get("git_commit", "unknown")
    if commit == "unknown":
        return f"{version}"
    sha, _, dirty = commit.partition("+")
    return f"{version} (`{sha[:12]}{'+' + dirty if dirty else ''}`)"
