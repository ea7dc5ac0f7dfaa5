"""Uncertainty of the figures a person reads: one rule each, used by every report and the gate.

- A proportion k / n (clean, robust, worst-case, AutoAttack, corruption and certified accuracy,
  attack success rate) gets a 95% **Wilson score interval** (Wilson 1927): it stays inside
  [0, 1] and keeps its coverage near 0 and 1, where robust accuracies live.
- Two models on the **same images** are compared image by image: McNemar's exact test (a
  two-sided binomial test on the discordant pairs) and Newcombe's interval for a paired
  difference (Newcombe 1998, *Stat. Med.* 17:2635, method 10: Wilson limits of each margin,
  corrected for their correlation phi, itself corrected for continuity).
- Two models on **different images** get Newcombe's unpaired hybrid score interval (Newcombe
  1998, *Stat. Med.* 17:873, method 10) and no test of the pairs they do not share.

A difference is called significant when its 95% interval excludes 0 (paired: also McNemar's
p < 0.05; the two agree except at the margin).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

Z95 = 1.959963984540054  # the standard normal's 97.5% quantile
LEVEL = "95% Wilson score interval"  # how a report names its intervals, once


@dataclass(frozen=True)
class Interval:
    """A proportion or a difference with its 95% interval, as fractions."""

    value: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0

    def text(self, digits: int = 1) -> str:
        """``87.7% [84.0, 90.7]``: the value and its interval in percent (the value alone when
        the count behind it is unknown: ``share`` of an older run)."""
        if math.isnan(self.low):
            return f"{100 * self.value:.{digits}f}%"
        return f"{100 * self.value:.{digits}f}% [{100 * self.low:.{digits}f}, {100 * self.high:.{digits}f}]"

    def pp_text(self, digits: int = 1) -> str:
        """``+3.2 pp [-1.0, +7.5]``: a difference and its interval in percentage points."""
        return (
            f"{100 * self.value:+.{digits}f} pp "
            f"[{100 * self.low:+.{digits}f}, {100 * self.high:+.{digits}f}]"
        )


def wilson(k: int, n: int, z: float = Z95) -> Interval:
    """``k`` successes of ``n`` with its Wilson score interval ([0, 1] when n is 0)."""
    if n <= 0:
        return Interval(math.nan, 0.0, 1.0)
    i = _wilson_at(k / n, n, z)
    return Interval(i.value, 0.0 if k == 0 else i.low, 1.0 if k == n else i.high)


def share(fraction: float, n: int) -> Interval:
    """A fraction of ``n`` read back from results.csv with its Wilson interval; without ``n``
    (a run that did not record its test size) the value with no interval."""
    if n <= 0:
        return Interval(fraction, math.nan, math.nan)
    return wilson(count(fraction, n), n)


def mean_share(scores: np.ndarray, cells: int) -> Interval:
    """The mean of per-image shares (each image's fraction right over ``cells`` conditions, e.g.
    every corruption and severity) with a Wilson interval at the design's effective size.

    The images are the independent units; the conditions of one image are correlated. Kish's
    effective size n_eff = m(1 - m) / Var(mean), with the variance of the mean from the images'
    scores, lies between n (every image all right or all wrong) and n * cells (conditions
    independent); the Wilson interval of m at n_eff keeps the bounds inside [0, 1].
    """
    s = np.asarray(scores, dtype=np.float64)
    n = s.size
    if n == 0:
        return Interval(math.nan, 0.0, 1.0)
    m = float(s.mean())
    var = float(s.var(ddof=1)) / n if n > 1 else math.inf
    top = n * max(cells, 1)
    n_eff = top if var == 0 else min(max(m * (1 - m) / var, n), top)
    return _wilson_at(m, n_eff)


def _wilson_at(p: float, n: float, z: float = Z95) -> Interval:
    """Wilson's interval of a proportion ``p`` at a (possibly fractional) size ``n``."""
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(p, max(0.0, centre - half), min(1.0, centre + half))


def count(fraction: float, n: int) -> int:
    """The count behind a fraction of ``n`` read back from results.csv (exact up to rounding)."""
    return round(fraction * n)


def mcnemar(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value of ``b`` vs ``c`` discordant pairs (1.0 when none)."""
    from scipy.stats import binomtest  # on use: reading results imports no scipy

    if b + c == 0:
        return 1.0
    return float(binomtest(b, b + c, 0.5).pvalue)


@dataclass(frozen=True)
class Paired:
    """Model A against model B on the same n images: ``a_only`` right only by A, ``b_only``
    right only by B; the difference A - B with Newcombe's paired interval, McNemar's p."""

    n: int
    both: int
    a_only: int
    b_only: int
    difference: Interval
    p_value: float

    def significant(self) -> bool:
        return self.difference.excludes_zero() and self.p_value < 0.05


def paired(both: int, a_only: int, b_only: int, neither: int) -> Paired:
    """A - B from the 2 x 2 table of per-image correctness (Newcombe's method 10)."""
    n = both + a_only + b_only + neither
    a, b = wilson(both + a_only, n), wilson(both + b_only, n)
    margins = (both + a_only) * (b_only + neither) * (both + b_only) * (a_only + neither)
    # Newcombe's phi, corrected for continuity when positive: AD - BC is reduced by N/2
    # (to at least 0); a negative AD - BC is kept as it is
    cross = both * neither - a_only * b_only
    cross = max(cross - n / 2, 0.0) if cross > 0 else cross
    phi = cross / math.sqrt(margins) if margins else 0.0
    diff = Interval(a.value - b.value, *_newcombe(a, b, phi))
    return Paired(n, both, a_only, b_only, diff, mcnemar(a_only, b_only))


def paired_flags(a: np.ndarray, b: np.ndarray) -> Paired:
    """A - B from two (n,) per-image correctness arrays over the same images."""
    a, b = np.asarray(a, dtype=bool), np.asarray(b, dtype=bool)
    return paired(
        int(np.sum(a & b)), int(np.sum(a & ~b)), int(np.sum(~a & b)), int(np.sum(~a & ~b))
    )


def unpaired(k1: int, n1: int, k2: int, n2: int) -> Interval:
    """k1/n1 - k2/n2 with Newcombe's hybrid score interval (different images)."""
    a, b = wilson(k1, n1), wilson(k2, n2)
    return Interval(a.value - b.value, *_newcombe(a, b, 0.0))


def _newcombe(a: Interval, b: Interval, phi: float) -> tuple[float, float]:
    """Limits of a.value - b.value from each margin's Wilson limits and their correlation."""
    d = a.value - b.value
    below = (a.value - a.low) ** 2 - 2 * phi * (a.value - a.low) * (b.high - b.value)
    above = (a.high - a.value) ** 2 - 2 * phi * (a.high - a.value) * (b.value - b.low)
    below += (b.high - b.value) ** 2
    above += (b.value - b.low) ** 2
    return max(-1.0, d - math.sqrt(max(below, 0.0))), min(1.0, d + math.sqrt(max(above, 0.0)))
