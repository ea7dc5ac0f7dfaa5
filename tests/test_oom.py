"""Out of memory on a batch: the batch is halved and retried down to one sample, every fallback
is recorded (run.json, the report), and the numbers are those of a run made with the smaller
batch. The model here raises ``torch.OutOfMemoryError`` as a GPU would, on the CPU."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import SHAPE, fit_tiny, task
from torch import nn

from harness import oom
from harness.api import benchmark
from harness.architectures import ARCHITECTURES
from harness.attacks import ATTACKS
from harness.attacks.planned import PlannedAttack
from harness.datasets import load_dataset
from harness.estimator import build_classifier, predict_logits
from harness.explain import cam_layer, gradcam, gradcam_raw
from harness.report import write_report
from harness.results import BatchFallback, RunResult, rundir
from harness.spec import AttackSpec, DataSpec, TrainSpec
from harness.sweep import attack_sweep, clean_eval
from harness.training import TrainData, evaluate, train_standard


class OutOfMemoryAbove(nn.Module):
    """``inner``, except that a batch of more than ``limit`` samples runs out of memory."""

    def __init__(self, inner: nn.Module, limit: int) -> None:
        super().__init__()
        self.inner, self.limit = inner, limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if len(x) > self.limit:
            raise torch.OutOfMemoryError(f"out of memory: {len(x)} samples > {self.limit} (test)")
        return self.inner(x)


def planned(name: str, batch_size: int, **params) -> PlannedAttack:
    d = ATTACKS.get(name)
    return PlannedAttack(d, d.resolve(AttackSpec(name, params | {"batch_size": batch_size})))


def test_halving_gives_the_numbers_of_the_smaller_batch(held_out, one_thread) -> None:
    model, small, x, y = held_out
    flaky = build_classifier(OutOfMemoryAbove(model, 12), SHAPE, 3)
    eps = [0.0, 0.05, 0.1]
    with oom.recording() as fallbacks:
        clean = clean_eval(flaky, x, 100)
        got = [
            attack_sweep(flaky, planned(a, 100, **p), x, y, clean, eps, 100) for a, p in ATTACKS_RUN
        ]
    want_clean = clean_eval(small, x, 12)
    want = [
        attack_sweep(small, planned(a, 12, **p), x, y, want_clean, eps, 12) for a, p in ATTACKS_RUN
    ]
    np.testing.assert_array_equal(clean.pred, want_clean.pred)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.robust, w.robust)
        np.testing.assert_array_equal(g.linf, w.linf)
        assert g.robust[1:].sum() < g.robust[0].sum()  # the attacks did break something
    # 100 -> 50 -> 25 -> 12, once per kind of call: the smaller size is kept afterwards
    assert [(f.where, f.batch_size, f.retried_with) for f in fallbacks] == [
        *(("predict", a, b) for a, b in ((100, 50), (50, 25), (25, 12))),
        *(("loss_gradient", a, b) for a, b in ((100, 50), (50, 25), (25, 12))),
    ]
    assert {f.device for f in fallbacks} == {"cpu"}


ATTACKS_RUN = [("fgsm", {}), ("pgd", {"steps": 3})]


def test_down_to_one_sample_then_the_error_propagates(held_out) -> None:
    model, _, x, _ = held_out
    with oom.recording() as fallbacks:
        one = predict_logits(OutOfMemoryAbove(model, 1), x[:5], batch_size=4)
        with pytest.raises(torch.OutOfMemoryError):
            predict_logits(OutOfMemoryAbove(model, 0), x[:5], batch_size=4)
    np.testing.assert_allclose(one, predict_logits(model, x[:5]), rtol=1e-5, atol=1e-6)
    assert [(f.batch_size, f.retried_with) for f in fallbacks] == [(4, 2), (2, 1), (4, 2), (2, 1)]


def test_other_errors_are_not_retried(held_out) -> None:
    _, _, x, _ = held_out

    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise RuntimeError("shape mismatch")

    with oom.recording() as fallbacks, pytest.raises(RuntimeError, match="shape mismatch"):
        predict_logits(Broken(), x[:4])
    assert fallbacks == []


@pytest.fixture(scope="module")
def digits_net():
    """A small_cnn fitted to 300 digits images on raw [0, 1] pixels."""
    data = load_dataset(DataSpec(n_train=300), 0)
    torch.manual_seed(0)
    net = ARCHITECTURES.get("small_cnn").build(data.input_shape, data.num_classes)
    fit_tiny(net, data.x_train[:], data.y_train)  # a lazy split read whole
    return net


def _run(model: nn.Module, batch: int) -> RunResult:
    attacks = [
        {"name": "fgsm", "batch_size": batch},
        {"name": "pgd", "steps": 3, "batch_size": batch},
    ]
    return benchmark(
        model,
        attacks=attacks,
        eps=[0.0, 0.1],
        n_test=60,
        eval_batch_size=batch,
        evasion={"n_images": 0},
        gradcam={"n_images": 0},
        threads=1,
    )


def test_a_run_records_its_fallbacks_in_run_json_and_the_report(digits_net, tmp_path) -> None:
    result = _run(OutOfMemoryAbove(digits_net, 16), 64)
    reference = _run(digits_net, 16)
    assert rundir.csv_text(result.measurements) == rundir.csv_text(reference.measurements)
    assert reference.batch_fallbacks == []
    assert result.batch_fallbacks[0] == BatchFallback("predict", "cpu", 64, 32)
    assert all(f.retried_with == f.batch_size // 2 for f in result.batch_fallbacks)
    out = write_report(result, tmp_path / "run")
    recorded = json.loads((out / "run.json").read_text())["batch_fallbacks"]
    assert recorded[0] == {
        "where": "predict",
        "device": "cpu",
        "batch_size": 64,
        "retried_with": 32,
    }
    assert rundir.read_run(out).result.batch_fallbacks == result.batch_fallbacks
    report = (out / "report.md").read_text()
    assert "## Out-of-memory fallbacks" in report and "| `predict` | `cpu` | 64 | 32 |" in report


def test_predict_logits_keeps_the_models_halving_state_across_calls(held_out) -> None:
    model, _, x, _ = held_out
    flaky = OutOfMemoryAbove(model, 12)
    with oom.recording() as fallbacks:
        first = predict_logits(flaky, x[:40], batch_size=40)
        second = predict_logits(flaky, x[:40], batch_size=40)
        clf = build_classifier(flaky, SHAPE, 3)  # the estimator shares the model's state
        third = clf.predict(x[:40], batch_size=40)
    np.testing.assert_array_equal(first, second)
    np.testing.assert_allclose(third, first, rtol=1e-5, atol=1e-6)
    assert [(f.where, f.batch_size, f.retried_with) for f in fallbacks] == [
        ("predict", 40, 20),
        ("predict", 20, 10),
    ]  # the second call and the estimator started at 10


def test_a_split_batch_back_propagates_the_whole_batchs_mean_gradient(one_thread) -> None:
    x, y = (torch.from_numpy(a) for a in task(32, 3)[:2])
    torch.manual_seed(0)
    net = ARCHITECTURES.get("small_cnn").build(SHAPE, 3)  # no BatchNorm: parts add up

    def gradients(model: nn.Module) -> list[torch.Tensor]:
        net.zero_grad()
        loss = lambda xb, yb: nn.functional.cross_entropy(model(xb), yb)  # noqa: E731
        oom.backward(oom.Batches(torch.device("cpu")), loss, x, y, net.zero_grad)
        return [p.grad.clone() for p in net.parameters()]

    whole = gradients(net)
    with oom.recording() as fallbacks:
        split = gradients(OutOfMemoryAbove(net, 10))  # 32 -> 16 -> 8: four parts of 8
    assert [(f.batch_size, f.retried_with) for f in fallbacks] == [(32, 16), (16, 8)]
    # The mean gradient is a float32 sum of n per-sample terms g_i / n, added in another order
    # when split; each order's rounding error is at most (n - 1) u sum_i |g_i| / n (u = 2**-24),
    # so the two differ by at most twice that, element by element, whatever kernels the CPU picks
    # (each g_i's own sum over pixels rounds too, by the same order: on an AVX-512 EPYC the
    # largest difference was a fifth of n u sum_i |g_i| / n, a tenth of this bound).
    n, u = len(x), 2.0**-24
    magnitude = [
        sum(g) / n
        for g in zip(*(_sample_gradients(net, x[i], y[i]) for i in range(n)), strict=True)
    ]
    for a, b, m in zip(whole, split, magnitude, strict=True):
        assert ((a - b).abs() <= 2 * (n - 1) * u * m).all()
        assert not torch.equal(a, torch.zeros_like(a))  # a gradient, not two empty ones


def _sample_gradients(net: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """|gradient| of one sample's loss, per parameter."""
    net.zero_grad()
    nn.functional.cross_entropy(net(x[None]), y[None]).backward()
    return [p.grad.abs() for p in net.parameters()]


