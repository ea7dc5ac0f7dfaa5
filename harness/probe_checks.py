"""Grading what ``harness.model_probe`` measured on a live model: checks 0, 3, 6, 7, 8.

Each grader reads a ``ModelProbe`` and returns a status and one line naming the numbers that
decided it, with the threshold. Gradients, outputs and determinism follow fra31/auto-attack's
flags (``checks.py``: zero gradients, probabilities out, randomness) with its thresholds; the
trained and unbounded checks are Carlini et al. 2019's (§5). ``harness.sanity`` calls
``probe_checks`` among the run-level checks; ``grade``, ``pct`` and ``pp`` are shared with it.
"""

from __future__ import annotations

import math

from harness import formatting
from harness.results.checks import (
    FAIL,
    PASS,
    RANDOM_TOL,
    SEVERITY,
    SKIP,
    SLACK,
    WARN,
    Check,
    ModelProbe,
    grade,
)

TRAINED = "trained_above_chance"
UNBOUNDED = "unbounded_reaches_chance"
GRADIENTS = "gradients_healthy"
LOGITS = "logits_not_probabilities"
DETERMINISM = "deterministic"
PROBED = (TRAINED, UNBOUNDED, GRADIENTS, LOGITS, DETERMINISM)  # need a probe: off without one

GRADIENT_TOL = (0.01, 0.05)  # share of samples with all-zero or NaN/inf input gradients
CHANCE_MARGIN = 0.05  # the unbounded attack may leave chance + 5 pp
# Clean accuracy within this many binomial standard deviations of chance (sqrt(p (1 - p) / n),
# p = chance) is "not trained": an untrained model is above it with probability ~0.1%.
TRAINED_SD = 3.0
STATUS_ORDER = SEVERITY  # SKIP < PASS < WARN < FAIL


def pct(v: float | None) -> str:
    """A check's reason gives one decimal: 0.123 -> '12.3%'."""
    return formatting.pct(v, 1)


def pp(v: float | None) -> str:
    """0.012 -> '+1.2 pp'."""
    return formatting.pp(v, 1)


def best_guess(num_classes: int, majority_share: float | None) -> float:
    """What a model that ignores its input can score: the larger of 1 / classes and the most
    frequent true label's share (always guessing that class). The bar an untrained model meets."""
    return max(1 / num_classes, majority_share or 0.0)


def uniform_chance(num_classes: int) -> float:
    """1 / classes: a uniformly random guess. An unbounded attack should push accuracy at most
    this low; unlike ``best_guess`` it does not rise with class imbalance (a model fooled on
    every sample scores 0 whatever the class shares)."""
    return 1 / num_classes


def probe_checks(
    model: str, probe: ModelProbe | None, num_classes: int, *names: str
) -> list[Check]:
    """Checks 0, 3, 6 and 7, from the probe of ``model`` (none without a probe, or when the
    probe lacks what a check needs)."""
    if probe is None:
        return []
    graders = {
        TRAINED: _trained,
        UNBOUNDED: _unbounded,
        GRADIENTS: _gradients,
        LOGITS: _logits,
        DETERMINISM: _determinism,
    }
    out = []
    for name in names:
        graded = graders[name](probe, num_classes)
        if graded is not None:
            status, why = graded
            out.append(Check(name, status, model, why))
    return out


def _trained(p: ModelProbe, num_classes: int) -> tuple[str, str] | None:
    """Check 0: clean accuracy more than TRAINED_SD binomial SDs above ``best_guess`` (what a
    model ignoring its input scores)."""
    if p.clean_accuracy is None or p.majority_share is None or p.n == 0:
        return None
    guess = best_guess(num_classes, p.majority_share)
    bar = guess + TRAINED_SD * math.sqrt(guess * (1 - guess) / p.n)
    why = (
        f"clean accuracy {pct(p.clean_accuracy)} on {p.n} samples vs best constant guess "
        f"{pct(guess)} (max of 1/{num_classes} and the majority class's share); PASS above "
        f"{pct(bar)} (best guess + {TRAINED_SD:g} binomial SD)"
    )
    if bar >= 1 - SLACK:  # not even every sample right would pass: the test cannot speak
        return SKIP, why + ": could not judge, too few samples (raise dataset.n_test)"
    status = PASS if p.clean_accuracy > bar + SLACK else FAIL
    return status, why + (": the model looks untrained" if status != PASS else "")


