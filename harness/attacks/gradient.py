"""The input gradient of an ART PyTorch classifier's loss, computed where the model lives.

ART's ``loss_gradient`` calls ``loss.backward()``, which also computes the gradient of every
weight, and converts to and from numpy around it; an attack needs the input's gradient only.
``input_gradient`` takes ``torch.autograd.grad`` of the estimator's own loss (cross-entropy,
mean over the batch, exactly ART's) with respect to the input alone, in eval mode, and returns
the logits of the same forward pass, which the caller may use as predictions.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from art.estimators.classification import PyTorchClassifier

from harness import device, oom
from harness.modes import evaluating


def loss_gradient(
    classifier: PyTorchClassifier, x: torch.Tensor, y: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(logits (n, K), d loss / d x (n, C, H, W)) for x on the model's device; NaN counts as 0.

    The model must already be in eval mode (``eval_mode``), as ART's ``training_mode=False``.
    """
    with torch.enable_grad():
        xg = x.detach().requires_grad_(True)
        logits = classifier.model(xg)
        (grad,) = torch.autograd.grad(classifier.loss(logits, y), xg)
    return logits.detach(), torch.nan_to_num(grad, nan=0.0)


@contextmanager
def eval_mode(classifier: PyTorchClassifier) -> Iterator[None]:
    """The classifier's model in eval mode for the block, put back as it was afterwards
    (``harness.modes.evaluating``): BatchNorm statistics never move while attacking."""
    with evaluating(classifier.model):
        yield


def batched_input_gradient(
    classifier: PyTorchClassifier, x: np.ndarray, labels: np.ndarray, batch_size: int
) -> tuple[np.ndarray, np.ndarray]:
    """(logits (N, K), gradient (N, C, H, W)) as numpy, in batches of ``batch_size`` (ART's)."""
    dev = device.of(classifier.model)
    if not len(x):
        return np.zeros((0, classifier.nb_classes), np.float32), np.zeros_like(x)

    def batch(xb: np.ndarray, yb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        xt = torch.from_numpy(np.ascontiguousarray(xb)).to(dev)
        out, grad = loss_gradient(classifier, xt, torch.from_numpy(yb).to(dev))
        return out.cpu().numpy(), grad.cpu().numpy()

    with eval_mode(classifier):  # out of memory: that batch again at half the size
        return oom.batches_for(classifier, dev).run("loss_gradient", batch, [x, labels], batch_size)