def test_training_batches_are_split_on_out_of_memory(one_thread) -> None:
    x, y, _ = task(96, 3)
    data = TrainData(x, y, x[:16], y[:16])
    train = TrainSpec(epochs=2, batch_size=32, lr=1e-2)

    def net() -> nn.Module:
        torch.manual_seed(0)
        return ARCHITECTURES.get("small_cnn").build(SHAPE, 3)  # no BatchNorm: parts add up

    plain = net()
    want = train_standard(plain, data, train, seed=0)
    inner = net()
    with oom.recording() as fallbacks:
        got = train_standard(OutOfMemoryWhenTraining(inner, 10), data, train, seed=0)
    # The gradients agree to rounding (the test above); Adam divides each by its running RMS, so
    # a near-zero gradient's rounding can move its weight by up to lr a step, and the weights are
    # not compared element by element. The decisions are: the two models' predictions.
    agree = (predict_logits(plain, x).argmax(1) == predict_logits(inner, x).argmax(1)).mean()
    assert agree >= 0.98
    assert [e.train_acc for e in got] == pytest.approx([e.train_acc for e in want], abs=0.02)
    # 32 -> 16 -> 8 once; every later batch is run in parts of 8
    assert [(f.where, f.batch_size, f.retried_with) for f in fallbacks] == [
        ("train", 32, 16),
        ("train", 16, 8),
    ]


