"""``## Summary``: clean accuracy, robust accuracy at each attack's largest ε (with each hardened
model's improvement over the baseline), the sanity checks' tally (and
the checks that did not run when the probes were off)."""

from __future__ import annotations

from typing import Any

from harness.reading import (
    attack_names,
    attack_title,
    clean_accuracy,
    eps_values,
    improvements,
    index,
    num,
    pct,
    pp,
    roles,
)
from harness.report.sections.sanity import not_run
from harness.report.templates import prose
from harness.results import RunResult, summary


def markdown(result: RunResult) -> str:
    rs = roles(result)
    clean = [f"{r} {pct(clean_accuracy(result, r))}" for r in rs]
    sanity = summary(result.sanity) if result.sanity else ""
    lines = _attack_lines(result, rs)
    return prose("summary", clean=clean, attacks=lines, sanity=sanity, skipped=not_run(result))


def _attack_lines(result: RunResult, rs: list[str]) -> list[dict[str, Any]]:
    idx, lines = index(result.measurements), []
    for attack in attack_names(result):
        eps = eps_values(result.measurements, attack)
        if not eps:
            continue
        e = eps[-1]
        accs = [f"{r} {pct(idx.get((r, attack, e, 'robust_accuracy')))}" for r in rs]
        gain = gain_text(improvements(result, idx, attack, e))
        lines.append({"title": attack_title(attack), "eps": num(e), "accs": accs, "gain": gain})
    return lines


def gain_text(gains: dict[str, float | None]) -> str:
    """`` (improvement +x pp)`` for one hardened model; with several, each one's by name."""
    known = {r: g for r, g in gains.items() if g is not None}
    if not known:
        return ""
    if len(gains) == 1:
        return f" (improvement {pp(next(iter(known.values())))})"
    return " (improvement: " + ", ".join(f"{r} {pp(g)}" for r, g in known.items()) + ")"
