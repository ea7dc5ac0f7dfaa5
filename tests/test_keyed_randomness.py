"""Random numbers keyed by sample: an attack's result for a sample does not depend on how the
test set was cut into chunks and batches (harness.attacks.keyed, harness.sweep)."""

from __future__ import annotations

import numpy as np
import pytest

from harness import batching
from harness.attacks import ATTACKS, attack_labels
from harness.attacks.keyed import SampleKeys, ball_start
from harness.attacks.planned import PlannedAttack
from harness.plan import validate
from harness.spec import AttackSpec, parse_spec
from harness.sweep import attack_sweep, clean_eval

SHAPE = (3, 8, 8)


def keys(n: int, attack: str = "pgd", run_seed: int = 0) -> SampleKeys:
    return SampleKeys.of(run_seed, attack, 0, np.arange(100, 100 + n))


def test_a_samples_start_is_its_own_whatever_else_is_drawn_with_it() -> None:
    k = keys(50)
    whole = ball_start(k, 0.1, "linf", SHAPE, 0)
    odd = np.arange(1, 50, 2)
    np.testing.assert_array_equal(ball_start(k[odd], 0.1, "linf", SHAPE, 0), whole[odd])
    np.testing.assert_array_equal(ball_start(k[10:20], 0.1, "linf", SHAPE, 0), whole[10:20])
    # another restart, eps, attack or run seed is another draw
    for other in (
        ball_start(k, 0.1, "linf", SHAPE, 1),
        ball_start(k, 0.2, "linf", SHAPE, 0) / 2,
        ball_start(keys(50, "pgd_2"), 0.1, "linf", SHAPE, 0),
        ball_start(keys(50, run_seed=1), 0.1, "linf", SHAPE, 0),
    ):
        assert not np.allclose(other, whole)


def test_starts_fill_their_ball_uniformly() -> None:
    k = keys(400)
    linf = ball_start(k, 0.1, "linf", SHAPE, 0)
    assert np.abs(linf).max() <= 0.1 and linf.dtype == np.float32
    assert abs(linf.mean()) < 2e-3  # 76,800 uniform draws on [-0.1, 0.1]: sd of the mean 2e-4
    assert linf.std() == pytest.approx(0.1 / np.sqrt(3), rel=0.01)
    l2 = ball_start(k, 0.5, "l2", SHAPE, 0).reshape(400, -1)
    norms = np.linalg.norm(l2, axis=1)
    assert norms.max() <= 0.5 + 1e-6
    # uniform in a 192-dimensional ball: P(norm <= r) = (r / 0.5)^192, median 0.5 * 0.5^(1/192)
    assert np.median(norms) == pytest.approx(0.5 * 0.5 ** (1 / 192), abs=2e-3)
    cosines = (l2 @ l2.T) / np.outer(norms, norms)
    assert np.abs(cosines[np.triu_indices(400, 1)]).max() < 0.4  # directions are independent


def test_random_targets_are_the_samples_own_and_never_its_class() -> None:
    params = {"targeted": True, "target": "random", "seed": 0}
    y = np.arange(300) % 10
    k = keys(300)
    targets = attack_labels(params, y, 10, k)
    assert not (targets == y).any() and set(np.unique(targets)) == set(range(10))
    survivors = np.flatnonzero(y % 3 == 0)  # the targets a nested sweep's later round uses
    np.testing.assert_array_equal(
        attack_labels(params, y[survivors], 10, k[survivors]), targets[survivors]
    )


def _pgd(batch_size: int, **params) -> PlannedAttack:
    d = ATTACKS.get("pgd")
    spec = AttackSpec("pgd", {"steps": 3, "restarts": 2, "batch_size": batch_size} | params)
    return PlannedAttack(d, d.resolve(spec), seed=7)


@pytest.mark.parametrize("params", [{}, {"targeted": True, "target": "random"}])
def test_a_random_start_pgd_sweep_gives_each_sample_the_same_result_however_it_is_cut(
    held_out, one_thread, monkeypatch, params
) -> None:
    _, clf, x, y = held_out
    clean = clean_eval(clf, x, 200)
    eps = [0.0, 0.03, 0.06, 0.1]
    whole = attack_sweep(clf, _pgd(200, **params), x, y, clean, eps, 200)
    monkeypatch.setattr(batching, "CHUNK_BYTES", 4 * 64 * 16)  # chunks of 16 samples
    assert batching.chunk_size((1, 8, 8), 8, 8) == 16
    cut = attack_sweep(clf, _pgd(8, **params), x, y, clean, eps, 8)
    np.testing.assert_array_equal(cut.robust, whole.robust)
    np.testing.assert_allclose(cut.linf, whole.linf, atol=1e-6)
    assert 0 < whole.robust[-1].sum() < whole.robust[0].sum()  # it broke some, not all
    if params:
        np.testing.assert_array_equal(cut.hit, whole.hit)


def test_run_json_says_whether_the_numbers_depend_on_the_cut() -> None:
    spec = parse_spec(
        {"attacks": ["fgsm", "pgd", "deepfool", {"name": "transfer", "attack": "pgd"}]}
    )
    assert validate(spec).randomness() == {"batching_independent": True, "drawn_per_call": []}
    spec = parse_spec({"attacks": ["fgsm", "square", {"name": "transfer", "attack": "square"}]})
    assert validate(spec).randomness() == {
        "batching_independent": False,
        "drawn_per_call": ["square", "transfer"],
    }
