"""Issue 18: the compact MNIST and CIFAR-10 networks, and the training recipes (optimizer, lr
schedule, augmentation, best-epoch keeping) with existing specs' keys left unchanged."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import harness.training as training
from harness.architectures import ARCHITECTURES, wrap
from harness.defences.base import describe
from harness.errors import HarnessError
from harness.grid.cells import HOST, _key
from harness.report import section_training
from harness.report.sections.reference import section_reference
from harness.results import DataSummary, Measurement, ModelResult, RunResult
from harness.spec import DefenceSpec, TrainSpec, load_spec, parse_spec
from harness.training import TrainData, crop_flip, make_schedule, run_epochs, train_standard

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest: tiny models, one thread


# ---------------------------------------------------------------- architectures


@pytest.mark.parametrize(
    ("name", "shape"), [("mnist_cnn", (1, 28, 28)), ("cifar_vgg", (3, 32, 32))]
)
def test_new_architecture_takes_its_shape_and_trains_a_few_steps(name: str, shape) -> None:
    arch = ARCHITECTURES.get(name)
    assert arch.input_shape == shape
    torch.manual_seed(0)
    model = wrap(arch.build(shape, 10), arch.mean, arch.std, shape[0])
    x, y = torch.rand(8, *shape), torch.arange(8) % 10
    before = _eval_loss(model, x, y)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(5):
        model.train()
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    assert model.eval()(x).shape == (8, 10)
    assert math.isfinite(before) and _eval_loss(model, x, y) < before
    with pytest.raises(HarnessError, match="expects inputs of shape"):
        arch.check_input((3, 28, 28) if shape[0] == 1 else (1, 28, 28))


@torch.no_grad()
def _eval_loss(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return torch.nn.functional.cross_entropy(model.eval()(x), y).item()


def test_mnist_cnn_keeps_every_position_of_its_last_map() -> None:
    net = ARCHITECTURES.get("mnist_cnn").build((1, 28, 28), 10)
    assert not any(isinstance(m, torch.nn.AdaptiveAvgPool2d) for m in net.modules())
    assert net.classifier[1].in_features == 64 * 7 * 7


# ---------------------------------------------------------------- schedules


def _lrs_per_epoch(train: TrainSpec, steps_per_epoch: int = 3) -> list[float]:
    """The lr at the start of each epoch, stepping the schedule once per optimizer step."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=train.lr)
    schedule = make_schedule(optimizer, train, steps_per_epoch)
    lrs = []
    for _ in range(train.epochs):
        lrs.append(optimizer.param_groups[0]["lr"])
        for _ in range(steps_per_epoch):
            optimizer.step()
            if schedule is not None:
                schedule.step()
    return lrs


def test_constant_and_step_schedules() -> None:
    assert _lrs_per_epoch(TrainSpec(epochs=3, lr=0.1)) == [0.1, 0.1, 0.1]
    step = TrainSpec(epochs=5, lr=0.1, schedule="step", step_size=2, gamma=0.1)
    assert _lrs_per_epoch(step) == pytest.approx([0.1, 0.1, 0.01, 0.01, 0.001])


def test_cosine_schedule_follows_half_a_cosine() -> None:
    lrs = _lrs_per_epoch(TrainSpec(epochs=4, lr=0.1, schedule="cosine"))
    assert lrs == pytest.approx([0.05 * (1 + math.cos(math.pi * e / 4)) for e in range(4)])


def test_onecycle_warms_up_to_the_peak_then_anneals() -> None:
    train = TrainSpec(epochs=10, lr=0.1, schedule="onecycle", pct_start=0.3)
    lrs = _lrs_per_epoch(train, steps_per_epoch=1)
    assert lrs[0] == pytest.approx(0.1 / 25)  # torch's div_factor
    peak = lrs.index(max(lrs))  # torch ends the warm-up at step pct_start * total - 1
    assert max(lrs) == pytest.approx(0.1) and peak == 2
    assert lrs[: peak + 1] == sorted(lrs[: peak + 1])
    assert lrs[peak:] == sorted(lrs[peak:], reverse=True) and lrs[-1] < 1e-5


# ---------------------------------------------------------------- keep: best


def _data(n: int = 16) -> TrainData:
    rng = np.random.default_rng(0)
    x = rng.random((n, 1, 8, 8), dtype=np.float32)
    y = (np.arange(n) % 2).astype(np.int64)
    return TrainData(x, y, x[:4].copy(), y[:4].copy())


def test_keep_best_restores_an_earlier_epoch_and_the_table_marks_it(monkeypatch) -> None:
    data, model = _data(), torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    val_accs = iter([0.5, 0.9, 0.6])  # the last epoch is worse than the second

    def fake_evaluate(m, x, y, batch_size=512):
        return 0.0, next(val_accs) if x is data.x_val else 1.0

    def fit_epoch(epoch: int) -> None:
        with torch.no_grad():
            model[1].bias.fill_(float(epoch))  # the weights tell which epoch they are from

    monkeypatch.setattr(training, "evaluate", fake_evaluate)
    history = run_epochs(model, data, 3, fit_epoch, "t", keep="best")
    assert model[1].bias.tolist() == [2.0, 2.0]
    assert [e.kept for e in history] == [False, True, False]
    result = ModelResult("baseline", "mlp", 0, 0.9, [], [], history=history)
    text = section_training([result], {"model": {"train": dataclasses.asdict(TrainSpec())}})
    assert "| 2 (kept) |" in text and "| 3 |" in text and "kept epoch: last" in text


