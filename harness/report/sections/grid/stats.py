"""Mean ± sample standard deviation over seeds, as the grid's tables show them, with the seed
count and the 95% Student-t interval of the mean over seeds (``[low, high]``, n >= 2): how far
the mean would move with other seeds. It is not the test-set interval of one run."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import t as student_t

from harness.reading import DASH, pct


def mean_std(values: Sequence[float] | None) -> str:
    if not values:
        return DASH
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{pct(mean)} (1)"
    low, high = t_interval(values)
    return (
        f"{pct(mean)} ± {100 * std(values):.2f} ({len(values)}) [{100 * low:.1f}, {100 * high:.1f}]"
    )


def gain_text(diffs: Sequence[float]) -> str:
    if not diffs:
        return DASH
    mean = 100 * float(np.mean(diffs))
    if len(diffs) == 1:
        return f"{mean:+.2f} pp (1)"
    low, high = t_interval(diffs)
    return f"{mean:+.2f} pp ± {100 * std(diffs):.2f} ({len(diffs)}) [{100 * low:+.1f}, {100 * high:+.1f}]"


def t_interval(values: Sequence[float]) -> tuple[float, float]:
    """The 95% Student-t interval of the mean of ``values`` (at least two)."""
    n, mean = len(values), float(np.mean(values))
    half = float(student_t.ppf(0.975, n - 1)) * std(values) / np.sqrt(n)
    return mean - half, mean + half


def std(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
