"""Timing and judging for the speed benchmark (benchmarks/speed.py).

Contenders run interleaved: in every repeat each contender runs once, the order reversed on every
other repeat, so that a load change, a warm cache or a first-call cost does not always fall on the
same one. Every run is timed on both clocks: this process's CPU time (user + sys of all its
threads, ``time.process_time``: the work done, but an idle thread spinning while its partner waits
for a core counts too) and wall time (``time.perf_counter``: on a shared machine it includes the
queue for a core). Neither is right on a loaded machine, so both are kept.

A ratio is computed per repeat, from the two contenders' timings of that same repeat (they ran
back to back, under much the same load), and reported as the median of those ratios and their
spread (min-max). A target is judged ``met`` or ``missed`` only when the whole spread lies on one
side of it; otherwise the row is ``undecided`` (rerun on a quiet machine). ``judge`` is that rule,
a pure function of the timings.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}
MET, MISSED, UNDECIDED = "met", "missed", "undecided: rerun on a quiet machine"


@dataclass(frozen=True)
class Timing:
    """One contender's seconds per repeat, on each clock, and its last run's result."""

    seconds: dict[str, list[float]]  # clock name -> one value per repeat
    result: object


def interleaved(contenders: dict[str, Callable[[], object]], repeat: int) -> dict[str, Timing]:
    """{name: Timing}: ``repeat`` rounds, each contender once per round, the order reversed on
    every other round; every run timed on every clock in ``CLOCKS``."""
    seconds = {k: {c: [] for c in CLOCKS} for k in contenders}
    results: dict[str, object] = {}
    names = list(contenders)
    for r in range(max(repeat, 1)):
        for name in names if r % 2 == 0 else names[::-1]:
            start = {c: now() for c, now in CLOCKS.items()}
            results[name] = contenders[name]()
            for c, now in CLOCKS.items():
                seconds[name][c].append(now() - start[c])
    return {k: Timing(seconds[k], results[k]) for k in contenders}


@dataclass(frozen=True)
class Judged:
    """Per-repeat ratios, their median and min-max spread, and the verdict against a target."""

    ratios: tuple[float, ...]
    median: float
    low: float
    high: float
    verdict: str  # MET, MISSED or UNDECIDED

    def cell(self) -> str:
        return f"{self.median:.2f} [{self.low:.2f}-{self.high:.2f}]"


def parse_target(target: str) -> tuple[str, float]:
    """'<= 1.05' -> ('<=', 1.05); '>= 3' -> ('>=', 3.0)."""
    op, value = target.split()
    if op not in ("<=", ">="):
        raise ValueError(f"target {target!r}: expected '<= X' or '>= X'")
    return op, float(value)


def judge(numerator: Sequence[float], denominator: Sequence[float], target: str) -> Judged:
    """Ratios numerator[i] / denominator[i] (the same repeat's timings), their median and
    min-max, and the verdict: ``met`` when the whole spread satisfies ``target`` ('<= X' or
    '>= X'), ``missed`` when none of it does, else ``undecided``."""
    if len(numerator) != len(denominator) or not numerator:
        raise ValueError("one timing per repeat on each side, at least one repeat")
    ratios = tuple(n / d for n, d in zip(numerator, denominator, strict=True))
    low, high = min(ratios), max(ratios)
    op, value = parse_target(target)
    if op == "<=":
        verdict = MET if high <= value else MISSED if low > value else UNDECIDED
    else:
        verdict = MET if low >= value else MISSED if high < value else UNDECIDED
    return Judged(ratios, statistics.median(ratios), low, high, verdict)