def test_keep_last_marks_nothing() -> None:
    data, model = _data(), torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 2))
    history = run_epochs(model, data, 2, lambda e: None, "t")
    assert not any(e.kept for e in history)


def test_a_full_recipe_trains_tiny_data() -> None:
    torch.manual_seed(0)
    model = wrap(ARCHITECTURES.get("small_cnn").build((1, 8, 8), 2), (0.5,), (0.5,), 1)
    train = TrainSpec(
        epochs=2, batch_size=8, lr=0.05, optimizer="sgd", nesterov=True, weight_decay=5e-4,
        schedule="onecycle", augment="crop_flip", keep="best",
    )  # fmt: skip
    history = train_standard(model, _data(), train, seed=0)
    assert len(history) == 2 and sum(e.kept for e in history) == 1
    assert not model.training


# ---------------------------------------------------------------- augmentation


def test_crop_flip_is_seeded_keeps_shape_and_range_and_leaves_its_input() -> None:
    x = torch.rand(6, 3, 32, 32)
    before = x.clone()
    state = torch.get_rng_state()
    a = crop_flip(x, torch.Generator().manual_seed(1))
    b = crop_flip(x, torch.Generator().manual_seed(1))
    c = crop_flip(x, torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.shape == x.shape and float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(x, before) and torch.equal(torch.get_rng_state(), state)
    assert not torch.equal(a, x)


def test_crop_flip_draws_the_images_torchvisions_transforms_draw() -> None:
    """The same crops and flips as torchvision's RandomCrop(padding=4) + RandomHorizontalFlip
    under the same seed (the implementation they replaced), image for image."""
    transforms = pytest.importorskip("torchvision.transforms", reason="torchvision not installed")
    x = torch.rand(16, 3, 32, 32)
    pipeline = transforms.Compose(
        [transforms.RandomCrop((32, 32), padding=4), transforms.RandomHorizontalFlip()]
    )
    g = torch.Generator().manual_seed(7)
    seed = int(torch.randint(2**62, (1,), generator=torch.Generator().manual_seed(7)))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        want = torch.stack([pipeline(img) for img in x])
    assert torch.equal(crop_flip(x, g), want)


# ---------------------------------------------------------------- spec, keys, reference


OLD_CIFAKE_DESCRIPTION = "Seed 000 on CIFAKE - spatial baseline CNN, FGSM sweep, FGSM adversarial training of robust_cnn."


def test_defaults_leave_the_weights_cache_key_and_spec_hashes_unchanged() -> None:
    # TrainSpec's text is part of the weights-cache key (harness.cache.cached)
    assert repr(TrainSpec(15, 64, 0.002)) == "TrainSpec(epochs=15, batch_size=64, lr=0.002)"
    record = describe(DefenceSpec(), {}, "small_cnn", TrainSpec(15, 64, 0.002))
    assert record.train == {"epochs": 15, "batch_size": 64, "lr": 0.002}  # the models table
    # digests computed before the recipe fields existed, when cifake_fgsm named its root
    for name, root, digest, cell in [
        ("digits_fgsm", None, "9a19aa3b51f5", "d86e60c8c841f8c9"),
        ("cifake_fgsm", "../shared/data/cifake", "1e8a8c1186c2", "e341fc230dbc6842"),
        ("digits_grid", None, "581e678e7e4e", "45592d99722ed429"),
    ]:
        spec = load_spec(BENCHMARKS / f"{name}.yaml")
        spec = dataclasses.replace(spec, dataset=dataclasses.replace(spec.dataset, root=root))
        if root:  # and its description named the study "seed 000"
            spec = dataclasses.replace(spec, description=OLD_CIFAKE_DESCRIPTION)
        assert (spec.digest(), _key("cell", "baseline", "fgsm", spec, HOST)) == (digest, cell)


def test_a_recipe_field_changes_the_key() -> None:
    assert "optimizer='sgd'" in repr(TrainSpec(optimizer="sgd"))
    plain, sgd = parse_spec({}), parse_spec({"model": {"train": {"optimizer": "sgd"}}})
    assert plain.digest() != sgd.digest()


def test_a_bad_recipe_value_is_one_line() -> None:
    with pytest.raises(HarnessError) as info:
        parse_spec({"model": {"train": {"schedule": "cosin"}}})
    assert str(info.value) == (
        "model.train.schedule: expected one of none, step, cosine, onecycle, triangular, "
        "got 'cosin' (did you mean 'cosine'?)"
    )


def test_reference_rows_render_beside_the_runs_figures() -> None:
    raw = {
        "reference": {
            "source": "seed 001",
            "rows": [
                {"what": "baseline", "value": "~99%"},
                {"what": "FGSM", "attack": "fgsm", "eps": 0.2, "value": "~10-15%"},
            ],
        },
        "eps": [0, 0.2],
    }
    spec = parse_spec(raw)
    measurements = [
        Measurement("baseline", "none", 0.0, "clean_accuracy", 0.991),
        Measurement("baseline", "fgsm", 0.2, "robust_accuracy", 0.123),
    ]
    result = RunResult("r", spec.to_dict(), 0, DataSummary(), [], measurements, [])
    text = section_reference(result)
    assert "| baseline | baseline | clean | — | ~99% | 99.10% |" in text
    assert "| FGSM | baseline | fgsm | 0.2 | ~10-15% | 12.30% |" in text
    with pytest.raises(HarnessError, match=r"reference.rows\[1\].eps"):
        parse_spec(raw | {"eps": [0, 0.1]})
