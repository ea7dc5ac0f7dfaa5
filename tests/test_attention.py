"""Attention shift: raw Grad-CAM, CAM mass, blank maps, and their table and figure in the report."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pytorch_grad_cam.utils.image import scale_cam_image

from harness import plots, report
from harness.attacks import ATTACKS, generate
from harness.cams import cam_similarity
from harness.explain import (
    attention_row,
    attention_shift,
    blank,
    cam_mass,
    cams_of,
    gradcam,
    gradcam_raw,
    last_conv_layer,
    predict,
)
from harness.results import AttentionRow, DataSummary, RunResult
from harness.spec import AttackSpec

pytestmark = pytest.mark.usefixtures("one_thread")

# The tiny model breaks early (FGSM robust accuracy ~0.67 at 0.01, ~0.04 at 0.1). Beyond that
# the similarity rises again (0.57 at 0.1, 0.73 at 0.3 on these images), so the grid stops at 0.1.
EPS = (0.001, 0.01, 0.1)


def fgsm(clf, x: np.ndarray, y: np.ndarray, eps: float) -> np.ndarray:
    definition = ATTACKS.get("fgsm")
    return generate(clf, definition, definition.resolve(AttackSpec("fgsm", {})), x, y, eps)


def read_only(x: np.ndarray) -> np.ndarray:
    x = x.copy()
    x.setflags(write=False)  # attention_shift must never write into its input
    return x


@pytest.fixture(scope="module")
def picks(held_out):
    """The model, its classifier, its Grad-CAM layer and 24 read-only held-out images."""
    model, clf, x, y = held_out
    return model, clf, last_conv_layer(model)[1], read_only(x[:24]), y[:24]


def snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


# ---------------------------------------------------------------- raw CAMs


def test_raw_cam_scaled_and_resized_is_gradcam(picks) -> None:
    model, _, layer, x, _ = picks
    pred = predict(model, x)
    raw = gradcam_raw(model, x, layer, pred)
    assert raw.shape == (len(x), 4, 4) and raw.dtype == np.float32  # small_cnn: 8 -> 4x4
    assert (raw >= 0).all() and raw.max() > 0
    # pytorch-grad-cam min-max scales, resizes, then min-max scales again (layer aggregation)
    expected = scale_cam_image(scale_cam_image(raw, (8, 8)))
    np.testing.assert_allclose(expected, gradcam(model, x, layer, pred), atol=1e-4)
    np.testing.assert_array_equal(gradcam_raw(model, x, layer), raw)  # default: predicted class


def test_raw_cam_is_not_min_max_scaled(picks) -> None:
    # Halving every logit halves the raw map (and its mass); the scaled map does not change.
    model, _, layer, x, _ = picks
    half = torch.nn.Sequential(model, _Scale(0.5)).eval()
    np.testing.assert_allclose(
        gradcam_raw(half, x, layer), gradcam_raw(model, x, layer) / 2, rtol=1e-5, atol=1e-8
    )
    np.testing.assert_allclose(gradcam(half, x, layer), gradcam(model, x, layer), atol=1e-5)


class _Scale(torch.nn.Module):
    def __init__(self, k: float) -> None:
        super().__init__()
        self.k = k

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.k * z


def test_raw_cam_survives_an_in_place_relu() -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 4, 3, padding=1)
    inplace = torch.nn.Sequential(
        conv,
        torch.nn.ReLU(inplace=True),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 3),
    ).eval()
    plain = torch.nn.Sequential(conv, torch.nn.ReLU(), *list(inplace)[2:]).eval()
    x = read_only(np.random.default_rng(0).random((3, 1, 8, 8), dtype=np.float32))
    np.testing.assert_array_equal(gradcam_raw(inplace, x, conv), gradcam_raw(plain, x, conv))


def test_mass_and_blank() -> None:
    clean = np.array([[[0.0, 2.0], [2.0, 4.0]], [[1.0, 1.0], [1.0, 1.0]]], dtype=np.float32)
    np.testing.assert_array_equal(cam_mass(clean), [2.0, 1.0])
    adv = np.array([[[0.0, 0.1], [0.0, 0.19]], [[0.0, 0.0], [0.0, 0.06]]], dtype=np.float32)
    # image 0: peak 0.19 < 5% of 4; image 1: peak 0.06 >= 5% of 1
    np.testing.assert_array_equal(blank(adv, clean), [True, False])
    zeros = np.zeros_like(clean)
    np.testing.assert_array_equal(blank(zeros, zeros), [True, True])  # no evidence at all


def test_attention_row_from_hand_made_cams() -> None:
    clean = _cams(raw=[[[2.0, 2.0], [2.0, 2.0]], [[0.0, 0.0], [0.0, 0.0]]])
    adv = _cams(raw=[[[1.0, 0.0], [0.0, 0.0]], [[0.5, 0.5], [0.5, 0.5]]])
    row = attention_row("baseline", "fgsm", 0.1, clean, adv)
    assert row.clean_mass == pytest.approx(1.0)  # (2 + 0) / 2
    assert row.adv_mass == pytest.approx((0.25 + 0.5) / 2)
    assert row.mass_ratio == pytest.approx(0.125)  # image 1 has no clean mass: left out
    assert row.blank_fraction == 0.0  # 1 >= 5% of 2; 0.5 > 1e-6 (clean peak 0)
    assert row.n == 2 and (row.model, row.attack, row.eps) == ("baseline", "fgsm", 0.1)
    expected = cam_similarity(clean.scaled, adv.scaled).mean()
    assert row.similarity == pytest.approx(expected)


def _cams(raw):
    from harness.explain import Cams

    raw = np.asarray(raw, dtype=np.float32)
    return Cams(scale_cam_image(raw, (4, 4)), raw)


# ---------------------------------------------------------------- attention_shift on a model


def test_identical_inputs_give_similarity_and_ratio_exactly_one(picks) -> None:
    model, _, layer, x, _ = picks
    rows = attention_shift(model, x, layer, [0.1, 0.2], lambda e: x, model_name="m", attack="none")
    assert [r.eps for r in rows] == [0.1, 0.2]
    for r in rows:
        assert r.similarity == 1.0 and r.mass_ratio == 1.0 and r.blank_fraction == 0.0
        assert r.clean_mass == r.adv_mass > 0 and r.n == len(x)


def test_fgsm_shifts_attention_more_at_larger_eps(picks) -> None:
    model, clf, layer, x, y = picks
    rows = attention_shift(
        model,
        x,
        layer,
        (0.0, *EPS),
        lambda e: fgsm(clf, x, y, e),
        model_name="baseline",
        attack="fgsm",
    )
    assert [r.eps for r in rows] == list(EPS)  # eps = 0 is the clean input: skipped
    assert all(r.similarity < 1.0 for r in rows)
    assert rows[-1].similarity < rows[0].similarity
    assert all(r.n == len(x) and math.isfinite(r.mass_ratio) for r in rows)
    assert len({r.clean_mass for r in rows}) == 1  # clean CAMs computed once


def test_attention_shift_leaves_model_and_inputs_alone(picks) -> None:
    model, clf, layer, x, y = picks
    x_adv = read_only(fgsm(clf, x, y, 0.1))  # crafted first: ART sets the model's mode itself
    before, x_before, adv_before = snapshot(model), x.copy(), x_adv.copy()
    grads = [p.grad for p in model.parameters()]  # whatever ART left there stays, untouched
    model.train()  # even a model in train mode is measured in eval mode and left in train mode
    try:
        with torch.no_grad():  # and callers inside no_grad still get gradients
            rows = attention_shift(
                model, x, layer, [0.1], lambda e: x_adv, model_name="m", attack="fgsm"
            )
        assert all(m.training for m in model.modules())
    finally:
        model.eval()
    expected = attention_row(
        "m", "fgsm", 0.1, cams_of(model, x, layer), cams_of(model, x_adv, layer)
    )
    assert rows == [expected] and rows[0].similarity < 1.0
    after = snapshot(model)
    for key in before:  # parameters and BatchNorm running statistics
        assert torch.equal(after[key], before[key]), key
    assert all(p.grad is g for p, g in zip(model.parameters(), grads, strict=True))
    assert not layer._forward_hooks
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(x_adv, adv_before)


def test_attention_shift_rejects_a_wrong_shape(picks) -> None:
    model, _, layer, x, _ = picks
    with pytest.raises(ValueError, match="make_adv"):
        attention_shift(model, x, layer, [0.1], lambda e: x[:3], model_name="m", attack="a")


# ---------------------------------------------------------------- report and figure

ROWS = [
    AttentionRow("baseline", "fgsm", 0.03137254901960784, 0.8123, 0.01234, 0.006789, 0.5, 0.25, 8),
    AttentionRow("baseline", "fgsm", 0.1, 0.4567, 0.01234, 0.000987, 0.0812, 0.875, 8),
    AttentionRow("robust", "fgsm", 0.03137254901960784, 0.9871, 0.2468, 0.2345, 0.95, 0.0, 8),
    AttentionRow("robust", "fgsm", 0.1, 0.9012, 0.2468, 0.1975, float("nan"), 0.125, 8),
]


def _result() -> RunResult:
    return RunResult(
        name="demo",
        spec={"name": "demo"},
        seed=0,
        data=DataSummary(class_names=["a", "b"]),
        models=[],
        measurements=[],
        attacks=[],
        attention=list(ROWS),
    )


def test_section_renders_the_exact_numbers() -> None:
    text = report.section_attention(ROWS)
    assert text.startswith("## Attention shift (Grad-CAM)")
    lines = text.splitlines()
    assert "| model | ε | CAM similarity | clean mass | adversarial mass | ratio | blank |" in lines
    assert (
        "| baseline | 0.03137 (8/255) | 0.812 | 0.01234 | 0.006789 | 0.500 | 25.00% (2 / 8) |"
        in lines
    )
    assert "| baseline | 0.1 | 0.457 | 0.01234 | 0.000987 | 0.081 | 87.50% (7 / 8) |" in lines
    assert "| robust | 0.03137 (8/255) | 0.987 | 0.2468 | 0.2345 | 0.950 | 0.00% (0 / 8) |" in lines
    assert "| robust | 0.1 | 0.901 | 0.2468 | 0.1975 | — | 12.50% (1 / 8) |" in lines
    assert "![Attention shift](attention_shift.png)" in lines
    assert report.section_attention([]) == ""
    assert "## Attention shift (Grad-CAM)" in report.render_markdown(_result())


def test_figure_written_and_rows_round_trip(tmp_path) -> None:
    result = _result()
    out = report.write_report(result, tmp_path / "rep")
    assert (out / "attention_shift.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = RunResult.from_dict(result.to_dict())
    assert back.attention[:3] == ROWS[:3] and math.isnan(back.attention[3].mass_ratio)
    fig = plots.attention_shift(ROWS)
    left, right = fig.axes
    assert [len(ax.lines) for ax in (left, right)] == [3, 3]  # two models + the 1.0 guide
