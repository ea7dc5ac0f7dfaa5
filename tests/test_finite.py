"""NaN or inf made during a run (harness.finite) stops it with one line naming the stage, where
it would otherwise be counted: the adversarial examples, the model's outputs, the metrics."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from conftest import SHAPE

from harness.attacks import ATTACKS
from harness.attacks.planned import PlannedAttack
from harness.errors import HarnessError
from harness.estimator import build_classifier
from harness.finite import require_finite
from harness.sweep import AttackOutcome, attack_sweep, clean_eval

pytestmark = pytest.mark.usefixtures("one_thread")
EPS = (0.0, 0.1, 0.5)


def _sweep(held_out, p: PlannedAttack) -> AttackOutcome:
    _, clf, x, y = held_out
    return attack_sweep(clf, p, x[:40], y[:40], clean_eval(clf, x[:40], 64), EPS, 64)


def test_require_finite_counts_the_bad_values_and_passes_good_ones() -> None:
    good = np.ones((2, 3), np.float32)
    assert require_finite(good, "x") is good
    with pytest.raises(HarnessError, match=r"^stage: the images hold NaN or inf \(2 of 4 values\)"):
        require_finite(np.array([1.0, np.nan, -np.inf, 0.0]), "stage: the images")


class _HalfNaN:
    """An ART-like attack whose examples are NaN on every other pixel: what DeepFool with
    overshoot inf gave on digits ((1 + inf) * 0 on each unchanged pixel), which the sweep
    counted as 90% success with a mean L-inf of 0."""

    def generate(self, x: np.ndarray, y: np.ndarray, **kwargs) -> np.ndarray:
        out = x.copy().reshape(len(x), -1)
        out[:, ::2] = np.nan
        return out.reshape(x.shape)


@pytest.mark.parametrize("strategy", ["independent", "nested", "project_once"])
def test_nan_adversarial_examples_stop_the_sweep_instead_of_counting(held_out, strategy) -> None:
    d = ATTACKS.get("deepfool")
    d = dataclasses.replace(d, make=lambda clf, eps, params: _HalfNaN(), sweep=strategy)
    p = PlannedAttack(d, dict(d.defaults), "df")
    at = r"0\.1" if strategy != "project_once" else r"\S+"  # run once, unbounded, then projected
    with pytest.raises(HarnessError, match=rf"^deepfool at eps {at}: the adversarial examples"):
        _sweep(held_out, p)


def test_a_non_finite_step_direction_stops_a_one_step_sweep(held_out) -> None:
    fgsm = ATTACKS.get("fgsm")

    def direction(clf, params, x, y, keys):
        logits, step = fgsm.direction(clf, params, x, y, keys)
        return logits, np.where(np.arange(step.size).reshape(step.shape) % 7 == 0, np.nan, step)

    p = PlannedAttack(dataclasses.replace(fgsm, direction=direction), dict(fgsm.defaults), "f")
    with pytest.raises(HarnessError, match=r"^fgsm: the step direction hold NaN or inf"):
        _sweep(held_out, p)


class _Broken(torch.nn.Module):
    """Logits that turn to NaN where the first pixel is above ``above``."""

    def __init__(self, above: float) -> None:
        super().__init__()
        self.above, self.linear = above, torch.nn.Linear(int(np.prod(SHAPE)), 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        logits = self.linear(x.flatten(1))
        bad = x.flatten(1)[:, :1] > self.above
        return torch.where(bad, torch.full_like(logits, float("nan")), logits)


def test_non_finite_model_outputs_stop_clean_evaluation(held_out) -> None:
    _, _, x, _ = held_out
    clf = build_classifier(_Broken(0.5), SHAPE, 3)
    with pytest.raises(HarnessError, match=r"^clean evaluation: the model's outputs hold NaN"):
        clean_eval(clf, x[:40], 64)


def test_non_finite_outputs_on_adversarial_examples_name_the_attack_and_eps(held_out) -> None:
    x = np.clip(held_out[2][:40], 0.0, 0.85)  # finite clean outputs; eps 0.1 crosses 0.9
    torch.manual_seed(0)
    clf = build_classifier(_Broken(0.9), SHAPE, 3)
    clean = clean_eval(clf, x, 64)
    d = ATTACKS.get("fgsm")
    p = PlannedAttack(dataclasses.replace(d, sweep="independent"), dict(d.defaults), "fgsm")
    with pytest.raises(HarnessError, match=r"^fgsm at eps 0\.1: the model's outputs hold NaN"):
        attack_sweep(clf, p, x, clean.pred, clean, EPS, 64)  # its own predictions: all attacked


def test_non_finite_metrics_stop_before_a_measurement_is_made() -> None:
    n = 4
    linf = np.array([[0.0] * n, [0.1, np.inf, 0.1, 0.1]])
    outcome = AttackOutcome(
        "pgd", (0.0, 0.1), np.ones((2, n), bool), np.ones(n, bool), linf, np.zeros((2, n))
    )
    with pytest.raises(HarnessError, match=r"^pgd at eps 0\.1: metrics hold NaN or inf"):
        outcome.measurements("baseline")
    assert len(dataclasses.replace(outcome, linf=np.zeros((2, n))).measurements("m")) == 8
