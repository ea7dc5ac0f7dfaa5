"""Report section: a study's published figures beside this run's (the spec's ``reference:``)."""

from __future__ import annotations

from typing import Any

from harness.reading import DASH, clean_accuracy, index, num, pct, table
from harness.results import RunResult


def section_reference(result: RunResult) -> str:
    """``## Reference figures``: one row per ``reference.rows`` entry, theirs and ours."""
    ref = result.spec.get("reference")
    if not ref or not ref.get("rows"):
        return ""
    header = ["figure", "model", "attack", "ε", ref["source"], "this run"]
    rows = [_row(result, r) for r in ref["rows"]]
    intro = (
        f"Figures of {ref['source']} beside this run's: clean accuracy, or robust accuracy "
        "(over all test samples) at the attack's ε in [0, 1] pixel units."
    )
    return "## Reference figures\n\n" + intro + "\n\n" + table(header, rows)


def _row(result: RunResult, r: dict[str, Any]) -> tuple[str, ...]:
    clean = r["attack"] == "none"
    ours = clean_accuracy(result, r["model"]) if clean else _robust(result, r)
    eps = DASH if clean else num(float(r["eps"]))
    return (r["what"], r["model"], "clean" if clean else r["attack"], eps, r["value"], pct(ours))


def _robust(result: RunResult, r: dict[str, Any]) -> float | None:
    found = index(result.measurements)
    return next(
        (
            v
            for (model, attack, eps, metric), v in found.items()
            if (model, attack, metric) == (r["model"], r["attack"], "robust_accuracy")
            and abs(eps - float(r["eps"])) < 1e-9
        ),
        None,
    )
