"""``## Reference figures``: a study's published figures beside this run's (the spec's
``reference:``)."""

from __future__ import annotations

from typing import Any

from harness.reading import DASH, clean_accuracy, index, num, pct, table
from harness.report.templates import prose
from harness.results import RunResult


def applies(result: RunResult) -> bool:
    ref = result.spec.get("reference")
    return bool(ref and ref.get("rows"))


def markdown(result: RunResult) -> str:
    """One row per ``reference.rows`` entry, theirs and ours."""
    ref = result.spec["reference"]
    header = ["figure", "model", "attack", "ε", ref["source"], "this run"]
    rows = [_row(result, r) for r in ref["rows"]]
    return prose("reference", source=ref["source"], table=table(header, rows))


def section_reference(result: RunResult) -> str:
    """The section, or "" when the spec has no reference rows."""
    return markdown(result) if applies(result) else ""


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
