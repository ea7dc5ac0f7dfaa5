"""fra31/auto-attack's flags as the probe measures them: randomness, probabilities, zero DLR
gradients, each with the reference's threshold in its line."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import SHAPE
from torch import nn

from harness import model_probe
from harness.estimator import build_classifier
from harness.model_probe import probe_model
from harness.results import FAIL, PASS, WARN
from harness.sanity import DETERMINISM, GRADIENTS, LOGITS, checks

pytestmark = pytest.mark.usefixtures("one_thread")


class Jitter(nn.Module):
    """Adds noise of relative size ``scale`` to the logits on every call."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * (1 + self.scale * torch.randn_like(x))


class Quantize(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * 4) / 4


def graded(model: nn.Module, x, y, randomized: bool = False, eps: float | None = 0.1):
    probe = probe_model(model, build_classifier(model, SHAPE, 3), x, y, 64, 0, randomized, eps)
    return probe, {c.name: c for c in checks([], [], {"m": probe}, 3)}


def test_noise_below_the_reference_alpha_is_not_random(held_out) -> None:
    model, _, x, y = held_out
    probe, found = graded(nn.Sequential(model, Jitter(1e-7)).eval(), x, y)
    assert probe.passes == 5 and probe.max_output_diff > 0
    assert probe.max_normalized_diff < 1e-4 and probe.deterministic
    assert found[DETERMINISM].status == PASS and "check_randomized" in found[DETERMINISM].why


def test_random_outputs_require_the_rand_version(held_out) -> None:
    model, _, x, y = held_out
    noisy = nn.Sequential(model, Jitter(1e-2)).eval()
    probe, found = graded(noisy, x, y)
    assert probe.max_normalized_diff > 1e-4 and not probe.deterministic
    assert found[DETERMINISM].status == FAIL and "rand version" in found[DETERMINISM].why
    _, declared = graded(noisy, x, y, randomized=True)
    assert declared[DETERMINISM].status == WARN and "rand version" in declared[DETERMINISM].why


def test_the_extra_passes_leave_torch_generator_as_two_passes_did(held_out, monkeypatch) -> None:
    model, _, x, y = held_out
    noisy = nn.Sequential(model, Jitter(1e-2)).eval()
    torch.manual_seed(5)
    graded(noisy, x, y)
    after_five = torch.rand(3)
    monkeypatch.setattr(model_probe, "RANDOM_PASSES", 2)
    torch.manual_seed(5)
    graded(noisy, x, y)
    assert torch.equal(torch.rand(3), after_five)


def test_probabilities_by_the_reference_range(held_out) -> None:
    model, _, x, y = held_out
    probe, found = graded(nn.Sequential(model, nn.Softmax(dim=1)).eval(), x, y)
    assert probe.outputs_probabilities and probe.max_output <= 1 + 1e-5
    assert found[LOGITS].status == FAIL and "check_range_output" in found[LOGITS].why
    # scaled probabilities sum to 2: no longer a distribution
    doubled = nn.Sequential(model, nn.Softmax(dim=1), Jitter(0.0))
    doubled[2].forward = lambda t: 2 * t  # type: ignore[method-assign]
    probe, _ = graded(doubled.eval(), x, y)
    assert not probe.outputs_probabilities


def test_zero_dlr_gradients_at_the_random_start(held_out) -> None:
    model, _, x, y = held_out
    healthy, found = graded(model, x, y)
    assert healthy.dlr_zero_grads == 0 and healthy.dlr_samples > 0 and healthy.dlr_eps == 0.1
    assert found[GRADIENTS].status == PASS and "check_zero_gradients" in found[GRADIENTS].why
    masked, found = graded(nn.Sequential(Quantize(), model).eval(), x, y)
    assert masked.dlr_zero_grads == masked.dlr_samples > 0
    assert found[GRADIENTS].status == FAIL


def test_an_old_probe_without_the_reference_fields_still_grades(held_out) -> None:
    model, _, x, y = held_out
    probe, _ = graded(model, x, y)
    d = {k: v for k, v in probe.__dict__.items() if not k.startswith(("dlr", "max_norm"))}
    old = type(probe)(**{**d, "passes": 2})
    found = {c.name: c for c in checks([], [], {"m": old}, 3)}
    assert found[GRADIENTS].status == PASS and "DLR" not in found[GRADIENTS].why
    assert np.isfinite(old.min_output)
