"""The sizes a spec asks for, computed and bounded when it is read, before any work.

A size follows from the spec (a grid of ε, evasion steps, probe images, grid cells, corrupted
images); past its limit a run would exhaust the machine's memory or never finish, so it is one
line giving the number and the limit instead. Each limit is far above every shipped benchmark
(the figure in brackets).
"""

from __future__ import annotations

from harness.errors import HarnessError

MAX_EPSILONS = 100  # values of ``eps:``; every attack runs at each (7)
# FGSM grid points of the evasion (eps_max / eps_step); its images at every point are held at
# once, n_images x points of them (30)
MAX_EVASION_STEPS = 1_000
MAX_EVASION_IMAGES = 100  # evasion.n_images (6)
MAX_PROBE_IMAGES = 1_000_000  # images of a probe or of the sanity probe (1,000)
MAX_PROBE_STEPS = 10_000  # grid steps of the minimal probe's FGSM search (255)
MAX_GRID_CELLS = 10_000  # cells of a grid, each a run of its own (36)
MAX_CORRUPTED_IMAGES = 10_000_000  # corruptions x severities x n_images (37,500)


def at_most(n: float, limit: int, where: str, unit: str, how: str = "") -> None:
    """Refuse ``n`` ``unit`` above ``limit``; ``how`` says what gives the number."""
    if not n <= limit:  # NaN or inf too
        raise HarnessError(f"{where}: {how}{n:,.0f} {unit}; at most {limit:,}")
