"""Records of the evaluation sanity checks (``harness.sanity``): plain data, no torch or ART.

A ``Check`` is one graded check of one model; a ``ModelProbe`` is what probing a live model
measured; a ``PartBreaks`` is what an ordered set of attacks broke, part by part, at one eps
(the per-sample evidence of gradient masking). All round-trip through run.json, so a finished run's checks can be read (and re-graded)
without importing the code that measured them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
STATUSES = (PASS, WARN, FAIL)
RANDOM_TOL = 1e-4  # fra31's check_randomized alpha: L2 distance of L2-normalised output rows


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
    outputs_probabilities: bool  # outputs in (-1e-5, 1 + 1e-5), rows summing to 1 (± 1e-5)
    min_output: float  # smallest raw output value
    max_row_sum_error: float  # max over rows of |sum of the row - 1|
    deterministic: bool  # not random by fra31's check_randomized (older runs: 2 identical passes)
    max_output_diff: float  # max |difference| between those two passes
    unbounded_eps: float  # L-inf radius of the unbounded PGD, pixel units
    unbounded_steps: int
    unbounded_accuracy: float  # accuracy on the n samples under that PGD (true labels)
    num_classes: int
    randomized: bool = False  # random by design (e.g. randomized smoothing), declared by the run
    clean_accuracy: float | None = None  # on the n samples (None: probed before it was recorded)
    majority_share: float | None = None  # the most frequent true label's share of the n samples
    # fra31/auto-attack's flags (harness.model_probe); None/defaults in runs probed before them
    passes: int = 2  # forward passes compared for ``deterministic``
    max_normalized_diff: float | None = (
        None  # max L2 distance of L2-normalised rows, any two passes
    )
    correct_counts_differ: bool = False  # the number of correct predictions changed across passes
    max_output: float | None = None  # largest raw output value
    dlr_zero_grads: int | None = None  # of dlr_samples, those with an all-zero DLR input gradient
    dlr_samples: int | None = None  # samples correct at the random start (None: < 3 classes)
    dlr_eps: float | None = None  # L-inf radius of the random start of that gradient, pixel units
    # sample-steps the unbounded PGD took (it stops per sample at a misclassification; None:
    # probed before it did, every sample took every step)
    unbounded_sample_steps: int | None = None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelProbe:
        return cls(**d)


@dataclass(frozen=True)
class PartCount:
    """One part of an ordered ensemble: how many samples it broke that no earlier part had."""

    name: str  # the attack's (or the ensemble part's) name
    black_box: bool  # declared black-box: never uses the evaluated model's gradients
    broken_first: int  # samples this part broke that every earlier part (and clean) left


@dataclass(frozen=True)
class PartBreaks:
    """What the parts of one ordered ensemble broke, in turn, at one eps on one model.

    ``ensemble``: ``"attacks (linf)"`` for the spec's attacks of one norm (white-box first, then
    black-box), or an ensemble's name (AutoAttack in the reference's order). Counts are samples
    of the ``n`` test samples; ``clean_wrong`` were misclassified before any attack.
    """

    model: str
    ensemble: str
    eps: float  # pixel units, in the ensemble's norm
    n: int
    clean_wrong: int
    parts: list[PartCount]

    @property
    def black_box_only(self) -> int:
        """Samples broken by black-box parts after the last white-box part: what every
        white-box part left and a black-box one still broke (fra31's check_square_sr)."""
        last_white = max((i for i, p in enumerate(self.parts) if not p.black_box), default=-1)
        return sum(p.broken_first for p in self.parts[last_white + 1 :] if p.black_box)

    @property
    def white_box_parts(self) -> list[str]:
        return [p.name for p in self.parts if not p.black_box]

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> PartBreaks:
        return cls(**{**d, "parts": [PartCount(**p) for p in d["parts"]]})


def summary(found: Iterable[Check]) -> str:
    """'12 PASS, 1 WARN, 0 FAIL'."""
    statuses = [c.status for c in found]
    return ", ".join(f"{statuses.count(s)} {s}" for s in STATUSES)
