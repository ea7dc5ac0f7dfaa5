"""The one place that builds an ART classifier, with ART's defaults pinned explicitly.

- ``clip_values=(0, 1)``: inputs are pixels in [0, 1]; ART clips nothing without it.
- normalization is a layer inside the model, so ART's ``preprocessing`` is the identity (0, 1).
- the model returns logits; the loss is cross-entropy on logits.
- the model is put in eval mode: ART's ``loss_gradient``/``predict`` keep it there
  (``training_mode=False``), so BatchNorm statistics never move while attacking.
"""

from __future__ import annotations

import numpy as np
import torch
from art.estimators.classification import PyTorchClassifier
from torch import nn

from harness.architectures import Shape


def build_classifier(
    model: nn.Module,
    input_shape: Shape,
    num_classes: int,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> PyTorchClassifier:
    """Wrap ``model`` ([0, 1] pixels in, logits out) as an ART ``PyTorchClassifier`` on the CPU.

    ``lr`` attaches an Adam optimizer, needed only when ART trains the model (adversarial
    training); ``optimizer``, when given, is attached instead.
    """
    model.eval()
    if optimizer is None and lr is not None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    return PyTorchClassifier(
        model=model,
        loss=nn.CrossEntropyLoss(),
        input_shape=tuple(input_shape),
        nb_classes=num_classes,
        optimizer=optimizer,
        clip_values=(0.0, 1.0),
        preprocessing=(0.0, 1.0),  # identity: normalization is inside the model
        channels_first=True,
        device_type="cpu",
    )


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits (N, K) for x (N, C, H, W) in [0, 1], in eval mode, without gradients."""
    was_training = model.training
    model.eval()
    try:
        out = [model(torch.from_numpy(x[i : i + batch_size])) for i in range(0, len(x), batch_size)]
        return torch.cat(out).numpy() if out else np.zeros((0, 0), np.float32)
    finally:
        model.train(was_training)
