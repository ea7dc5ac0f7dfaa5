"""Which swept ε a value names: one rule for every record that is indexed by ε."""

from __future__ import annotations

from collections.abc import Sequence

# Two ε are the same swept value when they differ by less than this: a spec's 8/255 and the
# float a record read back from JSON or CSV are the same ε, and no two swept ε are this close.
EPS_MATCH = 1e-9


def eps_position(values: Sequence[float], eps: float) -> int | None:
    """The index of ``eps`` in ``values`` (to ``EPS_MATCH``), or None when it is not there."""
    return next((i for i, e in enumerate(values) if abs(e - eps) < EPS_MATCH), None)
