"""The harness's PGD inside ART's Madry and TRADES trainers gives ART's weights bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from art.attacks.evasion import ProjectedGradientDescent
from torch import nn

from harness.defences import DEFENCES, HardenJob
from harness.defences.art_trainers import madry_trainer, trades_trainer
from harness.defences.inner_pgd import TrainingPGD, training_pgd
from harness.estimator import build_classifier
from harness.spec import DefenceSpec, TrainSpec
from harness.training import TrainData
from tests.conftest import SHAPE

PARAMS = {"eps": 0.1, "step_size": 0.04, "steps": 3}


def _net() -> nn.Module:
    """BatchNorm (moves in training mode) and dropout (draws from torch's global generator)."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1), nn.BatchNorm2d(6), nn.ReLU(), nn.Flatten(),
        nn.Dropout(0.3), nn.Linear(6 * 64, 3),
    )  # fmt: skip


def _data(n: int = 70) -> TrainData:
    rng = np.random.default_rng(1)
    x = rng.random((n, *SHAPE), dtype=np.float32)
    y = (x.mean(axis=(1, 2, 3)) > 0.5).astype(np.int64) + (x[:, 0, 0, 0] > 0.7)
    return TrainData(x, y, x[:0], y[:0])


def _trained(name: str, art_pgd: bool, batch: int, **params) -> list[torch.Tensor]:
    """The weights after 2 epochs of ART's trainer, ART's PGD or the harness's inside."""
    resolved = {**DEFENCES.get(name).defaults, **PARAMS, **params}
    data, model = _data(), _net()
    job = HardenJob(
        DefenceSpec(name, params), resolved, TrainSpec(2, batch, 0.01), data, SHAPE, 3, 0, _net
    )
    trainer = {"madry_pgd": madry_trainer, "trades": trades_trainer}[name](job, model, art_pgd)
    np.random.seed(0)
    torch.manual_seed(0)
    trainer.fit(data.x_train, data.y_train, batch_size=batch, nb_epochs=2)  # 70: a short last
    return [t.detach().clone() for t in model.state_dict().values()]


@pytest.mark.parametrize(
    ("name", "params", "batch"),
    [
        ("madry_pgd", {"random_init": 1}, 16),
        # 40 > ART's PGD batch of 32: ART attacks 32 + 8, the harness all 40 at once
        ("madry_pgd", {"random_init": 1}, 40),
        ("madry_pgd", {"random_init": 0}, 40),
        ("madry_pgd", {"random_init": 2}, 16),
        ("madry_pgd", {"random_init": 2}, 40),  # ART's batches kept (the draws' order)
        ("trades", {}, 16),
    ],
)
def test_the_inner_loop_trains_the_weights_arts_pgd_trains(name, params, batch) -> None:
    ours, arts = _trained(name, False, batch, **params), _trained(name, True, batch, **params)
    assert all(torch.equal(a, b) for a, b in zip(ours, arts, strict=True))
    assert not torch.equal(ours[0], _net().state_dict()["0.weight"])  # it did train


@pytest.mark.parametrize(
    ("n", "batch", "starts"), [(10, 32, 1), (33, 32, 1), (33, 16, 3), (5, 4, 0)]
)
def test_the_loop_draws_from_torch_what_arts_pgd_draws(n: int, batch: int, starts: int) -> None:
    model = _net().eval()
    clf = build_classifier(model, SHAPE, 3)
    x, y = _data(n).x_train, _data(n).y_train
    art = ProjectedGradientDescent(
        clf, eps=0.1, eps_step=0.04, max_iter=2, num_random_init=starts, batch_size=batch,
        verbose=False,
    )  # fmt: skip
    ours = training_pgd(clf, 0.1, 0.04, 2, starts, batch)
    assert isinstance(ours, TrainingPGD)
    outs, states = [], []
    for attack in (art, ours):
        np.random.seed(3)
        torch.manual_seed(3)
        outs.append(attack.generate(x, y=y))
        states.append((torch.get_rng_state(), np.random.get_state()[1].copy()))
    assert np.array_equal(outs[0], outs[1])
    assert torch.equal(states[0][0], states[1][0]) and np.array_equal(states[0][1], states[1][1])


@pytest.mark.parametrize(("starts", "forwards"), [(1, 2), (2, 2 * (2 + 2) + 2 * 2)])
def test_one_start_attacks_the_whole_training_batch_at_once(starts: int, forwards: int) -> None:
    """PGD-2 on 40 samples: one forward per step with one start; ART's batches (32 + 8) with two
    (per batch and start 2 steps, and 2 forwards to compare the second start with the first)."""
    model = _net().eval()
    clf = build_classifier(model, SHAPE, 3)
    calls = []
    model.register_forward_hook(lambda *_: calls.append(1))
    data = _data(40)
    training_pgd(clf, 0.1, 0.04, 2, starts, whole_batch=True).generate(data.x_train, data.y_train)
    assert len(calls) == forwards
