"""Timing for the speed benchmark (benchmarks/speed.py): contenders run interleaved, best of.

On a shared, loaded machine wall time mostly measures the queue for a core: a run that waited
looks slow. The default clock is therefore this process's CPU time (user + sys of all its
threads, ``time.process_time``), which counts only the work done; ``wall`` is there for an idle
machine or an accelerator (where the CPU waits on the device and CPU time says little).
Contenders alternate in order from one repeat to the next, so that a load change, a warm cache
or a first-call cost does not always fall on the same one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}


def best_of(
    contenders: dict[str, Callable[[], object]], repeat: int, clock: str = "cpu"
) -> dict[str, tuple[float, object]]:
    """{name: (best seconds over ``repeat`` runs, the last run's result)}; run in turns, the
    order reversed on every other repeat."""
    now = CLOCKS[clock]
    best: dict[str, tuple[float, object]] = {k: (float("inf"), None) for k in contenders}
    names = list(contenders)
    for r in range(max(repeat, 1)):
        for name in names if r % 2 == 0 else names[::-1]:
            start = now()
            out = contenders[name]()
            best[name] = (min(best[name][0], now() - start), out)
    return best
