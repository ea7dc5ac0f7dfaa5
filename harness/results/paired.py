"""Paired per-image changes under common corruptions: what a defence fixes and what it breaks.

Two models see the same corrupted images, so their difference is best read image by image:
on corruption c (pooled over its severities) ``fixed`` counts the images the reference model got
wrong and the other model got right, ``broken`` the reverse. The net change in accuracy is
(fixed - broken) / n; McNemar's exact test (two-sided binomial on the discordant pairs) says how
likely a split at least that uneven would be if the two models were equally good on c.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from harness import stats
from harness.results.corruption import CorruptionAccuracy
from harness.stats import Interval


@dataclass(frozen=True)
class PairedChange:
    """One model against the reference model on one corruption, its severities pooled."""

    model: str
    reference: str
    corruption: str
    n: int  # image-severity pairs compared
    fixed: int  # the reference wrong, the model right
    broken: int  # the reference right, the model wrong
    p_value: float  # McNemar's exact test; 1.0 when no pair differs
    difference: Interval  # the model's accuracy minus the reference's, Newcombe's paired interval

    @property
    def net(self) -> float:
        """The model's accuracy minus the reference's over the ``n`` pairs."""
        return (self.fixed - self.broken) / self.n if self.n else 0.0


def paired_changes(
    rows: Sequence[CorruptionAccuracy], reference: str, model: str
) -> list[PairedChange]:
    """``model`` against ``reference`` on every corruption both were evaluated on with their
    per-image correctness kept (rows without it are skipped), in the reference's order."""
    mine = {(r.corruption, r.severity): r.correct_mask() for r in rows if r.model == model}
    pooled: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    for r in rows:
        theirs = mine.get((r.corruption, r.severity))
        ref = r.correct_mask() if r.model == reference else None
        if ref is not None and theirs is not None:
            pooled.setdefault(r.corruption, []).append((ref, theirs))
    return [_change(model, reference, c, pairs) for c, pairs in pooled.items()]


def _change(
    model: str, reference: str, corruption: str, pairs: list[tuple[np.ndarray, np.ndarray]]
) -> PairedChange:
    ref = np.concatenate([a for a, _ in pairs])
    other = np.concatenate([b for _, b in pairs])
    p = stats.paired_flags(other, ref)
    return PairedChange(
        model, reference, corruption, p.n, p.a_only, p.b_only, p.p_value, p.difference
    )
