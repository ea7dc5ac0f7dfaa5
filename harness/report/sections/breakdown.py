"""``## What each part broke``: per ensemble, model and eps, the samples each part broke first."""

from __future__ import annotations

from harness.reading import num, pct_ci, table
from harness.report.templates import prose
from harness.results import EnsembleBreakdown, RunResult


def applies(result: RunResult) -> bool:
    return bool(_shown(result))


def _shown(result: RunResult) -> list[EnsembleBreakdown]:
    """The ensembles as they ran; a white-box-first reordering for the masking check is graded
    in the sanity section, not tabled."""
    return [b for b in result.breakdowns if not b.reordered]


def markdown(result: RunResult) -> str:
    groups: dict[tuple[str, str], list[EnsembleBreakdown]] = {}
    for b in _shown(result):
        groups.setdefault((b.model, b.ensemble), []).append(b)
    tables = [_table(model, ensemble, rows) for (model, ensemble), rows in groups.items()]
    return prose("breakdown", tables=tables)


def _table(model: str, ensemble: str, per_eps: list[EnsembleBreakdown]) -> dict[str, str]:
    """One table: a row per part (in the order they ran), a column per eps."""
    header = ["part", "implementation", "access", *(f"ε = {num(b.eps)}" for b in per_eps)]
    rows = [
        [
            part.name,
            part.implementation,
            "black-box" if part.black_box else "white-box",
            *(_cell(b, i) for b in per_eps),
        ]
        for i, part in enumerate(per_eps[0].parts)
    ]
    rows.append(
        ["clean-correct", "", "", *(f"{b.clean_correct} of {b.n_samples}" for b in per_eps)]
    )
    version = per_eps[0].version
    return {"model": model, "ensemble": ensemble, "version": version, "table": table(header, rows)}


def _cell(b: EnsembleBreakdown, i: int) -> str:
    part = b.parts[i]
    return f"{part.broke_first} → {pct_ci(part.robust_accuracy_after, b.n_samples)}"
