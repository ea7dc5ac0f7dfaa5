"""Sanity checks: a gradient-masked model is flagged, each check has a case that trips it."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from conftest import SHAPE
from torch import nn

from harness.architectures import ARCHITECTURES, wrap
from harness.attacks import ATTACKS
from harness.attacks.planned import PlannedAttack
from harness.estimator import build_classifier
from harness.model_probe import probe_model
from harness.report import section_sanity
from harness.results import AttackRecord, Check, Measurement, ModelProbe, summary
from harness.runner import run
from harness.sanity import (
    BLACK_BOX,
    DETERMINISM,
    EFFORT,
    FAIL,
    GRADIENTS,
    ITERATIVE,
    LOGITS,
    MONOTONE,
    PASS,
    TRAINED,
    UNBOUNDED,
    WARN,
    checks,
)
from harness.spec import AttackSpec, parse_spec
from harness.sweep import clean_eval, sweep

pytestmark = pytest.mark.usefixtures("one_thread")
EPS = (0.0, 0.05, 0.1, 0.2, 1.0)


class Quantize(nn.Module):
    """Rounds pixels to 5 grey levels; round's gradient is zero, so gradients vanish."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * 4) / 4


class Noisy(nn.Module):
    """Adds fresh noise to the logits on every call, in train and eval mode alike."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1e-3 * torch.rand_like(x)


def attack(name: str, **params) -> PlannedAttack:
    d = ATTACKS.get(name)
    return PlannedAttack(d, d.resolve(AttackSpec(name, params)))


def record(p: PlannedAttack) -> AttackRecord:
    d = p.definition
    return AttackRecord(name=p.name, attack=d.name, norm=d.norm, params=p.params, sweep=d.sweep)


def evaluate(model: nn.Module, x: np.ndarray, y: np.ndarray):
    """Probe and real fgsm/pgd measurements over EPS, graded: (probe, checks)."""
    clf = build_classifier(model, SHAPE, 3)
    planned = [attack("fgsm"), attack("pgd", steps=10)]
    rows, _ = sweep("m", clf, x, y, clean_eval(clf, x, 256), planned, EPS, 256)
    probe = probe_model(model, clf, x, y, n=128)
    return probe, checks(rows, [record(p) for p in planned], {"m": probe}, 3)


def status(found: list[Check], name: str) -> set[str]:
    return {c.status for c in found if c.name == name}


# ---------------------------------------------------------------- live models


@pytest.fixture(scope="module")
def normal(held_out):
    model, _, x, y = held_out
    return evaluate(model, x, y)


@pytest.fixture(scope="module")
def masked(held_out):
    model, _, x, y = held_out
    return evaluate(nn.Sequential(Quantize(), model).eval(), x, y)


def test_the_normal_model_passes_every_check(normal) -> None:
    probe, found = normal
    assert probe.zero_grad_share == 0 and probe.nonfinite_grad_share == 0
    assert probe.deterministic and not probe.outputs_probabilities
    assert probe.unbounded_accuracy <= 1 / 3 + 0.05
    assert {c.name for c in found} == {
        TRAINED,
        ITERATIVE,
        MONOTONE,
        UNBOUNDED,
        GRADIENTS,
        LOGITS,
        DETERMINISM,
    }
    assert all(c.status == PASS for c in found), [c for c in found if c.status != PASS]
    assert all(c.model == "m" and "\n" not in c.why for c in found)


def test_a_gradient_masked_model_fails_gradients_and_the_unbounded_attack(masked) -> None:
    probe, found = masked
    assert probe.zero_grad_share == 1.0
    assert probe.unbounded_accuracy > 0.5  # PGD cannot move the input: clean accuracy stays
    assert status(found, GRADIENTS) == {FAIL}
    assert status(found, UNBOUNDED) == {FAIL}
    (unbounded,) = [c for c in found if c.name == UNBOUNDED]
    assert "gradient masking" in unbounded.why
    assert status(found, LOGITS) == status(found, DETERMINISM) == {PASS}
    assert status(found, ITERATIVE) and status(found, MONOTONE)  # real measurements were graded


def test_the_unbounded_pgd_stops_each_sample_at_its_first_misclassification(normal, masked):
    steps = 20  # model_probe.UNBOUNDED_PGD
    probe, _ = normal
    correct = round(probe.clean_accuracy * probe.n)
    assert 0 < probe.unbounded_sample_steps < correct * steps / 2  # most leave within a few steps
    probe, _ = masked  # nothing moves: each sample correct at x takes every step, the others none
    assert probe.unbounded_sample_steps == round(probe.clean_accuracy * probe.n) * steps


def test_a_model_ending_in_softmax_fails_the_logits_check(held_out) -> None:
    model, _, x, y = held_out
    soft = nn.Sequential(model, nn.Softmax(dim=1)).eval()
    probe = probe_model(soft, build_classifier(soft, SHAPE, 3), x, y, n=64)
    assert probe.outputs_probabilities and probe.n == 64
    found = checks([], [], {"m": probe}, 3)
    assert status(found, LOGITS) == {FAIL}
    assert "softmax" in next(c.why for c in found if c.name == LOGITS)


def test_a_model_with_noise_in_eval_mode_fails_the_determinism_check(held_out) -> None:
    model, _, x, y = held_out
    noisy = nn.Sequential(model, Noisy()).eval()
    probe = probe_model(noisy, build_classifier(noisy, SHAPE, 3), x, y, n=64)
    assert not probe.deterministic and 0 < probe.max_output_diff < 2e-3
    assert status(checks([], [], {"m": probe}, 3), DETERMINISM) == {FAIL}


def test_probe_model_does_not_modify_its_inputs(held_out) -> None:
    model, clf, x, y = held_out
    x, y = x.copy(), y.copy()
    x.setflags(write=False)
    y.setflags(write=False)
    before = x.copy()
    probe_model(model, clf, x, y, n=16)
    np.testing.assert_array_equal(x, before)


def test_probe_and_checks_round_trip_through_json(normal) -> None:
    probe, found = normal
    d = json.loads(json.dumps(dataclasses.asdict(probe)))
    assert ModelProbe.from_dict(d) == probe
    back = [
        Check.from_dict(c) for c in json.loads(json.dumps([dataclasses.asdict(c) for c in found]))
    ]
    assert back == found


# ---------------------------------------------------------------- result-level checks, by hand

FGSM = AttackRecord(name="fgsm", attack="fgsm", norm="linf", params={}, sweep="one_step")
PGD = AttackRecord(name="pgd", attack="pgd", norm="linf", params={"steps": 10}, sweep="nested")
SQUARE = AttackRecord(name="square", attack="square", norm="linf", params={}, sweep="nested")


def rows(attack: str, values: dict[float, float], model: str = "m") -> list[Measurement]:
    return [Measurement(model, attack, e, "robust_accuracy", v) for e, v in values.items()]


def test_pgd_above_fgsm_by_10_pp_fails_and_below_passes() -> None:
    fgsm = rows("fgsm", {0.0: 0.9, 0.1: 0.40, 0.2: 0.20})
    bad = checks(fgsm + rows("pgd", {0.0: 0.9, 0.1: 0.30, 0.2: 0.30}), [FGSM, PGD], {}, 3)
    assert status(bad, ITERATIVE) == {FAIL}
    assert "+10.0 pp" in next(c.why for c in bad if c.name == ITERATIVE)
    good = checks(fgsm + rows("pgd", {0.0: 0.9, 0.1: 0.30, 0.2: 0.10}), [FGSM, PGD], {}, 3)
    assert status(good, ITERATIVE) == {PASS}


def test_pgd_above_fgsm_within_one_to_three_pp_warns() -> None:
    found = checks(rows("fgsm", {0.1: 0.42}) + rows("pgd", {0.1: 0.44}), [FGSM, PGD], {}, 3)
    assert status(found, ITERATIVE) == {WARN}
    exactly_one_pp = checks(
        rows("fgsm", {0.1: 0.42}) + rows("pgd", {0.1: 0.43}), [FGSM, PGD], {}, 3
    )
    assert status(exactly_one_pp, ITERATIVE) == {PASS}


def test_pgd_l2_and_targeted_attacks_are_not_compared_with_fgsm() -> None:
    l2 = dataclasses.replace(PGD, name="pgd_l2", attack="pgd_l2", norm="l2")
    targeted = dataclasses.replace(PGD, name="pgd_t", params={"targeted": True})
    ms = rows("fgsm", {0.1: 0.1}) + rows("pgd_l2", {0.1: 0.9}) + rows("pgd_t", {0.1: 0.9})
    assert status(checks(ms, [FGSM, l2, targeted], {}, 3), ITERATIVE) == set()


def test_accuracy_rising_with_eps_fails_and_a_small_rise_warns() -> None:
    rising = checks(rows("fgsm", {0.0: 0.9, 0.1: 0.3, 0.2: 0.5}), [FGSM], {}, 3)
    assert status(rising, MONOTONE) == {FAIL}
    assert "+20.0 pp" in next(c.why for c in rising if c.name == MONOTONE)
    noisy = checks(rows("fgsm", {0.0: 0.9, 0.1: 0.3, 0.2: 0.305}), [FGSM], {}, 3)
    assert status(noisy, MONOTONE) == {WARN}
    falling = checks(rows("fgsm", {0.0: 0.9, 0.1: 0.3, 0.2: 0.3}), [FGSM], {}, 3)
    assert status(falling, MONOTONE) == {PASS}


def test_square_below_pgd_by_10_pp_fails_and_above_passes() -> None:
    white = rows("fgsm", {0.1: 0.5}) + rows("pgd", {0.1: 0.4})
    bad = checks(white + rows("square", {0.1: 0.3}), [FGSM, PGD, SQUARE], {}, 3)
    assert status(bad, BLACK_BOX) == {FAIL}
    assert "masked gradients" in next(c.why for c in bad if c.name == BLACK_BOX)
    warn = checks(white + rows("square", {0.1: 0.37}), [FGSM, PGD, SQUARE], {}, 3)
    assert status(warn, BLACK_BOX) == {WARN}
    good = checks(white + rows("square", {0.1: 0.45}), [FGSM, PGD, SQUARE], {}, 3)
    assert status(good, BLACK_BOX) == {PASS}


def test_more_steps_more_robust_fails_and_less_robust_passes() -> None:
    more = dataclasses.replace(PGD, name="pgd_100", params={"steps": 100})
    few = rows("pgd", {0.0: 0.9, 0.1: 0.30})
    bad = checks(few + rows("pgd_100", {0.0: 0.9, 0.1: 0.40}), [PGD, more], {}, 3)
    assert status(bad, EFFORT) == {FAIL}
    assert "steps 10 -> 100" in next(c.why for c in bad if c.name == EFFORT)
    good = checks(few + rows("pgd_100", {0.0: 0.9, 0.1: 0.25}), [PGD, more], {}, 3)
    assert status(good, EFFORT) == {PASS}


def test_more_restarts_count_as_more_effort_but_other_changes_do_not() -> None:
    restarts = dataclasses.replace(PGD, name="pgd_r5", params={"steps": 10, "restarts": 5})
    one = dataclasses.replace(PGD, params={"steps": 10, "restarts": 1})
    ms = rows("pgd", {0.1: 0.30}) + rows("pgd_r5", {0.1: 0.32})
    assert status(checks(ms, [one, restarts], {}, 3), EFFORT) == {WARN}
    other = dataclasses.replace(restarts, params={"steps": 10, "restarts": 5, "step_size": 0.01})
    assert status(checks(ms, [one, other], {}, 3), EFFORT) == set()  # not comparable: no check


def probe(**changes) -> ModelProbe:
    healthy = ModelProbe(
        n=256,
        zero_grad_share=0.0,
        nonfinite_grad_share=0.0,
        outputs_probabilities=False,
        min_output=-3.0,
        max_row_sum_error=2.0,
        deterministic=True,
        max_output_diff=0.0,
        unbounded_eps=1.0,
        unbounded_steps=20,
        unbounded_accuracy=0.0,
        num_classes=10,
    )
    return dataclasses.replace(healthy, **changes)


@pytest.mark.parametrize(
    ("changes", "name", "expected"),
    [
        ({}, UNBOUNDED, PASS),
        ({"unbounded_accuracy": 0.15}, UNBOUNDED, PASS),  # chance 10% + 5 pp
        ({"unbounded_accuracy": 0.16}, UNBOUNDED, FAIL),
        ({}, GRADIENTS, PASS),
        ({"zero_grad_share": 0.02}, GRADIENTS, WARN),
        ({"zero_grad_share": 0.06}, GRADIENTS, FAIL),
        ({"nonfinite_grad_share": 0.03}, GRADIENTS, WARN),
        ({"nonfinite_grad_share": 0.5}, GRADIENTS, FAIL),
        ({}, LOGITS, PASS),
        ({"outputs_probabilities": True}, LOGITS, FAIL),
        ({}, DETERMINISM, PASS),
        ({"deterministic": False, "max_output_diff": 0.1}, DETERMINISM, FAIL),
        # chance 10% of 10 classes, 256 samples: 3 binomial SD = 5.6 pp, PASS above 15.6%
        ({"clean_accuracy": 0.97, "majority_share": 0.1}, TRAINED, PASS),
        ({"clean_accuracy": 0.16, "majority_share": 0.1}, TRAINED, PASS),
        ({"clean_accuracy": 0.15, "majority_share": 0.1}, TRAINED, FAIL),
        ({"clean_accuracy": 0.0, "majority_share": 0.1}, TRAINED, FAIL),
        # one class is half the samples: always guessing it scores 50%, PASS above 59.4%
        ({"clean_accuracy": 0.55, "majority_share": 0.5}, TRAINED, FAIL),
        ({"clean_accuracy": 0.6, "majority_share": 0.5}, TRAINED, PASS),
    ],
)
def test_probe_checks_are_graded_by_their_thresholds(changes, name, expected) -> None:
    assert status(checks([], [], {"robust": probe(**changes)}, 10), name) == {expected}


def test_checks_are_per_model_and_summarised() -> None:
    ms = rows("fgsm", {0.1: 0.3, 0.2: 0.5}, "baseline") + rows("fgsm", {0.1: 0.3}, "robust")
    found = checks(ms, [FGSM], {"robust": probe(deterministic=False)}, 10)
    assert [(c.model, c.name, c.status) for c in found] == [
        ("baseline", MONOTONE, FAIL),
        ("robust", UNBOUNDED, PASS),
        ("robust", GRADIENTS, PASS),
        ("robust", LOGITS, PASS),
        ("robust", DETERMINISM, FAIL),
    ]
    assert summary(found) == "3 PASS, 0 WARN, 2 FAIL"
    assert summary([]) == "0 PASS, 0 WARN, 0 FAIL"


def test_a_probe_without_clean_accuracy_has_no_trained_check() -> None:
    """run.json files written before the check existed read back without it."""
    assert status(checks([], [], {"m": probe()}, 10), TRAINED) == set()


def test_an_untrained_model_fails_the_trained_check(held_out) -> None:
    _, _, x, y = held_out
    torch.manual_seed(0)
    untrained = wrap(ARCHITECTURES.get("small_cnn").build(SHAPE, 3), (0.5,), (0.5,), 1).eval()
    found = [c for c in evaluate(untrained, x, y)[1] if c.name == TRAINED]
    assert [c.status for c in found] == [FAIL] and "looks untrained" in found[0].why


def test_an_epochs_0_run_fails_the_trained_check_in_its_report(tmp_path) -> None:
    spec = parse_spec({
        "name": "untrained", "threads": 1, "dataset": {"name": "digits", "n_test": 60},
        "model": {"arch": "small_cnn", "train": {"epochs": 0}}, "attacks": ["fgsm"],
        "eps": [0, 0.1], "defence": None, "evasion": {"n_images": 0}, "gradcam": {"n_images": 0},
    })  # fmt: skip
    result = run(spec, models_dir=tmp_path)
    (trained,) = [c for c in result.sanity if c.name == TRAINED]
    assert (trained.model, trained.status) == ("baseline", FAIL), trained
    assert f"| baseline | {TRAINED} | FAIL | clean accuracy" in section_sanity(result.sanity)
