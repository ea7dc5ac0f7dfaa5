"""Grad-CAM heatmaps and overlays: arrays in, arrays out.

Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391) weights a conv layer's
feature maps by the spatial mean of the class score's gradient, sums them and keeps the positive
part. The heavy lifting is pytorch-grad-cam's ``GradCAM``; this module pins how it is called:
eval mode, gradients enabled, no side effects on the model, CPU, hooks always removed.

pytorch-grad-cam min-max scales each map and resizes it bilinearly (OpenCV) to the input size.
For 8x8 digits the last conv layer is 4x4 (``small_cnn``) or 2x2 (three pooled blocks); both
upsample to smooth 8x8 maps. A 1x1 (or otherwise constant) map carries no spatial information
and comes out as all zeros.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import torch
from matplotlib import colormaps
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget
from torch import nn

BATCH_SIZE = 64  # images per Grad-CAM pass: bounds the retained autograd graph's memory


def last_conv_layer(model: nn.Module) -> tuple[str, nn.Module]:
    """Name (as in ``named_modules()``) and module of the last ``nn.Conv2d`` in ``model``."""
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer for Grad-CAM to use")
    return convs[-1]


def gradcam(
    model: nn.Module,
    x: np.ndarray,  # (K, C, H, W) float32 in [0, 1]; the model normalizes internally
    layer: nn.Module,
    targets: np.ndarray | None = None,  # (K,) class indices; None: the predicted class
) -> np.ndarray:
    """Grad-CAM heatmaps of ``layer`` for each image: (K, H, W) float32 in [0, 1].

    The model is run in eval mode and left exactly as it was: train/eval flags, parameters,
    their ``.grad`` and BatchNorm running statistics. ``x`` is never modified.
    """
    if x.ndim != 4:
        raise ValueError(f"gradcam: expected x of shape (K, C, H, W), got {x.shape}")
    if targets is not None:
        targets = np.asarray(targets)
        if targets.shape != (len(x),) or (targets < 0).any():
            raise ValueError(
                f"gradcam: expected {len(x)} non-negative class indices, got {targets!r}"
            )
    if len(x) == 0:
        return np.zeros((0, *x.shape[2:]), dtype=np.float32)
    with _untouched(model):
        cams = [
            _gradcam_batch(
                model,
                x[i : i + BATCH_SIZE],
                layer,
                None if targets is None else targets[i : i + BATCH_SIZE],
            )
            for i in range(0, len(x), BATCH_SIZE)
        ]
    return np.concatenate(cams)


def _gradcam_batch(
    model: nn.Module, x: np.ndarray, layer: nn.Module, targets: np.ndarray | None
) -> np.ndarray:
    # A copy on the CPU: the caller's array (possibly read-only) is never touched. It requires
    # grad so the layer's output has a graph even when every parameter is frozen.
    inputs = torch.tensor(np.asarray(x, dtype=np.float32), device="cpu", requires_grad=True)
    cam_targets = None if targets is None else [ClassifierOutputTarget(int(t)) for t in targets]
    cam = GradCAM(model=model, target_layers=[layer])
    # Not ``with GradCAM(...)``: its __exit__ prints and swallows IndexError (e.g. a class index
    # beyond the model's outputs), which would return garbage instead of failing.
    try:
        heatmaps = cam(input_tensor=inputs, targets=cam_targets)
    finally:
        cam.activations_and_grads.release()  # removes the forward hooks from ``layer``
    return np.clip(heatmaps, 0.0, 1.0).astype(np.float32)


@contextlib.contextmanager
def _untouched(model: nn.Module) -> Iterator[None]:
    """Eval mode with gradients enabled; restore every module's mode and every ``.grad`` after."""
    modes = [(m, m.training) for m in model.modules()]
    grads = [(p, p.grad) for p in model.parameters()]  # GradCAM zeroes and then fills them
    model.eval()  # BatchNorm uses (and never updates) its running stats; dropout is off
    try:
        with torch.enable_grad():  # callers may be inside torch.no_grad()
            yield
    finally:
        for m, training in modes:
            m.training = training
        for p, grad in grads:
            p.grad = grad


def cam_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-sample cosine similarity of flattened heatmaps ``a``, ``b`` (K, H, W) -> (K,) float64.

    1 for identical maps; two all-zero maps count as identical (1), one all-zero map as 0.
    """
    if a.shape != b.shape:
        raise ValueError(f"cam_similarity: shapes differ: {a.shape} vs {b.shape}")
    fa = a.reshape(len(a), -1).astype(np.float64)
    fb = b.reshape(len(b), -1).astype(np.float64)
    na, nb = np.linalg.norm(fa, axis=1), np.linalg.norm(fb, axis=1)
    dot = np.sum(fa * fb, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sim = np.where(na * nb > 0, dot / (na * nb), np.where((na == 0) & (nb == 0), 1.0, 0.0))
    return np.clip(sim, -1.0, 1.0)


def overlay(image: np.ndarray, cam: np.ndarray, alpha: float = 0.4) -> np.ndarray:
    """Blend a jet-coloured heatmap over an image: (1 - alpha) * image + alpha * heatmap.

    image: (C, H, W) in [0, 1], C = 1 or 3; cam: (H, W) in [0, 1].
    Returns (H, W, 3) float32 RGB in [0, 1]. alpha=0.4 is seed 000's 60/40 blend.
    """
    if image.ndim != 3 or image.shape[0] not in (1, 3):
        raise ValueError(f"overlay: expected image (C, H, W) with C = 1 or 3, got {image.shape}")
    if cam.shape != image.shape[1:]:
        raise ValueError(f"overlay: cam shape {cam.shape} does not match image {image.shape}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"overlay: expected alpha in [0, 1], got {alpha}")
    rgb = np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image
    rgb = np.clip(np.moveaxis(rgb, 0, -1), 0.0, 1.0)  # (H, W, 3)
    heat = colormaps["jet"](np.clip(cam, 0.0, 1.0))[..., :3]  # (H, W, 3), alpha channel dropped
    return ((1.0 - alpha) * rgb + alpha * heat).astype(np.float32)
