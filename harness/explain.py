"""Grad-CAM heatmaps and overlays: arrays in, arrays out.

Grad-CAM (Selvaraju et al., 2017, https://arxiv.org/abs/1610.02391) weights a conv layer's
feature maps by the spatial mean of the class score's gradient, sums them and keeps the positive
part. The heavy lifting is pytorch-grad-cam's ``GradCAM``; this module pins how it is called:
eval mode, gradients enabled, no side effects on the model, the model's device, hooks always
removed, batches halved on out of memory (``harness.oom``, the model's own halving state).

pytorch-grad-cam min-max scales each map and resizes it bilinearly (OpenCV) to the input size.
For 8x8 digits the last conv layer is 4x4 (``small_cnn``) or 2x2 (three pooled blocks); both
upsample to smooth 8x8 maps. A 1x1 (or otherwise constant) map carries no spatial information
and comes out as all zeros.

That scaling hides how *strong* a map is: a nearly blank map (the CIFAKE study: "adversarial attention
becomes nearly blank") is stretched to peak at 1 like any other. ``gradcam_raw`` returns the
unscaled map, ReLU(sum_k w_k A_k) at the layer's own resolution, and ``attention_shift`` uses it
to measure CAM mass (mean raw value) on clean vs adversarial inputs.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import torch
from torch import nn

from harness import device, oom
from harness.cams import cam_similarity
from harness.results import AttentionRow

BATCH_SIZE = 64  # images per Grad-CAM pass: bounds the retained autograd graph's memory
# An adversarial CAM is "blank" when its raw peak is at most BLANK_ABS (numerically zero: no
# positive evidence at all) or below BLANK_REL times the clean CAM's raw peak of the same image.
BLANK_ABS = 1e-6  # raw CAM units: d(logit)/d(activation) * activation
BLANK_REL = 0.05  # 5% of the clean peak


def last_conv_layer(model: nn.Module) -> tuple[str, nn.Module]:
    """Name (as in ``named_modules()``) and module of the last ``nn.Conv2d`` in ``model``."""
    convs = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise ValueError(f"{type(model).__name__} has no nn.Conv2d layer for Grad-CAM to use")
    return convs[-1]


def cam_layer(model: nn.Module) -> tuple[str, nn.Module] | None:
    """``last_conv_layer(model)``, or None for a model without one (e.g. a user's MLP): nothing
    for Grad-CAM to look at."""
    try:
        return last_conv_layer(model)
    except ValueError:
        return None


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
    inputs = [x] if targets is None else [x, targets]
    with _untouched(model):
        return _batches(model).run(
            "gradcam", lambda xb, tb=None: _gradcam_batch(model, xb, layer, tb), inputs, BATCH_SIZE
        )


def _batches(model: nn.Module) -> oom.Batches:
    """The model's out-of-memory state: a Grad-CAM batch that did not fit is halved and rerun."""
    return oom.batches_for(model, device.of(model))


def _gradcam_batch(
    model: nn.Module, x: np.ndarray, layer: nn.Module, targets: np.ndarray | None
) -> np.ndarray:
    from pytorch_grad_cam import GradCAM  # with OpenCV and torchvision: imported when used
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    inputs = _inputs(model, x)
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


# ---------------------------------------------------------------- raw CAMs and attention shift


def gradcam_raw(
    model: nn.Module,
    x: np.ndarray,  # (K, C, H, W) float32 in [0, 1]; the model normalizes internally
    layer: nn.Module,
    targets: np.ndarray | None = None,  # (K,) class indices; None: the predicted class
) -> np.ndarray:
    """Unscaled Grad-CAM ReLU(sum_k w_k A_k) of ``layer``: (K, h, w) float32 >= 0.

    Same weights as ``gradcam`` (w_k: spatial mean of d logit / d A_k, Selvaraju et al. eq. 1-2)
    but neither min-max scaled nor resized: (h, w) is ``layer``'s output size and the values are
    in logit-gradient x activation units, comparable between inputs of one model (not between
    models). Min-max scaling it and resizing to (H, W) gives ``gradcam``. Same guarantees as
    ``gradcam``: the model and ``x`` are left exactly as they were.
    """
    if x.ndim != 4:
        raise ValueError(f"gradcam_raw: expected x of shape (K, C, H, W), got {x.shape}")
    if len(x) == 0:
        raise ValueError("gradcam_raw: no images (the layer's output size is unknown)")
    if targets is not None:
        targets = np.asarray(targets)
        if targets.shape != (len(x),) or (targets < 0).any():
            raise ValueError(
                f"gradcam_raw: expected {len(x)} non-negative class indices, got {targets!r}"
            )
    inputs = [x] if targets is None else [x, targets]
    with _untouched(model):
        return _batches(model).run(
            "gradcam", lambda xb, tb=None: _raw_batch(model, xb, layer, tb), inputs, BATCH_SIZE
        )


def _raw_batch(
    model: nn.Module, x: np.ndarray, layer: nn.Module, targets: np.ndarray | None
) -> np.ndarray:
    """Raw CAMs of one batch; ``targets`` None: the classes this very forward pass predicts."""
    inputs = _inputs(model, x)
    seen: list[torch.Tensor] = []

    def keep(_module: nn.Module, _args: object, output: torch.Tensor) -> torch.Tensor:
        seen.append(output)
        return output.clone()  # an in-place op downstream (ReLU(inplace=True)) edits the clone

    handle = layer.register_forward_hook(keep)
    try:
        logits = model(inputs)  # (K, classes)
    finally:
        handle.remove()
    if len(seen) != 1:
        raise ValueError(f"gradcam_raw: the layer ran {len(seen)} times in one forward pass")
    if targets is None:
        index = logits.detach().argmax(1)
    else:
        index = torch.as_tensor(targets, dtype=torch.long, device=inputs.device)
    score = logits.gather(1, index[:, None]).sum()  # samples are independent in eval mode
    # autograd.grad, not backward(): no parameter's .grad is touched
    (grads,) = torch.autograd.grad(score, seen[0])  # (K, k, h, w)
    weights = grads.mean(dim=(2, 3), keepdim=True)  # (K, k, 1, 1)
    cam = torch.relu((weights * seen[0]).sum(dim=1))  # (K, h, w)
    return cam.detach().cpu().numpy().astype(np.float32)


def _inputs(model: nn.Module, x: np.ndarray) -> torch.Tensor:
    """A copy of ``x`` on the model's device: the caller's array (possibly read-only) is never
    touched. It requires grad so the layer's output has a graph even when every parameter is
    frozen."""
    inputs = torch.tensor(np.asarray(x, dtype=np.float32), device=device.of(model))
    return inputs.requires_grad_(True)


def predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """Predicted classes (K,) int64 of ``model`` in eval mode; the model is left as it was."""
    dev = device.of(model)

    def classes(xb: np.ndarray) -> np.ndarray:
        logits = model(torch.tensor(np.asarray(xb, dtype=np.float32), device=dev))
        return logits.argmax(1).cpu().numpy().astype(np.int64)

    with _untouched(model), torch.no_grad():
        return _batches(model).run("predict", classes, [x], BATCH_SIZE)


def cam_mass(raw: np.ndarray) -> np.ndarray:
    """Per-sample mean of raw (unscaled) heatmaps (K, h, w) -> (K,) float64."""
    return raw.reshape(len(raw), -1).astype(np.float64).mean(axis=1)


def blank(raw_adv: np.ndarray, raw_clean: np.ndarray) -> np.ndarray:
    """Per-sample bool (K,): the adversarial raw map has (almost) no positive evidence left.

    Its peak is <= BLANK_ABS, or below BLANK_REL times the clean map's peak (same image).
    """
    peak_adv = raw_adv.reshape(len(raw_adv), -1).max(axis=1)
    peak_clean = raw_clean.reshape(len(raw_clean), -1).max(axis=1)
    return (peak_adv <= BLANK_ABS) | (peak_adv < BLANK_REL * peak_clean)


@dataclasses.dataclass(frozen=True)
class Cams:
    """Scaled and raw Grad-CAMs of one set of images, each for its own predicted class."""

    scaled: np.ndarray  # (K, H, W) in [0, 1], as ``gradcam``
    raw: np.ndarray  # (K, h, w) >= 0, as ``gradcam_raw``


def cams_of(model: nn.Module, x: np.ndarray, layer: nn.Module) -> Cams:
    """Both CAMs of x for the classes the model predicts, from one forward and backward pass:
    the scaled one is the raw one scaled and resized as pytorch-grad-cam does (``gradcam``,
    within 1e-4: tests/test_attention.py) instead of a pass of its own."""
    raw = gradcam_raw(model, x, layer)
    return Cams(scaled(raw, x.shape[2:]), raw)


def scaled(raw: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Raw CAMs (K, h, w) as ``gradcam`` gives them, (K, H, W) in [0, 1]: pytorch-grad-cam
    min-max scales each, resizes it to ``size`` (H, W), and min-max scales it again (its
    aggregation over target layers)."""
    from pytorch_grad_cam.utils.image import scale_cam_image

    once = scale_cam_image(raw, (int(size[1]), int(size[0])))
    return np.clip(scale_cam_image(once), 0.0, 1.0).astype(np.float32)


def attention_row(model: str, attack: str, eps: float, clean: Cams, adv: Cams) -> AttentionRow:
    """Summarise clean vs adversarial CAMs of the same images (pure).

    similarity: mean ``cam_similarity`` of the scaled maps (as the Grad-CAM section).
    clean_mass / adv_mass: mean ``cam_mass`` of the raw maps. mass_ratio: mean over images of
    adv mass / clean mass, over images whose clean mass is > 0 (NaN if none).
    blank_fraction: share of images whose adversarial map is ``blank``.
    """
    m_clean, m_adv = cam_mass(clean.raw), cam_mass(adv.raw)
    ok = m_clean > 0
    return AttentionRow(
        model=model,
        attack=attack,
        eps=float(eps),
        similarity=float(cam_similarity(clean.scaled, adv.scaled).mean()),
        clean_mass=float(m_clean.mean()),
        adv_mass=float(m_adv.mean()),
        mass_ratio=float((m_adv[ok] / m_clean[ok]).mean()) if ok.any() else float("nan"),
        blank_fraction=float(blank(adv.raw, clean.raw).mean()),
        n=len(m_clean),
    )


def attention_shift(
    model: nn.Module,
    x: np.ndarray,  # (K, C, H, W) float32 in [0, 1]
    layer: nn.Module,
    eps: Sequence[float],  # pixel units; eps <= 0 is skipped (the clean inputs themselves)
    make_adv: Callable[[float], np.ndarray],  # eps -> (K, C, H, W) adversarial version of x
    *,
    model_name: str,
    attack: str,
) -> list[AttentionRow]:
    """One ``AttentionRow`` per eps > 0: how far Grad-CAM moves and fades under attack.

    Each input's CAM is taken for the class the model predicts on that input (clean or
    adversarial). The clean CAMs are computed once. Neither the model nor ``x`` is modified.
    """
    if len(x) == 0:
        return []
    clean = cams_of(model, x, layer)
    rows = []
    for e in (e for e in eps if e > 0):
        x_adv = make_adv(float(e))
        if x_adv.shape != x.shape:
            raise ValueError(f"attention_shift: make_adv({e}) gave {x_adv.shape}, not {x.shape}")
        adv = cams_of(model, x_adv, layer)
        rows.append(attention_row(model_name, attack, e, clean, adv))
    return rows
