"""Probes: noise overconfidence on models built to be (over)confident, minimal perturbations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from harness import metrics
from harness.attacks import ATTACKS, project
from harness.errors import HarnessError
from harness.estimator import build_classifier
from harness.probes import PROBES, minimal_norms, pick_correct, plan
from harness.results import MinimalPerturbation, NoiseProbe
from harness.spec import AttackSpec

pytestmark = pytest.mark.usefixtures("one_thread")
SHAPE = (1, 8, 8)
NAMES = ["low", "mid", "high"]


def run(name: str, clf, x, y, **params):
    (planned,) = plan([AttackSpec(name, params)])
    pred = clf.predict(x).argmax(1) if len(x) else np.zeros(0, np.int64)
    return planned.run(clf, x, y, pred, NAMES, "baseline")


def sure_of(cls: int) -> nn.Module:
    """Ignores its input: logits 0 everywhere except 100 for ``cls`` (softmax ~ 1 - 3e-44)."""
    linear = nn.Linear(int(np.prod(SHAPE)), len(NAMES))
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([100.0 if k == cls else 0.0 for k in range(len(NAMES))]))
    return nn.Sequential(nn.Flatten(), linear).eval()


class FirstPixels(nn.Module):
    """Logits = scale * the first three pixels: the prediction is readable from the noise."""

    def __init__(self, scale: float) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * x.flatten(1)[:, :3]


def no_data():
    return np.zeros((0, *SHAPE), np.float32), np.zeros(0, np.int64)


# ---------------------------------------------------------------- noise


def test_a_model_sure_of_one_class_is_overconfident_on_all_noise() -> None:
    clf = build_classifier(sure_of(2), SHAPE, 3)
    out = run("noise", clf, *no_data(), n_images=300, batch_size=128)  # 3 uneven batches
    assert isinstance(out, NoiseProbe)
    assert out.overconfident_fraction == 1.0 and out.n_images == 300
    assert out.mean_confidence == pytest.approx(1.0)
    assert out.class_counts == {"low": 0, "mid": 0, "high": 300}  # every class listed
    nothing = run("noise", clf, *no_data(), n_images=300, threshold=1.01)
    assert nothing.overconfident_fraction == 0.0
    assert nothing.class_counts == {"low": 0, "mid": 0, "high": 0}


def test_noise_statistics_match_the_seeded_uniform_images() -> None:
    clf = build_classifier(FirstPixels(8.0), SHAPE, 3)
    out = run("noise", clf, *no_data(), n_images=500, threshold=0.7, seed=4, batch_size=500)
    noise = np.random.default_rng(4).random((500, *SHAPE), dtype=np.float32)  # one batch
    assert noise.min() >= 0 and noise.max() < 1
    probs = metrics.softmax(8.0 * noise.reshape(500, -1)[:, :3].astype(np.float64))
    sure = probs.max(1) >= 0.7
    assert 0 < sure.mean() < 1  # the threshold splits the images
    assert out.overconfident_fraction == pytest.approx(sure.mean())
    assert out.mean_confidence == pytest.approx(probs.max(1).mean(), rel=1e-5)
    counts = np.bincount(probs.argmax(1)[sure], minlength=3)
    assert out.class_counts == dict(zip(NAMES, counts.tolist(), strict=True))


def test_noise_is_reproducible_by_seed(trained) -> None:
    clf = trained[1]
    a, b = (run("noise", clf, *no_data(), n_images=200, seed=1) for _ in range(2))
    c = run("noise", clf, *no_data(), n_images=200, seed=2)
    assert a == b
    assert c.mean_confidence != a.mean_confidence


# ---------------------------------------------------------------- minimal perturbation


def test_minimal_norms_are_sorted_and_their_median(held_out) -> None:
    _, clf, x, y = held_out
    out = run("minimal", clf, x, y, n_samples=30)
    assert isinstance(out, MinimalPerturbation)
    assert (out.method, out.norm, out.n_samples, len(out.norms)) == ("deepfool", "l2", 30, 30)
    norms = np.array(out.norms)
    assert np.all(norms >= 0) and np.all(norms[1:] >= norms[:-1])  # inf: not found
    assert out.median == np.median(norms)
    assert np.isfinite(norms).mean() > 0.9  # DeepFool finds almost all of them
    assert 0 < out.empirical_robustness < 1  # mean ||delta|| / ||x||


def test_minimal_samples_are_clean_correct_and_stratified(held_out) -> None:
    _, clf, x, y = held_out
    pred = clf.predict(x).argmax(1)
    idx = pick_correct(y, pred, 30)
    assert len(idx) == 30 and np.all(pred[idx] == y[idx]) and np.all(np.diff(idx) > 0)
    assert np.bincount(y[idx], minlength=3).tolist() == [10, 10, 10]


def test_each_finite_minimal_norm_flips_and_a_smaller_ball_does_not(held_out) -> None:
    _, clf, x, y = held_out
    idx = pick_correct(y, clf.predict(x).argmax(1), 30)
    xs, ys = x[idx], y[idx]
    xs.setflags(write=False)  # never modified in place
    d = ATTACKS.get("deepfool")
    x_adv, norms = minimal_norms(clf, d, d.resolve(AttackSpec("deepfool")), xs, ys)
    found = np.isfinite(norms)
    delta = x_adv - xs
    np.testing.assert_allclose(norms[found], np.linalg.norm(delta.reshape(30, -1), axis=1)[found])
    assert np.all(clf.predict(xs + delta).argmax(1)[found] != ys[found])
    k = np.flatnonzero(found)
    half = np.concatenate([project(xs[[i]], x_adv[[i]], 0.5 * norms[i], "l2") for i in k])
    still = clf.predict(half).argmax(1) != ys[k]
    assert still.mean() <= 0.1  # DeepFool's path bends, so only "within tolerance"


def test_a_failed_search_is_inf_and_leaves_the_prediction(held_out) -> None:
    _, clf, x, y = held_out
    idx = pick_correct(y, clf.predict(x).argmax(1), 30)
    d = ATTACKS.get("deepfool")
    params = d.resolve(AttackSpec("deepfool", {"max_iter": 1}))
    x_adv, norms = minimal_norms(clf, d, params, x[idx], y[idx])
    failed = ~np.isfinite(norms)
    assert failed.any() and not failed.all()  # one linearised step is not always enough
    assert np.all(clf.predict(x_adv).argmax(1)[failed] == y[idx][failed])
    out = run("minimal", clf, x, y, n_samples=30, params={"max_iter": 1})
    assert np.isinf(out.norms[-1]) and out.median == np.median(out.norms)


def test_minimal_with_cw_l2(held_out) -> None:
    _, clf, x, y = held_out
    fast = {"binary_search_steps": 2, "max_iter": 20}
    out = run("minimal", clf, x, y, method="cw_l2", n_samples=6, params=fast)
    assert (out.method, out.norm, out.n_samples) == ("cw_l2", "l2", 6)
    assert np.all(np.diff(out.norms) >= 0) and out.median == np.median(out.norms)


# ---------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    ("probe", "params", "message"),
    [
        ("noise", {"n_image": 5}, r"probes\[0\]\.n_image: unknown parameter for probe 'noise'.*did you mean 'n_images'"),
        ("noise", {"threshold": "high"}, r"probes\[0\]\.threshold: expected a number >= 0"),
        ("noise", {"n_images": 0}, r"probes\[0\]\.n_images: expected an integer >= 1"),
        ("minimal", {"method": "pgd"}, r"probes\[0\]\.method: expected a minimal-perturbation attack \(cw_l2, cw_linf, deepfool\)"),
        ("minimal", {"method": "deepfol"}, r"probes\[0\]\.method: unknown attack 'deepfol'.*did you mean 'deepfool'"),
        ("minimal", {"params": {"steps": 3}}, r"probes\[0\]\.params\.steps: unknown parameter for attack 'deepfool'"),
        ("minimal", {"params": {"max_iter": 0}}, r"probes\[0\]\.params\.max_iter: expected an integer >= 1"),
        ("nois", {}, r"probes\[0\]\.name: unknown probe 'nois'.*did you mean 'noise'"),
    ],
)  # fmt: skip
def test_bad_probe_specs_are_refused_in_one_line(probe, params, message) -> None:
    with pytest.raises(HarnessError, match=message) as info:
        plan([AttackSpec(probe, params)])
    assert "\n" not in str(info.value)


def test_every_probe_resolves_its_defaults_and_has_a_docstring() -> None:
    assert PROBES.names() == ["minimal", "noise"]
    for name in PROBES:
        d = PROBES.get(name)
        assert d.resolve(AttackSpec(name)) == d.defaults
        assert d.description and d.run.__doc__ and "(" in d.description  # paper / source
