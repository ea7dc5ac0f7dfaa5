"""Grad-CAM helpers: shapes and ranges on tiny inputs, and no side effects on model or inputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from harness.cams import cam_similarity, overlay
from harness.explain import gradcam, last_conv_layer


def tiny_cnn(channels: int, pools: int = 1, classes: int = 3) -> nn.Sequential:
    """Conv+BN block, ``pools`` max-pools, a last conv; 8x8 input -> 8 / 2**pools last-conv map."""
    torch.manual_seed(0)
    layers: list[nn.Module] = [nn.Conv2d(channels, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU()]
    layers += [nn.MaxPool2d(2) for _ in range(pools)]
    layers += [nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    model = nn.Sequential(*layers, nn.Dropout(0.5), nn.Linear(8, classes))
    model.train()
    with torch.no_grad():  # non-trivial BatchNorm running stats
        for _ in range(3):
            model(torch.rand(16, channels, 8, 8))
    return model.eval()


def images(k: int, c: int, h: int, w: int) -> np.ndarray:
    x = np.random.default_rng(1).random((k, c, h, w), dtype=np.float32)
    x.setflags(write=False)  # gradcam must never write into its input
    return x


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize(("c", "hw", "pools"), [(3, 32, 2), (1, 8, 1), (1, 8, 2)])
def test_gradcam_shape_and_range(c: int, hw: int, pools: int) -> None:
    # (1, 8, 8) digits: the last conv map is 4x4 (one pool) or 2x2 (two pools)
    model = tiny_cnn(c, pools)
    _, layer = last_conv_layer(model)
    x = images(5, c, hw, hw)
    for targets in (None, *(np.full(5, k) for k in range(3))):
        cams = gradcam(model, x, layer, targets)
        assert cams.shape == (5, hw, hw) and cams.dtype == np.float32
        assert np.isfinite(cams).all() and cams.min() >= 0.0 and cams.max() <= 1.0
    # A class with positive evidence gets a min-max scaled map peaking at 1, upsampled smoothly
    # (bilinear) from the small last-conv map rather than in blocks.
    peak = max((gradcam(model, x, layer, np.full(5, k)) for k in range(3)), key=np.max)
    assert peak.max() > 0.99 and len(np.unique(peak[0])) > (hw // 2**pools) ** 2


def test_gradcam_has_no_side_effects() -> None:
    model = tiny_cnn(1)
    model[1].train()  # mixed modes: BatchNorm in train mode, the rest in eval mode
    before = snapshot(model)
    modes = [m.training for m in model.modules()]
    x = images(4, 1, 8, 8)
    x_before = x.copy()
    _, layer = last_conv_layer(model)
    gradcam(model, x, layer, np.array([0, 1, 2, 0]))
    after = snapshot(model)
    assert after.keys() == before.keys()
    for key in before:  # parameters and BatchNorm running_mean/var/num_batches_tracked
        assert torch.equal(after[key], before[key]), key
    assert [m.training for m in model.modules()] == modes
    assert all(p.grad is None for p in model.parameters())
    np.testing.assert_array_equal(x, x_before)
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks


def test_gradcam_removes_hooks_without_relying_on_garbage_collection(monkeypatch) -> None:
    # BaseCAM.__del__ also releases the hooks; disable it to prove gradcam releases them itself.
    monkeypatch.setattr("pytorch_grad_cam.base_cam.BaseCAM.__del__", lambda self: None)
    model = tiny_cnn(1)
    layer = last_conv_layer(model)[1]
    gradcam(model, images(2, 1, 8, 8), layer)
    assert not layer._forward_hooks and not layer._backward_hooks


def test_gradcam_restores_train_mode_and_keeps_existing_grads() -> None:
    model = tiny_cnn(1).train()
    grads = [torch.full_like(p, 0.5) for p in model.parameters()]
    for p, g in zip(model.parameters(), grads, strict=True):
        p.grad = g
    gradcam(model, images(2, 1, 8, 8), last_conv_layer(model)[1])
    assert all(m.training for m in model.modules())
    assert all(p.grad is g for p, g in zip(model.parameters(), grads, strict=True))


def test_gradcam_in_eval_mode_matches_plain_eval() -> None:
    """Dropout and BatchNorm behave as in eval mode even when the model was in train mode."""
    model = tiny_cnn(1)
    x = images(3, 1, 8, 8)
    layer = last_conv_layer(model)[1]
    expected = gradcam(model, x, layer)
    assert np.array_equal(gradcam(model.train(), x, layer), expected)


def test_gradcam_default_target_is_the_predicted_class() -> None:
    model = tiny_cnn(1)
    x = images(4, 1, 8, 8)
    with torch.no_grad():
        pred = model(torch.from_numpy(x.copy())).argmax(1).numpy()
    layer = last_conv_layer(model)[1]
    np.testing.assert_array_equal(gradcam(model, x, layer), gradcam(model, x, layer, pred))


def test_gradcam_works_under_no_grad_and_with_frozen_parameters() -> None:
    model = tiny_cnn(1)
    for p in model.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        cams = gradcam(model, images(2, 1, 8, 8), last_conv_layer(model)[1])
    assert cams.shape == (2, 8, 8)
    assert all(not p.requires_grad for p in model.parameters())
    assert torch.is_grad_enabled()


def test_gradcam_rejects_bad_targets_and_leaves_no_hooks() -> None:
    model = tiny_cnn(1)
    layer = last_conv_layer(model)[1]
    with pytest.raises(ValueError, match="class indices"):
        gradcam(model, images(2, 1, 8, 8), layer, np.array([0]))
    with pytest.raises(IndexError):  # class 7 of 3: not swallowed by pytorch-grad-cam
        gradcam(model, images(2, 1, 8, 8), layer, np.array([0, 7]))
    assert not layer._forward_hooks and not layer._backward_hooks


def test_gradcam_of_no_images() -> None:
    model = tiny_cnn(1)
    cams = gradcam(model, images(0, 1, 8, 8), last_conv_layer(model)[1])
    assert cams.shape == (0, 8, 8)


def test_last_conv_layer() -> None:
    model = tiny_cnn(1, pools=2)
    name, layer = last_conv_layer(model)
    assert name == "5" and layer is model[5]
    with pytest.raises(ValueError, match=r"no nn\.Conv2d"):
        last_conv_layer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))


def test_cam_similarity() -> None:
    a = np.random.default_rng(0).random((3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(cam_similarity(a, a), 1.0, rtol=1e-6)
    zero = np.zeros_like(a)
    np.testing.assert_array_equal(cam_similarity(zero, zero), 1.0)
    np.testing.assert_array_equal(cam_similarity(a, zero), 0.0)
    b = a.copy()
    b[0] = 1.0 - b[0]
    sim = cam_similarity(a, b)
    assert sim.shape == (3,) and sim[0] < 1.0 and np.allclose(sim[1:], 1.0)
    with pytest.raises(ValueError, match="shapes differ"):
        cam_similarity(a, a[:2])


@pytest.mark.parametrize("c", [1, 3])
def test_overlay_shape_and_range(c: int) -> None:
    image = images(1, c, 8, 8)[0]
    cam = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    out = overlay(image, cam)
    assert out.shape == (8, 8, 3)
    assert out.min() >= 0.0 and out.max() <= 1.0
    black = overlay(np.zeros((c, 8, 8), np.float32), cam, alpha=0.4)
    assert np.isclose(black.max(), 0.4, atol=0.01)  # 60/40: the heatmap contributes 40%
    np.testing.assert_allclose(overlay(image, cam, alpha=0.0)[..., 0], image[0], rtol=1e-6)