def _unbounded(p: ModelProbe, num_classes: int) -> tuple[str, str]:
    chance = uniform_chance(num_classes)
    status = PASS if p.unbounded_accuracy <= chance + CHANCE_MARGIN + SLACK else FAIL
    why = (
        f"PGD at eps {p.unbounded_eps:g} ({p.unbounded_steps} steps) leaves "
        f"{pct(p.unbounded_accuracy)} of {p.n} samples accurate (PASS <= uniform chance "
        f"1/{num_classes} = {pct(chance)} {pp(CHANCE_MARGIN)})"
    )
    if p.unbounded_sample_steps is not None:  # each sample stops at its first misclassification
        most = p.n * p.unbounded_steps
        why += f", {p.unbounded_sample_steps:,} of at most {most:,} sample-steps (early stop)"
    hint = ": an unbounded attack should reach chance; gradient masking?"
    return status, why + (hint if status != PASS else "")


def _gradients(p: ModelProbe, num_classes: int) -> tuple[str, str]:
    """CE gradients at x (share of samples), then fra31's check_zero_gradients: the DLR gradient
    at APGD's random start, where any all-zero sample is a warning and over 5% a failure."""
    status = grade(max(p.zero_grad_share, p.nonfinite_grad_share), GRADIENT_TOL)
    why = (
        f"{pct(p.zero_grad_share)} of {p.n} samples have an all-zero input gradient, "
        f"{pct(p.nonfinite_grad_share)} a NaN/inf one (WARN > {pct(GRADIENT_TOL[0])}, "
        f"FAIL > {pct(GRADIENT_TOL[1])})"
    )
    if p.dlr_zero_grads is not None:
        dlr = grade(p.dlr_zero_grads / max(p.dlr_samples or 0, 1), (0.0, GRADIENT_TOL[1]))
        status = max(status, dlr, key=STATUS_ORDER.index)
        why += (
            f"; DLR gradient at APGD's random start (eps {p.dlr_eps or 0:g}) all zero for "
            f"{p.dlr_zero_grads} of {p.dlr_samples} samples correct there (fra31's "
            f"check_zero_gradients: WARN > 0, FAIL > {pct(GRADIENT_TOL[1])})"
        )
    hint = ": gradient attacks cannot move these inputs (non-differentiable layer or saturation?)"
    return status, why + (hint if status != PASS else "")


def _logits(p: ModelProbe, num_classes: int) -> tuple[str, str]:
    top = f", max {p.max_output:.3g}" if p.max_output is not None else ""
    numbers = f"min output {p.min_output:.3g}{top}, max |row sum - 1| {p.max_row_sum_error:.2g}"
    rule = "fra31's check_range_output: all in (-1e-5, 1 + 1e-5), rows summing to 1 within 1e-5"
    if p.outputs_probabilities:
        return FAIL, (
            f"outputs are probabilities ({numbers}; {rule}): softmax before the loss hides "
            "gradients; give the attacks logits"
        )
    return PASS, f"outputs are not probabilities ({numbers}; {rule})"


def _determinism(p: ModelProbe, num_classes: int) -> tuple[str, str]:
    measured = f"{p.passes} forward passes of {p.random_samples or p.n} samples"
    if p.max_normalized_diff is not None:
        counts = "changed" if p.correct_counts_differ else "did not change"
        measured += (
            f": L2-normalised outputs differ by up to {p.max_normalized_diff:.2g} (random above "
            f"{RANDOM_TOL:g}, fra31's check_randomized), the correct count {counts}"
        )
    else:
        measured += f" differ by up to {p.max_output_diff:.3g}"
    if p.deterministic:
        return PASS, measured
    rand = (
        "; AutoAttack's rand version (APGD-CE and APGD-DLR with EoT over 20 samples) is "
        "required, the standard one overstates robustness"
    )
    if p.randomized:
        return WARN, f"random by design ({measured}): accuracies carry Monte Carlo noise{rand}"
    return FAIL, f"random outputs ({measured}): attacks and accuracies are noisy{rand}"
