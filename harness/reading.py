"""Reading a ``RunResult`` for reports: its models, attacks and measurements; number formatting.

Shared by the report sections (``harness.report.sections``) and the run comparison
(``harness.compare``). Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from harness import stats
from harness.formatting import DASH, pct, pp
from harness.results import Measurement, RunResult
from harness.results.breakdowns import WORST_CASE

__all__ = ["DASH", "WORST_CASE", "pct", "pp"]  # re-exported: the report sections' vocabulary
NORMS = {"linf": "L∞", "l2": "L2"}
TITLES = {WORST_CASE: "worst case over all untargeted attacks (per sample)"}
PLOT_TITLES = {WORST_CASE: "worst case (per sample)"}  # short enough for a panel title
Key = tuple[str, str, float, str]  # (model, attack, eps, metric)


def roles(result: RunResult) -> list[str]:
    """Model roles in order: the result's models, then any other model named in measurements."""
    return list(
        dict.fromkeys([m.role for m in result.models] + [m.model for m in result.measurements])
    )


def baseline_role(result: RunResult) -> str | None:
    """The model no defence produced (its record has no ``defence``); None when there is none."""
    return next((m.role for m in result.models if not m.defence), None)


def hardened_roles(result: RunResult) -> list[str]:
    """The models a defence produced (trained or placed in front of the baseline), in order."""
    return [m.role for m in result.models if m.defence] if baseline_role(result) else []


def improvements(
    result: RunResult, idx: dict[Key, float], attack: str, eps: float
) -> dict[str, float | None]:
    """Hardened model -> its robust accuracy minus the baseline's under ``attack`` at ``eps``
    (fractions; None where either is missing). Empty without a baseline or a hardened model."""
    base = baseline_role(result)
    out: dict[str, float | None] = {}
    for role in hardened_roles(result):
        a, b = (idx.get((r, attack, eps, "robust_accuracy")) for r in (role, base))
        out[role] = None if a is None or b is None else a - b
    return out


def attack_names(result: RunResult) -> list[str]:
    listed = [a.name for a in result.attacks]
    measured = [m.attack for m in result.measurements if m.attack != "none"]
    return list(dict.fromkeys(listed + measured))


def attack_norms(result: RunResult) -> dict[str, str]:
    """Attack name -> its norm's label ("L∞", "L2"); L∞ when the result does not say.

    The worst case is in the norm of the untargeted attacks it combines, or in "each attack's
    norm" when they differ (every attack is run at the same ε numbers).
    """
    labels = {a.name: NORMS.get(a.norm, a.norm) for a in result.attacks}
    untargeted = {labels[a.name] for a in result.attacks if not a.targeted}
    if len(untargeted) > 1:
        labels.setdefault(WORST_CASE, "each attack's norm")
    elif untargeted:
        labels.setdefault(WORST_CASE, untargeted.pop())
    return {name: labels.get(name, "L∞") for name in attack_names(result)}


def attack_title(name: str) -> str:
    """How the report names an attack: its label, or a description of a derived row."""
    return TITLES.get(name, name)


def class_names(result: RunResult) -> list[str]:
    return [str(c) for c in result.data.class_names]


def index(measurements: Iterable[Measurement]) -> dict[Key, float]:
    return {(m.model, m.attack, m.eps, m.metric): m.value for m in measurements}


def eps_values(measurements: Iterable[Measurement], attack: str) -> list[float]:
    return sorted({m.eps for m in measurements if m.attack == attack})


def test_images(result: RunResult) -> tuple:
    """What decides which test images a run evaluated: the dataset, its test-set size and, when
    the spec took a subset (``dataset.n_test``), the seed it was drawn with. Two runs with equal
    values saw the same images."""
    subset = (result.spec.get("dataset") or {}).get("n_test") is not None
    return (result.data.name, result.data.n_test, result.seed if subset else None)


def clean_accuracy(result: RunResult, role: str) -> float:
    """From the ``clean_accuracy`` measurement, else from the model's result."""
    found = index(result.measurements).get((role, "none", 0.0, "clean_accuracy"))
    if found is None:
        found = next((m.clean_accuracy for m in result.models if m.role == role), math.nan)
    return found


# ---------------------------------------------------------------- formatting


def pct_ci(v: float | None, n: int | None) -> str:
    """A proportion of ``n`` with its 95% Wilson interval: 0.8774, 359 -> '87.74% [83.9, 90.7]';
    without ``n`` (an older run) the bare percentage."""
    if v is None or math.isnan(v) or not n:
        return pct(v)
    i = stats.wilson(stats.count(v, n), n)
    return interval(stats.Interval(v, i.low, i.high))


def interval(i: stats.Interval) -> str:
    """A proportion with its interval as ``pct_ci`` writes it (the bare percentage when the
    interval is unknown)."""
    if math.isnan(i.low):
        return pct(i.value)
    return f"{i.value:.2%} [{100 * i.low:.1f}, {100 * i.high:.1f}]"


def denominator(result: RunResult, role: str, metric: str) -> int | None:
    """How many images a metric of ``role`` is counted over: all test images for accuracies,
    the clean-correct ones for success rates (what the attack was run on)."""
    n = result.data.n_test
    if not n or metric in ("robust_accuracy", "clean_accuracy"):
        return n
    clean = clean_accuracy(result, role)
    return None if math.isnan(clean) else stats.count(clean, n)


def num(v: Any) -> str:
    """Short number text; a float that is k/255 (and not a short decimal) also shows 'k/255'."""
    if isinstance(v, bool) or not isinstance(v, float):
        return str(v)
    text = format(v, ".4g")
    k = v * 255
    if float(text) != v and k > 0 and abs(k - round(k)) < 1e-6:
        text += f" ({round(k)}/255)"
    return text


def params_text(params: dict[str, Any], prefix: str = "") -> str:
    """{'eps': 0.1, 'train': {'epochs': 5}} -> 'eps=0.1, train.epochs=5'."""
    parts = []
    for k, v in params.items():
        if isinstance(v, dict):
            parts.append(params_text(v, f"{prefix}{k}."))
        else:
            parts.append(f"{prefix}{k}={num(v)}")
    return ", ".join(p for p in parts if p)


def table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table; ``|`` in cells is escaped."""

    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(str(c).replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *map(line, rows)])
