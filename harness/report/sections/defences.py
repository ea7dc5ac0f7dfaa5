"""``## Defence comparison``: one row per model: clean accuracy, robust accuracy per attack and
ε, certified accuracy, training time."""

from __future__ import annotations

from harness.reading import (
    DASH,
    WORST_CASE,
    attack_names,
    eps_values,
    index,
    num,
    params_text,
    pct,
    pct_ci,
    table,
)
from harness.report.sections.naive import naive_twins
from harness.report.templates import prose
from harness.results import DefenceRecord, ModelResult, RunResult


def applies(result: RunResult) -> bool:
    return len(result.models) >= 2


def markdown(result: RunResult) -> str:
    idx = index(result.measurements)
    columns = [
        (a, e) for a in _main_attacks(result) for e in eps_values(result.measurements, a) if e > 0
    ]
    radii = sorted({r for c in result.certified for r in c.radii})
    certified = {
        c.model: dict(zip(c.radii, c.certified_accuracy, strict=True)) for c in result.certified
    }
    header = ["model", "defence", "clean accuracy"]
    header += [f"{a} ε={num(e)}" for a, e in columns]
    header += [f"certified r={num(r)}" for r in radii] + ["training time"]
    rows = []
    for m in result.models:
        n = result.data.n_test
        row = [m.role, _defence_text(m.defence), pct_ci(m.clean_accuracy, n)]
        row += [pct_ci(idx.get((m.role, a, e, "robust_accuracy")), n) for a, e in columns]
        row += [pct(certified.get(m.role, {}).get(r)) for r in radii]
        seconds = training_seconds(m)
        row.append(DASH if seconds is None else f"{seconds:,.1f} s")
        rows.append(row)
    return prose("defences", table=table(header, rows), certified=bool(radii))


def training_seconds(m: ModelResult) -> float | None:
    return sum(h.seconds for h in m.history) if m.history else None


def _main_attacks(result: RunResult) -> list[str]:
    """Untargeted attacks of the spec (not the naive twins, not the worst case)."""
    targeted = {a.name for a in result.attacks if a.targeted}
    skip = targeted | set(naive_twins(result)) | {WORST_CASE}
    return [a for a in attack_names(result) if a not in skip]


def _defence_text(d: DefenceRecord | None) -> str:
    if d is None:
        return "none (baseline)"
    text = params_text(d.params)
    return f"{d.name} ({text})" if text else d.name
