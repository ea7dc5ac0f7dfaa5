"""The defence suite: every registered defence trains on the digits set and goes through the
standard sweep; ART's trainers get pixel-unit values; naive vs adaptive attacks; certificates."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from scipy.stats import norm
from torch import nn

from harness import report
from harness.defences import DEFENCES, HardenJob
from harness.defences import validate as validate_defence
from harness.defences.art_trainers import at_trainer, fbf_trainer, madry_trainer, trades_trainer
from harness.defences.autoencoder import ConvAutoencoder
from harness.defences.smoothed import Smoothed
from harness.defences.smoothing import certify, curve
from harness.errors import HarnessError
from harness.report.sections.naive import _verdict
from harness.results import RunResult, rundir
from harness.runner import run
from harness.spec import DefenceSpec, TrainSpec, parse_spec
from harness.training import TrainData
from tests.conftest import SHAPE

TRAINED_AT = ("adversarial_training", "madry_pgd", "fast_fgsm", "trades")
WRAPPERS = ("purifier", "purifier_vae", "jpeg", "feature_squeezing", "spatial_smoothing")
SPEC = {
    "name": "digits_defences",
    "seed": 0,
    "threads": 2,
    "dataset": {"name": "digits"},
    "model": {"arch": "small_cnn", "train": {"epochs": 8, "batch_size": 64, "lr": 0.002}},
    "attacks": ["fgsm", {"name": "pgd", "steps": 10}],
    "eps": [0, 0.1, 0.2],
    "defences": [
        {"name": "adversarial_training", "attack": "fgsm", "eps": 0.15, "ratio": 0.5},
        {"name": "madry_pgd", "eps": 0.15, "step_size": 0.05, "steps": 3},
        {"name": "fast_fgsm", "eps": 0.15, "lr_max": 0.005},
        {"name": "trades", "eps": 0.15, "step_size": 0.05, "steps": 3},
        "spectral_norm",
        {"name": "purifier", "kind": "ae"},
        {"name": "purifier", "kind": "vae", "label": "purifier_vae"},
        "jpeg",
        "feature_squeezing",
        "spatial_smoothing",
        {
            "name": "randomized_smoothing",
            "sigma": 0.25,
            "n_select": 20,
            "n": 100,
            "certify_images": 40,
            "eot_samples": 4,
        },
    ],
    "evasion": {"n_images": 0},
    "gradcam": {"n_images": 0},
}


@pytest.fixture(scope="module")
def defended(tmp_path_factory) -> RunResult:
    return run(parse_spec(SPEC), models_dir=tmp_path_factory.mktemp("models"))


def robust(result: RunResult, model: str, attack: str, eps: float) -> float:
    return result.value(model, attack, eps, "robust_accuracy")


def test_the_suite_covers_every_registered_defence() -> None:
    assert {d.name for d in parse_spec(SPEC).defences} == set(DEFENCES.names())


def test_each_defence_trains_and_goes_through_the_standard_sweep(defended) -> None:
    roles = [m.role for m in defended.models]
    assert roles == ["baseline", *TRAINED_AT, "spectral_norm", *WRAPPERS, "randomized_smoothing"]
    for m in defended.models:
        assert m.clean_accuracy > 0.6, m.role  # spatial smoothing blurs 8x8 digits the most
        for attack in ("fgsm", "pgd", "worst_case"):
            curve_ = [robust(defended, m.role, attack, e) for e in (0.1, 0.2)]
            assert curve_[0] >= curve_[1] - 0.02, (m.role, attack)
        trains = m.role not in ("jpeg", "feature_squeezing", "spatial_smoothing")
        assert len(m.history) == (8 if trains else 0), m.role
        assert (m.defence.name if m.defence else "none") in {*DEFENCES.names(), "none"}


def test_adversarial_training_raises_robust_accuracy_at_a_mid_eps(defended) -> None:
    base = robust(defended, "baseline", "pgd", 0.1)
    for role in TRAINED_AT:
        assert robust(defended, role, "pgd", 0.1) > base + 0.1, role


def test_the_purifier_attacked_through_the_pipeline_is_weaker_than_naively(defended) -> None:
    for eps in (0.1, 0.2):
        adaptive = robust(defended, "purifier", "pgd", eps)
        naive = robust(defended, "purifier", "pgd_naive", eps)
        assert adaptive < naive - 0.05, eps


def test_naive_attacks_run_only_on_defences_in_front_of_the_baseline(defended) -> None:
    naive_models = {m.model for m in defended.measurements if m.attack.endswith("_naive")}
    assert naive_models == set(WRAPPERS)
    twins = {a.name: a.naive_of for a in defended.attacks}
    assert twins == {"fgsm": None, "pgd": None, "fgsm_naive": "fgsm", "pgd_naive": "pgd"}


def test_spectral_norm_bounds_every_layer(defended) -> None:
    normed = defended.model("spectral_norm").weight_analysis
    base = defended.model("baseline").weight_analysis
    assert normed is not None and base is not None
    # ~1: one power iteration per training step leaves the estimate a few percent behind
    assert all(0.9 < r["spectral_norm"] < 1.25 for r in normed.layers)
    assert max(r["spectral_norm"] for r in base.layers) > 1.5


def test_smoothing_is_certified_and_graded_as_random_by_design(defended) -> None:
    (c,) = defended.certified
    assert c.model == "randomized_smoothing" and c.n_images == 40
    assert c.certified_accuracy == sorted(c.certified_accuracy, reverse=True)
    assert c.certified_accuracy[0] == c.smoothed_accuracy > 0.7
    assert c.smoothed_accuracy + c.abstain_rate <= 1
    determinism = {s.model: s.status for s in defended.sanity if s.name == "deterministic"}
    assert determinism.pop("randomized_smoothing") == "WARN"
    assert set(determinism.values()) == {"PASS"}


def test_the_report_shows_the_comparison_naive_gap_and_certificates(defended, tmp_path) -> None:
    out = report.write_report(defended, tmp_path / "r")
    md = (out / "report.md").read_text()
    for heading in ("## Defence comparison", "## Naive vs adaptive attacks", "## Certified"):
        assert heading in md
    assert "**purifier, pgd**" in md and "overstates the defence by +" in md
    assert (out / "naive_vs_adaptive.png").is_file() and (out / "certified_accuracy.png").is_file()
    back = RunResult.from_dict(json.loads(rundir.render_run_json(defended)))
    assert back.certified == defended.certified


def test_every_hardened_model_is_rebuilt_from_its_run_folder(defended, tmp_path) -> None:
    """The app rebuilds each model from run.json and the weights files: same clean accuracy."""
    from harness.app.models import load_models
    from harness.app.runs import load_app_run
    from harness.datasets import load_dataset

    app_run = load_app_run(report.write_report(defended, tmp_path / "r"))
    data = load_dataset(parse_spec(SPEC).dataset, 0)
    models = {m.role: m for m in load_models(app_run)}
    assert set(models) == {m.role for m in defended.models}
    for m in defended.models:
        rebuilt = models[m.role]
        assert rebuilt.available, rebuilt.reason
        if m.role == "randomized_smoothing":
            assert type(rebuilt.model).__name__ == "Smoothed"
            continue
        pred = rebuilt.classifier.predict(data.x_test[:]).argmax(1)  # a lazy split read whole
        assert np.mean(pred == data.y_test) == pytest.approx(m.clean_accuracy), m.role


# ---------------------------------------------------------------- units, no training


def _job(name: str, **params) -> HardenJob:
    spec = DefenceSpec(name, params=params)
    resolved = validate_defence(spec)
    rng = np.random.default_rng(0)
    x = rng.random((8, *SHAPE), dtype=np.float32)
    data = TrainData(x, np.arange(8) % 4, x[:0], np.arange(0))
    return HardenJob(spec, resolved, TrainSpec(1, 4, 0.001), data, SHAPE, 4, 0, _tiny)


def _tiny() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.Flatten(), nn.Linear(4 * 64, 4))


def test_pixel_unit_values_reach_arts_trainers() -> None:
    madry = madry_trainer(_job("madry_pgd", eps=0.3, step_size=0.01, steps=40), _tiny())
    a = madry.attack
    assert (a.eps, a.eps_step, a.max_iter, a.num_random_init) == (0.3, 0.01, 40, 1)
    default = madry_trainer(_job("madry_pgd"), _tiny()).attack
    assert (default.eps, default.eps_step) == (8 / 255, 2 / 255)  # not ART's 8 and 2
    trades = trades_trainer(_job("trades", eps=0.1, step_size=0.02, steps=5, beta=3.0), _tiny())
    t = trades._attack
    assert (t.eps, t.eps_step, t.max_iter, trades._beta) == (0.1, 0.02, 5, 3.0)
    assert fbf_trainer(_job("fast_fgsm", eps=0.3), _tiny())._eps == 0.3
    at = at_trainer(_job("adversarial_training", attack="pgd", eps=0.2, ratio=1.0), _tiny())
    assert (at.attacks[0].eps, at.ratio) == (0.2, 1.0)
    assert at.attacks[0].eps_step == pytest.approx(0.05)  # the harness's PGD default: eps / 4


@pytest.mark.parametrize(
    ("name", "params", "field"),
    [
        (
            "madry_pgd",
            {"eps": 8},
            "defence.eps: expected a pixel-unit value in (0, 1] (e.g. 8/255, not 8)",
        ),
        ("trades", {"step_size": 2}, "defence.step_size"),
        ("fast_fgsm", {"eps": 0}, "defence.eps"),
        ("adversarial_training", {"ratio": 0}, "defence.ratio"),
        ("adversarial_training", {"attack": "transfer"}, "defence.attack: expected a registered"),
        (
            "adversarial_training",
            {"attack_params": {"stpes": 3}, "attack": "pgd"},
            "did you mean 'steps'",
        ),
        (
            "adversarial_training",
            {"attack": "pgd", "attack_params": {"early_stop": True}},
            "defence.attack_params.early_stop: expected false or absent",
        ),
        (
            "adversarial_training",
            {"attack": "pgd", "attack_params": {"warm_start": True}},
            "defence.attack_params.warm_start",
        ),
        ("purifier", {"kind": "gan"}, "defence.kind: expected ae or vae"),
        ("randomized_smoothing", {"radii": [0.5, 0.25]}, "defence.radii"),
        ("randomized_smoothing", {"sigma": 0}, "defence.sigma"),
        ("jpeg", {"qualty": 50}, "did you mean 'quality'"),
    ],
)
def test_bad_defence_parameters_name_their_field(name: str, params: dict, field: str) -> None:
    with pytest.raises(HarnessError) as info:
        validate_defence(DefenceSpec(name, params=params))
    assert field in str(info.value) and "\n" not in str(info.value)


def test_certified_accuracy_counts_abstentions_as_wrong() -> None:
    p = {"sigma": 0.5, "n": 100, "n_select": 10, "alpha": 0.001, "radii": [0.0, 0.3, 1.0]}
    pred = np.array([0, -1, 1, 0])  # the second image abstained (its true class is 0)
    y = np.array([0, 0, 1, 1])
    radius = np.array([0.5, 0.0, 0.2, 0.9])
    c = curve("m", p, pred, radius, y)
    assert c.certified_accuracy == [0.5, 0.25, 0.0] and c.abstain_rate == 0.25
    assert c.smoothed_accuracy == 0.5 and c.median_radius == pytest.approx(0.35)


class _Threshold(nn.Module):
    """Class 0 when the mean pixel is below 0.5, else class 1, very confidently."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = 1000 * (x.mean(dim=(1, 2, 3)) - 0.5)
        return torch.stack([-s, s], 1)


