"""Seed 003's weight analysis: power-law fit, spectral norms, recorder hook, report section."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from harness import esd, esd_ww, report, weights
from harness.results import DataSummary, RunResult, WeightAnalysis
from harness.training import TrainData, run_epochs


def _tiny() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 8 * 8, 3),
    )


def _data() -> TrainData:
    rng = np.random.default_rng(0)
    x = rng.random((24, 1, 8, 8), dtype=np.float32)
    y = rng.integers(0, 3, 24).astype(np.int64)
    return TrainData(x[:16], y[:16], x[16:], y[16:])


def _sgd_epoch(model: nn.Module, data: TrainData):
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)

    def fit_epoch(epoch: int) -> None:
        model.train()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()

    return fit_epoch


# ---------------------------------------------------------------- power law and ESD


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_alpha_recovered_from_pareto_samples(seed: int) -> None:
    # numpy's pareto(a) is Lomax; +1 gives density ~ x^-(a+1) on x >= 1, so alpha = a + 1 = 3
    x = np.random.default_rng(seed).pareto(2.0, 2000) + 1.0
    fit = esd.fit_power_law(x)
    assert fit["alpha"] == pytest.approx(3.0, abs=0.3)
    assert fit["xmin"] == pytest.approx(1.0, abs=0.2)
    assert 0 < fit["D"] < 0.05 and fit["n_tail"] > 1000


def test_gaussian_matrix_has_larger_alpha_than_heavy_tailed() -> None:
    rng = np.random.default_rng(0)
    gauss = esd.esd_alpha(rng.standard_normal((512, 256)))  # Marchenko-Pastur bulk
    heavy = esd.esd_alpha(rng.standard_t(2.0, (512, 256)))  # heavy-tailed entries
    assert math.isfinite(gauss["alpha"]) and math.isfinite(heavy["alpha"])
    assert gauss["alpha"] > 6 > heavy["alpha"]  # observed: about 9.9 vs 2.5
    assert gauss["n_evals"] == 256  # M = the smaller dimension


def test_esd_is_squared_singular_values_over_the_larger_dimension() -> None:
    w = np.random.default_rng(0).standard_normal((20, 50))
    expected = np.sort(np.linalg.eigvalsh(w @ w.T / 50))  # W transposed so that N = 50 >= M = 20
    assert np.allclose(np.sort(esd.esd(w)), expected)
    assert np.allclose(np.sort(esd.esd(w.T)), expected)


def test_small_matrices_are_skipped_with_a_reason() -> None:
    fit = esd.esd_alpha(np.ones((30, 5)))
    assert fit["alpha"] is None and "no fit" in fit["note"]


def test_conv_eigenvalues_pool_every_spatial_slice() -> None:
    conv = nn.Conv2d(16, 12, 3)
    eigs = esd.eigenvalues(conv)
    assert len(eigs) == 9 * 12  # 3x3 slices of shape (12, 16): 12 eigenvalues each


# ---------------------------------------------------------------- spectral norms


def test_spectral_norms_match_torch() -> None:
    model = _tiny()
    norms = weights.spectral_norms(model)
    conv_w, lin_w = model[0].weight.detach(), model[3].weight.detach()
    assert norms["0"] == pytest.approx(
        float(torch.linalg.matrix_norm(conv_w.reshape(4, -1), ord=2)), rel=1e-5
    )
    assert norms["3"] == pytest.approx(float(torch.linalg.matrix_norm(lin_w, ord=2)), rel=1e-5)


def _dense_norm(conv: nn.Conv2d, chw: tuple[int, ...]) -> float:
    """The operator norm of x -> conv(x) (no bias) on (C, H, W) inputs from its dense Jacobian."""
    x0 = torch.zeros(1, *chw, dtype=torch.float64)
    w = conv.weight.detach().double()
    jac = torch.autograd.functional.jacobian(lambda x: conv._conv_forward(x, w, None), x0)
    return float(torch.linalg.matrix_norm(jac.reshape(-1, x0.numel()), ord=2))


def test_conv_operator_norm_matches_the_dense_matrix() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, stride=2, padding=1).double()
    expected = _dense_norm(conv, (2, 5, 5))
    assert weights.conv_operator_norm(conv, (2, 5, 5), iters=300) == pytest.approx(
        expected, rel=1e-4
    )


def test_conv_operator_norm_converges_at_its_default_budget() -> None:
    """Lanczos (harness.conv_norm) at the default 100 products meets the dense norm to 1e-7 on
    a random layer whose flat spectrum leaves power iteration short."""
    torch.manual_seed(1)
    conv = nn.Conv2d(8, 8, 3, padding=1).double()
    expected = _dense_norm(conv, (8, 6, 6))
    assert weights.conv_operator_norm(conv, (8, 6, 6)) == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize(
    ("k", "stride", "padding", "dilation"), [(3, 1, 1, 1), (5, 2, 3, 1), (3, 1, 2, 2)]
)
def test_conv_operator_norm_on_one_pixel_is_exact(
    k: int, stride: int, padding: int, dilation: int
) -> None:
    """On a 1 x 1 input only the taps that land on the pixel act (ResNet-18's last stage on
    CIFAR-10): the norm is computed from them, to float64 precision, without Lanczos."""
    torch.manual_seed(2)
    conv = nn.Conv2d(6, 4, k, stride=stride, padding=padding, dilation=dilation).double()
    expected = _dense_norm(conv, (6, 1, 1))
    assert weights.conv_operator_norm(conv, (6, 1, 1)) == pytest.approx(expected, rel=1e-12)


def test_esd_from_gram_matrices_matches_the_svd() -> None:
    """The ESD comes from each slice's smaller Gram matrix: the squared singular values within
    1e-12 of the largest."""
    torch.manual_seed(3)
    conv = nn.Conv2d(12, 20, 3)
    w = conv.weight.detach().double()
    svd = [torch.linalg.svdvals(w[:, :, i, j]) ** 2 / 20 for i in range(3) for j in range(3)]
    expected = np.sort(torch.cat(svd).numpy())
    got = esd.eigenvalues(conv)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * expected.max())


# ---------------------------------------------------------------- histograms and the recorder


def test_histograms_count_every_parameter() -> None:
    model = _tiny()
    hist = weights.histograms(model, bins=7)
    assert set(hist) == {"0", "3"}
    for name, module in weights.layers(model):
        for part in ("weight", "bias"):
            counts, edges = hist[name][part]
            assert counts.sum() == getattr(module, part).numel()
            assert len(edges) == 8


def test_recorder_through_run_epochs_and_no_hook_is_unchanged() -> None:
    data = _data()
    plain = _tiny()
    history = run_epochs(plain, data, 3, _sgd_epoch(plain, data), "t")
    hooked, recorder = _tiny(), weights.WeightRecorder(bins=5)
    hooked_history = run_epochs(hooked, data, 3, _sgd_epoch(hooked, data), "t", recorder)
    strip = lambda h: [dataclasses.replace(e, seconds=0.0) for e in h]  # noqa: E731
    assert strip(history) == strip(hooked_history)
    for a, b in zip(plain.parameters(), hooked.parameters(), strict=True):
        assert torch.equal(a, b)
    assert [e["epoch"] for e in recorder.epochs] == [1, 2, 3]
    first = recorder.epochs[0]["layers"]["3"]["weight"]
    assert sum(first["counts"]) == 3 * 4 * 8 * 8 and len(first["edges"]) == 6
    assert all(isinstance(c, int) for c in first["counts"])
    json.dumps(recorder.epochs)  # JSON-able as is


def test_recorder_keeps_at_most_max_layers() -> None:
    model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(10)])
    recorder = weights.WeightRecorder(max_layers=3)
    recorder(0, model)
    assert list(recorder.epochs[0]["layers"]) == ["0", "4", "9"]


def test_analyse_is_json_able_and_round_trips(tmp_path) -> None:
    model, recorder = _tiny(), weights.WeightRecorder()
    recorder(0, model)
    wa = weights.analyse(model, recorder, input_shape=(1, 8, 8))
    assert [r["name"] for r in wa.layers] == ["0", "3"]
    conv, lin = wa.layers
    assert conv["shape"] == [4, 1, 3, 3] and conv["operator_norm"] > 0
    assert conv["alpha"] is None  # 9 slices x 1 eigenvalue < 10: skipped
    assert lin["n_evals"] == 3 and lin["alpha"] is None
    assert WeightAnalysis(**json.loads(json.dumps(dataclasses.asdict(wa)))) == wa


# ---------------------------------------------------------------- report


def _analysis() -> WeightAnalysis:
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(8, 16, 3), nn.Flatten(), nn.Linear(64, 32))
    recorder = weights.WeightRecorder(bins=10)
    for epoch in (1, 2):
        recorder(epoch, model)
        with torch.no_grad():
            model[2].weight.add_(torch.from_numpy(rng.standard_normal((32, 64))).float() * 0.1)
    return weights.analyse(model, recorder)


def test_report_section_and_figures(tmp_path) -> None:
    from tests.test_report import _model

    base = _model("baseline", 0.9, None)
    base.weight_analysis = _analysis()
    result = RunResult("demo", {}, 0, DataSummary(class_names=["a", "b", "c"]), [base], [], [])
    md = report.render_markdown(result)
    assert "## Weight analysis\n" in md
    assert "| `2` | 32 × 64 |" in md and "weights_baseline.png" in md and "esd_baseline.png" in md
    assert "typical of a well-trained layer" in md or "under-trained" in md
    fitted_by = "α, xmin and D fitted by `weightwatcher " if esd_ww.available() else "the harness ("
    assert fitted_by in md
    names = set(report.figures(result))
    assert {"weights_baseline.png", "esd_baseline.png"} <= names
    out = report.write_report(result, tmp_path / "rep")
    assert (out / "weights_baseline.png").stat().st_size > 0
    assert (out / "esd_baseline.png").stat().st_size > 0
    back = RunResult.from_dict(json.loads((out / "run.json").read_text()))
    assert back.models[0].weight_analysis == base.weight_analysis


def test_report_names_the_harness_fit_and_nothing_for_older_runs() -> None:
    from tests.test_report import _model

    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16))
    base = _model("baseline", 0.9, None)
    base.weight_analysis = weights.analyse(model, weightwatcher=False)
    assert {r["fit"] for r in base.weight_analysis.layers} == {"harness"}
    result = RunResult("demo", {}, 0, DataSummary(), [base], [], [])
    harness_line = "α, xmin and D fitted by the harness (WeightWatcher's method, WeightWatcher"
    assert harness_line in report.render_markdown(result)
    for row in base.weight_analysis.layers:
        del row["fit"]  # a run.json written before the field existed
    assert "α, xmin and D fitted by" not in report.render_markdown(result)


def test_an_operator_norm_on_a_large_input_is_a_stated_lower_bound(monkeypatch) -> None:
    """Past ``OPERATOR_NORM_SIDE`` the norm is taken on the input's top-left crop: a lower
    bound of the whole input's (dense Jacobians here, side 4 of a 7 x 7 input), said in the
    row and, with "≥", in the report; smaller inputs are untouched."""
    from tests.test_report import _model

    monkeypatch.setattr(weights, "OPERATOR_NORM_SIDE", 4)
    torch.manual_seed(2)
    model = nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(3, 2, 3))
    wa = weights.analyse(model, input_shape=(2, 7, 7), weightwatcher=False)
    first, second = wa.layers[0], wa.layers[1]  # inputs 7 x 7 (cut to 4 x 4) and 4 x 4
    assert first["operator_norm_input"] == [2, 4, 4] and "operator_norm_input" not in second

    crop, whole = _dense_norm(model[0], (2, 4, 4)), _dense_norm(model[0], (2, 7, 7))
    assert first["operator_norm"] == pytest.approx(crop, rel=1e-4)
    assert crop <= whole + 1e-12
    assert second["operator_norm"] == pytest.approx(_dense_norm(model[2], (3, 4, 4)), rel=1e-4)
    base = _model("baseline", 0.9, None)
    base.weight_analysis = wa
    text = report.render_markdown(RunResult("demo", {}, 0, DataSummary(), [base], [], []))
    assert f"| ≥ {first['operator_norm']:.4g} |" in text
    assert "≥: the operator norm on the top-left 4x4 of the layer's larger input" in text


def test_no_analysis_no_section() -> None:
    from tests.test_report import _model

    result = RunResult("demo", {}, 0, DataSummary(), [_model("baseline", 0.9, None)], [], [])
    assert "Weight analysis" not in report.render_markdown(result)
    assert not any(n.startswith(("weights_", "esd_")) for n in report.figures(result))


@pytest.mark.parametrize("dof", [2.0, 4.0, 30.0])
def test_power_law_fit_scores_only_candidates_that_can_win_and_finds_the_same_xmin(dof) -> None:
    """``esd._bounded`` skips xmin candidates whose lower bound exceeds the best D found; the
    fit must be the one scoring every candidate gives."""
    w = np.random.default_rng(4).standard_t(dof, (600, 300))
    x = np.sort(esd.esd(w))
    k, n, denom = (np.array(c) for c in zip(*esd._tails(x), strict=True))
    alpha = 1.0 + n / denom
    d = esd._ks_many(x, k, alpha)  # every candidate
    best = int(np.argmin(d))
    fit = esd.fit_power_law(x)
    assert (fit["xmin"], fit["alpha"], fit["D"]) == (x[k[best]], alpha[best], d[best])
    kept, _, _ = esd._bounded(x, k, alpha)
    assert len(kept) < len(k) / 2  # most candidates never scored in full
