"""Mean ± sample standard deviation over seeds, as the grid's tables show them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.reading import DASH, pct


def mean_std(values: Sequence[float] | None) -> str:
    if not values:
        return DASH
    mean = float(np.mean(values))
    if len(values) == 1:
        return f"{pct(mean)} (1)"
    return f"{pct(mean)} ± {100 * std(values):.2f} ({len(values)})"


def gain_text(diffs: Sequence[float]) -> str:
    if not diffs:
        return DASH
    mean = 100 * float(np.mean(diffs))
    spread = f" ± {100 * std(diffs):.2f}" if len(diffs) > 1 else ""
    return f"{mean:+.2f} pp{spread} ({len(diffs)})"


def std(values: Sequence[float]) -> float:
    return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
