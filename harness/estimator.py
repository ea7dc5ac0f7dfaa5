"""The one place that builds an ART classifier, with ART's defaults pinned explicitly.

- ``clip_values=(0, 1)``: inputs are pixels in [0, 1]; ART clips nothing without it.
- normalization is a layer inside the model, so ART's ``preprocessing`` is the identity (0, 1).
- the model returns logits; the loss is cross-entropy on logits.
- the model is put in eval mode: ART's ``loss_gradient``/``predict`` keep it there
  (``training_mode=False``), so BatchNorm statistics never move while attacking.
- the device is the model's (``harness.device``): ART's ``device_type`` and CUDA index follow it.
- out of memory on a batch halves that batch and retries it (``harness.oom``): predictions and
  gradients go through ``Classifier``, a ``PyTorchClassifier`` that splits what ART receives.
"""

from __future__ import annotations

import numpy as np
import torch
from art.estimators.classification import PyTorchClassifier
from torch import nn

from harness import device, oom
from harness.architectures import Shape
from harness.modes import evaluating
from harness.oom import Batches


class Classifier(PyTorchClassifier):
    """ART's ``PyTorchClassifier``; ``predict``, ``loss_gradient`` and ``class_gradient`` run in
    parts that are halved on out of memory (``harness.oom.Batches``), each part exactly as ART
    would run it alone."""

    def predict(self, x: np.ndarray, batch_size: int = 128, **kwargs) -> np.ndarray:
        def part(xb: np.ndarray) -> np.ndarray:
            return super(Classifier, self).predict(xb, batch_size=max(1, len(xb)), **kwargs)

        return self.batches.run("predict", part, [x], batch_size)

    def loss_gradient(self, x, y, **kwargs):  # arrays or tensors (ART's PyTorch attacks)
        def part(xb, yb):
            return super(Classifier, self).loss_gradient(xb, yb, **kwargs)

        return self.batches.run("loss_gradient", part, [x, y], len(x))

    def class_gradient(self, x: np.ndarray, label=None, **kwargs) -> np.ndarray:
        per_sample = isinstance(label, list | np.ndarray) and len(label) == len(x) > 1

        def part(xb, lb=label):
            return super(Classifier, self).class_gradient(xb, label=lb, **kwargs)

        inputs = [x, np.asarray(label)] if per_sample else [x]
        return self.batches.run("class_gradient", part, inputs, len(x))

    @property
    def batches(self) -> Batches:
        """Its out-of-memory state, its model's (``harness.oom.batches_for``): a batch size found
        too large stays halved for the run, also for ``predict_logits`` on the same model."""
        return oom.batches_for(self.model, self.device)


def build_classifier(
    model: nn.Module,
    input_shape: Shape,
    num_classes: int,
    lr: float | None = None,
    optimizer: torch.optim.Optimizer | None = None,
) -> PyTorchClassifier:
    """Wrap ``model`` ([0, 1] pixels in, logits out) as an ART ``PyTorchClassifier`` on the
    model's device.

    ``lr`` attaches an Adam optimizer, needed only when ART trains the model (adversarial
    training); ``optimizer``, when given, is attached instead.
    """
    model.eval()
    if optimizer is None and lr is not None:
        optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    dev = device.of(model)
    with device.art_context(dev):
        classifier = Classifier(
            model=model,
            loss=nn.CrossEntropyLoss(),
            input_shape=tuple(input_shape),
            nb_classes=num_classes,
            optimizer=optimizer,
            clip_values=(0.0, 1.0),
            preprocessing=(0.0, 1.0),  # identity: normalization is inside the model
            channels_first=True,
            device_type=device.art_type(dev),
        )
    return device.pin(classifier, dev)


@torch.no_grad()
def predict_logits(model: nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Logits (N, K) for x (N, C, H, W) in [0, 1], in eval mode, without gradients, on the
    model's device (batches halved on out of memory, in the model's own halving state: a size
    that failed once stays halved for later calls, as the estimator's does)."""
    if len(x) == 0:
        return np.zeros((0, 0), np.float32)
    dev = device.of(model)
    with evaluating(model):
        forward = lambda xb: model(torch.from_numpy(xb).to(dev)).cpu().numpy()  # noqa: E731
        return oom.batches_for(model, dev).run("predict", forward, [x], batch_size)
