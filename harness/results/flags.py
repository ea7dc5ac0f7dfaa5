"""Per-image correctness, kept so that two models on the same images are compared image by image.

One ``SampleFlags`` per (model, attack): for every ε of the sweep and every test image, whether
the model was still right (``attack`` "none": clean, one row). The worst case over the
untargeted attacks has its own. run.json stores them packed (``harness.results.bits``); a run
written before they were kept has none, and its comparisons fall back to unpaired intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.results import bits
from harness.results.epsilons import eps_position

CLEAN = "none"


@dataclass(frozen=True)
class SampleFlags:
    model: str  # the model's role
    attack: str  # the attack's name in the run; "none": clean predictions
    eps: tuple[float, ...]  # the rows, in the sweep's order
    n: int  # test images (the columns, in the test set's order)
    bits: str  # (len(eps), n) bool, packed: still correct

    def mask(self) -> np.ndarray:
        return bits.unpack(self.bits, (len(self.eps), self.n))

    def at(self, eps: float) -> np.ndarray | None:
        """The (n,) flags at ``eps``, or None when it was not swept."""
        row = eps_position(self.eps, eps)
        return None if row is None else self.mask()[row]

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "attack": self.attack,
            "eps": list(self.eps),
            "n": self.n,
            "bits": self.bits,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SampleFlags:
        return cls(d["model"], d["attack"], tuple(d["eps"]), int(d["n"]), d["bits"])


def flags(model: str, attack: str, eps: Sequence[float], correct: np.ndarray) -> SampleFlags:
    """``correct``: (len(eps), n) or (n,) bool."""
    mask = np.atleast_2d(np.asarray(correct, dtype=bool))
    return SampleFlags(model, attack, tuple(float(e) for e in eps), mask.shape[1], bits.pack(mask))


def find(
    found: Sequence[SampleFlags], model: str, attack: str, eps: float = 0.0
) -> np.ndarray | None:
    """The (n,) flags of ``model`` under ``attack`` at ``eps`` (clean: attack "none"), if kept."""
    for f in found:
        if (f.model, f.attack) == (model, attack):
            return f.at(0.0 if attack == CLEAN else eps)
    return None
