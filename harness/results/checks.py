"""Records of the evaluation sanity checks (``harness.sanity``): plain data, no torch or ART.

A ``Check`` is one graded check of one model; a ``ModelProbe`` is what probing a live model
measured (the per-sample evidence of gradient masking is an ``EnsembleBreakdown``,
``harness.results.breakdowns``). Both round-trip through run.json, so a finished run's checks
can be read (and re-graded) without importing the code that measured them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"
SKIP = "SKIP"  # the check could not judge: too few samples for its test to say anything
STATUSES = (PASS, WARN, FAIL, SKIP)  # the order tallies list them in
SEVERITY = (SKIP, PASS, WARN, FAIL)  # least to most severe
RANDOM_TOL = 1e-4  # fra31's check_randomized alpha: L2 distance of L2-normalised output rows
SLACK = 1e-9  # 0.43 - 0.42 is 0.01000000000000001 in floats: not above 1 pp


def grade(excess: float, tol: tuple[float, float]) -> str:
    """The one grading rule of every tolerance band: PASS up to tol[0], WARN up to tol[1], FAIL
    beyond (each line within SLACK, so that a float just over it is not graded up)."""
    if excess <= tol[0] + SLACK:
        return PASS
    return WARN if excess <= tol[1] + SLACK else FAIL


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
    random_samples: int | None = None  # samples the passes compared (None: all n, older runs)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelProbe:
        return cls(**d)


def probes_off(spec: dict[str, Any]) -> bool:
    """True when the run switched its sanity probes off (resolved spec ``sanity.enabled: false``):
    the checks that need a probe of the live model did not run, whatever the tally says."""
    return (spec.get("sanity") or {}).get("enabled", True) is False


def summary(found: Iterable[Check]) -> str:
    """'12 PASS, 1 WARN, 0 FAIL' (and ', 1 SKIP' when a check could not judge)."""
    statuses = [c.status for c in found]
    counts = {s: statuses.count(s) for s in STATUSES}
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n or s != SKIP)
