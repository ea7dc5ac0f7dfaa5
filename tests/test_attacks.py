"""Invariants of every registered attack, and FGSM against independent implementations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from art.attacks.evasion import FastGradientMethod

from harness.architectures import ARCHITECTURES, wrap
from harness.attacks import ATTACKS, generate
from harness.estimator import build_classifier
from harness.spec import AttackSpec

SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def setup():
    """A small_cnn briefly fitted to a separable synthetic task, and 64 inputs in [0, 1]."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = wrap(ARCHITECTURES.get("small_cnn").build(SHAPE, 3), (0.5,), (0.5,), 1)
    x = rng.random((192, *SHAPE), dtype=np.float32)
    score = x[:, 0, :4].mean(axis=(1, 2))  # brightness of the top half decides the class
    y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3])).astype(np.int64)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(
            model(torch.from_numpy(x)), torch.from_numpy(y)
        ).backward()
        opt.step()
    model.eval()
    return model, build_classifier(model, SHAPE, 3), x[:64], y[:64]


@pytest.mark.parametrize("name", ATTACKS.names())
@pytest.mark.parametrize("eps", [0.0, 0.05, 0.2])
def test_attack_invariants(setup, name: str, eps: float) -> None:
    model, clf, x, y = setup
    x = x.copy()
    x.setflags(write=False)  # the attack must not modify its input
    definition = ATTACKS.get(name)
    x_adv = generate(clf, definition, definition.resolve(AttackSpec(name)), x, y, eps)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    delta = (x_adv - x).reshape(len(x), -1)
    bound = (
        np.abs(delta).max() if definition.norm == "linf" else np.linalg.norm(delta, axis=1).max()
    )
    assert bound <= eps + 1e-6
    if eps == 0:
        assert np.array_equal(x_adv, x)
    assert not model.training  # evaluation never switches the model to train mode


def test_fgsm_matches_art_direct_and_moves_every_pixel(setup) -> None:
    _, clf, x, y = setup
    fgsm = ATTACKS.get("fgsm")
    ours = generate(clf, fgsm, fgsm.resolve(AttackSpec("fgsm")), x, y, 0.1)
    direct = FastGradientMethod(clf, eps=0.1, eps_step=0.1, batch_size=64).generate(x, y=y)
    np.testing.assert_array_equal(ours, direct.astype(np.float32))
    # FGSM moves every pixel by exactly eps unless clipped at 0 or 1 (or a zero gradient)
    moved = np.abs(ours - x)
    interior = (x > 0.1) & (x < 0.9)
    assert np.mean(np.isclose(moved[interior], 0.1, atol=1e-6)) > 0.95


def test_fgsm_agrees_with_torchattacks(setup) -> None:
    torchattacks = pytest.importorskip("torchattacks")
    model, clf, x, y = setup
    fgsm = ATTACKS.get("fgsm")
    ours = generate(clf, fgsm, fgsm.resolve(AttackSpec("fgsm")), x, y, 0.1)
    theirs = torchattacks.FGSM(model, eps=0.1)(torch.from_numpy(x), torch.from_numpy(y)).numpy()
    assert np.mean(np.abs(ours - theirs) < 1e-5) > 0.999
    pred = lambda a: clf.predict(a).argmax(1)  # noqa: E731
    acc_ours, acc_theirs = np.mean(pred(ours) == y), np.mean(pred(theirs) == y)
    assert abs(acc_ours - acc_theirs) <= 0.001
    assert acc_ours < np.mean(pred(x) == y)  # the attack hurts