def _smoothing_job(sigma: float) -> HardenJob:
    job = _job("randomized_smoothing", sigma=sigma, n=200, n_select=20, radii=[0.0, 0.5])
    return HardenJob(job.spec, job.params, job.train, job.data, SHAPE, 2, 0, _tiny)


def test_bigger_noise_certifies_bigger_radii_and_the_boundary_abstains() -> None:
    far = np.full((2, *SHAPE), 0.05, np.float32)  # far below the threshold: always class 0
    radii = [
        certify(_smoothing_job(s), _Threshold(), far, np.zeros(2, int), "m") for s in (0.25, 0.5)
    ]
    assert radii[0].abstain_rate == radii[1].abstain_rate == 0.0
    assert radii[1].median_radius == pytest.approx(2 * radii[0].median_radius)  # sigma x Phi^-1(p)
    p_lower = 0.001 ** (1 / 200)  # Clopper-Pearson lower bound for 200 hits out of 200
    assert radii[0].median_radius == pytest.approx(0.25 * norm.ppf(p_lower), rel=1e-6)
    assert radii[0].max_radius == pytest.approx(radii[0].median_radius)  # all 200 agreed
    boundary = np.full((4, *SHAPE), 0.5, np.float32)  # on the boundary: a coin flip under noise
    c = certify(_smoothing_job(0.25), _Threshold(), boundary, np.zeros(4, int), "m")
    assert c.abstain_rate == 1.0 and c.certified_accuracy == [0.0, 0.0]


