"""How a number reads in a report line, a check's reason or the console: percentages and
percentage points, one definition each. Pure, no torch."""

from __future__ import annotations

import math

DASH = "—"  # a number that does not exist (not run, not recorded)


def _missing(v: float | None) -> bool:
    return v is None or math.isnan(v)


def pct(v: float | None, digits: int = 2) -> str:
    """A fraction as a percentage: 0.9499 -> '94.99%' (digits=1: '95.0%'); None or NaN -> DASH."""
    return DASH if _missing(v) else f"{100 * v:.{digits}f}%"


def pp(delta: float | None, digits: int = 2) -> str:
    """A difference of fractions in percentage points, signed: 0.3663 -> '+36.63 pp'."""
    return DASH if _missing(delta) else f"{100 * delta:+.{digits}f} pp"
