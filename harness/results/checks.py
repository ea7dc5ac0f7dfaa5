"""Records of the evaluation sanity checks (``harness.sanity``): plain data, no torch or ART.

A ``Check`` is one graded check of one model; a ``ModelProbe`` is what probing a live model
measured. Both round-trip through run.json, so a finished run's checks can be read (and re-graded)
without importing the code that measured them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
STATUSES = (PASS, WARN, FAIL)


@dataclass(frozen=True)
class Check:
    name: str  # one of harness.sanity.NAMES
    status: str  # one of STATUSES
    model: str  # "baseline", "robust", ...
    why: str  # one line, with the numbers that decided the status

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Check:
        return cls(**d)


@dataclass(frozen=True)
class ModelProbe:
    """What ``probe_model`` measured on one model; plain floats, ints and bools (JSON-ready)."""

    n: int  # samples probed
    zero_grad_share: float  # samples whose input gradient of the CE loss is all zero / n
    nonfinite_grad_share: float  # samples whose input gradient has a NaN or inf / n
    outputs_probabilities: bool  # every output row non-negative and summing to 1 (± 1e-4)
    min_output: float  # smallest raw output value
    max_row_sum_error: float  # max over rows of |sum of the row - 1|
    deterministic: bool  # two forward passes of the same inputs gave identical outputs
    max_output_diff: float  # max |difference| between those two passes
    unbounded_eps: float  # L-inf radius of the unbounded PGD, pixel units
    unbounded_steps: int
    unbounded_accuracy: float  # accuracy on the n samples under that PGD (true labels)
    num_classes: int
    randomized: bool = False  # random by design (e.g. randomized smoothing), declared by the run
    clean_accuracy: float | None = None  # on the n samples (None: probed before it was recorded)
    majority_share: float | None = None  # the most frequent true label's share of the n samples

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelProbe:
        return cls(**d)


def summary(found: Iterable[Check]) -> str:
    """'12 PASS, 1 WARN, 0 FAIL'."""
    statuses = [c.status for c in found]
    return ", ".join(f"{statuses.count(s)} {s}" for s in STATUSES)