def test_certified_images_are_a_stratified_subset_not_the_first_ones() -> None:
    """A test set stored class by class: 10 class-0 images, then 10 class-1 images that the
    model gets wrong. The first 4 would all be class 0 (100%); 2 of each class give 50%."""
    x = np.full((20, *SHAPE), 0.05, np.float32)  # every image dark: always predicted class 0
    y = np.repeat([0, 1], 10)
    job = _smoothing_job(0.25)
    job = HardenJob(job.spec, job.params | {"certify_images": 4}, *dataclasses.astuple(job)[2:])
    c = certify(job, _Threshold(), x, y, "m")
    assert c.n_images == 4 and c.smoothed_accuracy == 0.5


def test_naive_verdict_says_which_attack_was_stronger() -> None:
    overstated = _verdict("purifier", "pgd", [(0.1, 0.6, 0.3, 0.3), (0.2, 0.5, 0.45, 0.05)])
    assert "at ε = 0.1 the naive attack leaves 60.00%, the adaptive attack 30.00%" in overstated
    assert "overstates the defence by +30.00 pp" in overstated and "stronger" not in overstated
    missed = _verdict("spatial_smoothing", "pgd", [(0.1, 0.4, 0.48, -0.08), (0.2, 0.2, 0.2, 0.0)])
    assert (
        "the naive attack (40.00%) is stronger than the adaptive one (48.00%) by 8.00 pp" in missed
    )
    assert "overstates the defence" not in missed and "`worst_case`" in missed
    same = _verdict("jpeg", "fgsm", [(0.1, 0.5, 0.499, 0.001)])
    assert same.endswith("naive and adaptive agree within 0.5 pp at every ε.")


def test_smoothed_model_averages_probabilities_over_noise() -> None:
    base = _tiny().eval()
    x = torch.rand(3, *SHAPE)
    exact = Smoothed(base, 0.0, 5, seed=0)(x)
    assert torch.allclose(exact, base(x).log_softmax(1), atol=1e-5)
    noisy = Smoothed(base, 0.5, 64, seed=0)
    assert not torch.equal(noisy(x), noisy(x))  # fresh noise on every forward pass


def test_vae_purifier_is_deterministic_when_evaluated() -> None:
    vae = ConvAutoencoder(1, 8, 4, variational=True).eval()
    x = torch.rand(2, *SHAPE)
    assert torch.equal(vae(x), vae(x)) and vae(x).shape == x.shape
