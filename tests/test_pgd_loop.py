"""The harness's PGD loop (harness.attacks.pgd_loop) against ART's PGD and torchattacks' PGD."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from art.attacks.evasion import ProjectedGradientDescentPyTorch

from harness.attacks import ATTACKS, generate
from harness.attacks.base import numpy_seed
from harness.attacks.pgd_loop import PGDLoop
from harness.spec import AttackSpec
from tests.conftest import task

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def model_clf(trained):
    """conftest's small_cnn fitted to the synthetic task, and 96 held-out inputs."""
    model, clf, _, _, edges = trained
    xt, yt, _ = task(96, 1, edges)
    return model, clf, xt, yt


def art_pgd(clf, norm, eps, steps, targeted=False, restarts=0, batch=40):
    return ProjectedGradientDescentPyTorch(
        clf, norm=norm, eps=eps, eps_step=eps / 4, max_iter=steps, targeted=targeted,
        num_random_init=restarts, batch_size=batch, verbose=False,
    )  # fmt: skip


def ours(clf, norm, eps, steps, targeted=False, restarts=0, batch=40, early_stop=False):
    return PGDLoop(
        clf, norm=norm, eps=eps, eps_step=eps / 4, max_iter=steps, targeted=targeted,
        num_random_init=restarts, batch_size=batch, early_stop=early_stop,
    )  # fmt: skip


def acc(clf, x, y) -> float:
    return float(np.mean(clf.predict(x).argmax(1) == y))


@pytest.mark.parametrize("norm,eps", [(np.inf, 0.08), (2, 0.6)])
@pytest.mark.parametrize("targeted", [False, True])
def test_iterates_are_arts_without_a_random_start(model_clf, norm, eps, targeted) -> None:
    _, clf, x, y = model_clf
    labels = (y + 1) % 3 if targeted else y
    for steps in (1, 3, 7):  # every iterate, not only the last
        theirs = art_pgd(clf, norm, eps, steps, targeted).generate(x=x, y=labels)
        mine = ours(clf, norm, eps, steps, targeted).generate(x=x, y=labels)
        np.testing.assert_array_equal(mine, theirs)


@pytest.mark.parametrize("norm,eps", [(np.inf, 0.08), (2, 0.6)])
def test_random_starts_are_arts_draws_too(model_clf, norm, eps) -> None:
    _, clf, x, y = model_clf
    with numpy_seed(3):
        theirs = art_pgd(clf, norm, eps, 5, restarts=2).generate(x=x, y=y)
    with numpy_seed(3):
        mine = ours(clf, norm, eps, 5, restarts=2).generate(x=x, y=y)
    np.testing.assert_allclose(mine, theirs, atol=1e-6)
    assert acc(clf, mine, y) == acc(clf, theirs, y)


def test_random_start_robust_accuracy_matches_torchattacks(model_clf) -> None:
    torchattacks = pytest.importorskip("torchattacks")
    model, clf, x, y = model_clf
    eps, steps = 0.08, 10
    accs_mine, accs_theirs = [], []
    for seed in range(3):
        with numpy_seed(seed):
            accs_mine.append(acc(clf, ours(clf, np.inf, eps, steps, restarts=1).generate(x, y), y))
        torch.manual_seed(seed)
        attack = torchattacks.PGD(model, eps=eps, alpha=eps / 4, steps=steps, random_start=True)
        theirs = attack(torch.from_numpy(x), torch.from_numpy(y)).numpy()
        accs_theirs.append(acc(clf, theirs, y))
    assert abs(np.mean(accs_mine) - np.mean(accs_theirs)) <= 0.02
    assert np.mean(accs_mine) < acc(clf, x, y) - 0.2  # far from a no-op


@pytest.mark.parametrize("norm,eps", [(np.inf, 0.05), (np.inf, 0.1), (2, 0.4)])
def test_early_stop_gives_the_same_robust_accuracy(model_clf, norm, eps) -> None:
    _, clf, x, y = model_clf
    full = ours(clf, norm, eps, 10).generate(x, y)
    stopped = ours(clf, norm, eps, 10, early_stop=True).generate(x, y)
    assert acc(clf, stopped, y) == acc(clf, full, y)
    assert acc(clf, full, y) < acc(clf, x, y)  # the attack does something here
    assert np.abs(stopped - x).max() <= eps + 1e-6 if norm == np.inf else True
    stopped_pred, full_pred = clf.predict(stopped).argmax(1), clf.predict(full).argmax(1)
    np.testing.assert_array_equal(stopped_pred == y, full_pred == y)


def test_early_stop_takes_fewer_steps(model_clf) -> None:
    """A sample that is broken stops: its iterate is closer to x than the full run's."""
    _, clf, x, y = model_clf
    full = ours(clf, np.inf, 0.1, 10).generate(x, y)
    stopped = ours(clf, np.inf, 0.1, 10, early_stop=True).generate(x, y)
    assert np.abs(stopped - x).sum() < np.abs(full - x).sum()


def test_the_loop_follows_the_models_device_and_restores_its_mode(model_clf) -> None:
    model, clf, x, y = model_clf
    model.train()
    try:
        out = ours(clf, np.inf, 0.05, 2).generate(x[:8], y[:8])
        assert model.training  # put back as found
    finally:
        model.eval()
    assert out.dtype == np.float32 and out.shape == x[:8].shape


def test_the_registered_pgd_is_the_loop_and_takes_early_stop(model_clf) -> None:
    _, clf, x, y = model_clf
    pgd = ATTACKS.get("pgd")
    params = pgd.resolve(AttackSpec("pgd", {"steps": 5, "early_stop": True}))
    assert isinstance(pgd.make(clf, 0.1, params), PGDLoop)
    x_adv = generate(clf, pgd, params, x, y, 0.1)
    assert np.abs(x_adv - x).max() <= 0.1 + 1e-6
