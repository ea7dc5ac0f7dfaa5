"""Sweeps that reuse work: warm starts never make PGD weaker than the naive loop; early
stopping leaves every number of a sweep unchanged."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from harness.architectures import ARCHITECTURES, wrap
from harness.attacks import ATTACKS
from harness.attacks.planned import PlannedAttack
from harness.estimator import build_classifier
from harness.spec import AttackSpec
from harness.sweep import attack_sweep, clean_eval
from tests.conftest import SHAPE, fit_tiny, task

pytestmark = pytest.mark.usefixtures("one_thread")
EPS = (0.02, 0.05, 0.1, 0.2)
SCALE = {"pgd": 1.0, "pgd_l2": 6.0}  # L2 radii that break about as much as L-inf's on 8x8


def tiny(seed: int):
    """A small_cnn (weights from ``seed``) fitted to the synthetic task, and 120 fresh inputs."""
    torch.manual_seed(seed)
    model = wrap(ARCHITECTURES.get("small_cnn").build(SHAPE, 3), (0.5,), (0.5,), 1)
    x, y, edges = task(160, seed)
    fit_tiny(model, x, y)
    xt, yt, _ = task(120, 100 + seed, edges)
    return build_classifier(model, SHAPE, 3), xt, yt


@pytest.fixture(scope="module")
def models():
    return [tiny(seed) for seed in range(3)]


def robust(clf, x, y, name: str = "pgd", strategy: str | None = None, **params) -> np.ndarray:
    """(E,) robust accuracy of one sweep over EPS."""
    d = ATTACKS.get(name)
    d = d if strategy is None else dataclasses.replace(d, sweep=strategy)
    planned = PlannedAttack(d, d.resolve(AttackSpec(name, {"steps": 10, **params})))
    eps = [e * SCALE[name] for e in EPS]
    return attack_sweep(clf, planned, x, y, clean_eval(clf, x, 64), eps, 64).robust.mean(axis=1)


@pytest.mark.parametrize("name", ["pgd", "pgd_l2"])
def test_warm_start_is_never_weaker_than_the_naive_loop(models, name: str) -> None:
    for clf, x, y in models:
        for seed in (0, 1):
            kw = {"seed": seed, "step_size": None}
            naive = robust(clf, x, y, name, "independent", **kw)
            warm = robust(clf, x, y, name, warm_start=True, **kw)
            # random starts are drawn per batch, so a survivor's start differs from the naive
            # loop's: one sample either way is noise (as in test_sweep), more is a weaker sweep
            assert np.all(warm <= naive + 1 / len(y) + 1e-12), (seed, warm, naive)
        det_naive = robust(clf, x, y, name, "independent", random_start=False)
        det_warm = robust(clf, x, y, name, warm_start=True, random_start=False)
        assert np.all(det_warm <= det_naive + 1e-12)  # no randomness: no tolerance
        assert det_warm[-1] < det_warm[0] or det_warm[0] == 0  # the sweep does something


def test_warm_start_changes_the_start_of_survivors(models) -> None:
    """Not a no-op: with warm starts the later eps begin elsewhere, so the examples differ."""
    clf, x, y = models[0]
    d = ATTACKS.get("pgd")
    runs = []
    for warm in (False, True):
        params = d.resolve(
            AttackSpec("pgd", {"steps": 3, "random_start": False, "warm_start": warm})
        )
        runs.append(
            attack_sweep(clf, PlannedAttack(d, params), x, y, clean_eval(clf, x, 64), EPS, 64)
        )
    assert not np.array_equal(runs[0].l2[1:], runs[1].l2[1:])


@pytest.mark.parametrize("name", ["pgd", "pgd_l2"])
@pytest.mark.parametrize("warm", [False, True])
def test_early_stop_leaves_the_sweep_unchanged(models, name: str, warm: bool) -> None:
    for clf, x, y in models:
        full = robust(clf, x, y, name, warm_start=warm)
        stopped = robust(clf, x, y, name, warm_start=warm, early_stop=True)
        np.testing.assert_array_equal(stopped, full)


@pytest.mark.parametrize("field", ["early_stop", "warm_start"])
def test_the_flags_must_be_booleans(field: str) -> None:
    from harness.errors import HarnessError

    with pytest.raises(HarnessError, match=field):
        ATTACKS.get("pgd").resolve(AttackSpec("pgd", {field: "yes"}))