class OutOfMemoryWhenTraining(OutOfMemoryAbove):
    """Out of memory above ``limit`` samples in train mode only: the training batches, not the
    per-epoch evaluation (``harness.training.evaluate``, whose own fallback is tested below)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) if self.training else self.inner(x)


def test_the_per_epoch_evaluation_is_halved_on_out_of_memory(held_out) -> None:
    model, _, x, y = held_out
    with oom.recording() as fallbacks:
        got = evaluate(OutOfMemoryAbove(model, 12), x, y, batch_size=100)
    assert got == evaluate(model, x, y, batch_size=12)  # the numbers of the smaller batch
    assert 0 < got[1] < 1
    assert [(f.where, f.batch_size, f.retried_with) for f in fallbacks] == [
        ("evaluate", 100, 50),
        ("evaluate", 50, 25),
        ("evaluate", 25, 12),
    ]


def test_gradcam_batches_are_halved_on_out_of_memory(held_out) -> None:
    model, _, x, _ = held_out
    flaky = OutOfMemoryAbove(model, 5)
    layer = cam_layer(model)[1]
    with oom.recording() as fallbacks:
        cams = gradcam(flaky, x[:20], layer)
        raw = gradcam_raw(flaky, x[:20], layer)
    np.testing.assert_allclose(cams, gradcam(model, x[:20], layer), atol=1e-5)
    np.testing.assert_allclose(raw, gradcam_raw(model, x[:20], layer), rtol=1e-5, atol=1e-6)
    # gradcam_raw takes the predicted classes from its own forward pass: no "predict" of its own
    assert {f.where for f in fallbacks} == {"gradcam"}
    assert all(f.retried_with <= 5 or f.retried_with == f.batch_size // 2 for f in fallbacks)
