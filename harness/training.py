"""Training loops for the Build phase and the shape every hardening method reports.

Each epoch is followed by an evaluation in eval mode on the clean training subset and the
validation split, so the per-epoch table means the same thing for every model:
``train_loss/train_acc`` and ``val_loss/val_acc`` are measured after the epoch, not averaged
over batches while the weights were still moving.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, OneCycleLR, StepLR

from harness import console, device, epoch_checkpoints, fast_training, oom
from harness.modes import evaluating
from harness.results import EpochStats
from harness.spec import TrainSpec

PAD = 4  # crop_flip's zero padding, in pixels (torchvision's RandomCrop(padding=4))


@dataclass(frozen=True)
class TrainData:
    x_train: np.ndarray  # (N, C, H, W) float32 in [0, 1]
    y_train: np.ndarray  # (N,) int64
    x_val: np.ndarray
    y_val: np.ndarray


@torch.no_grad()
def evaluate(
    model: nn.Module, x: np.ndarray, y: np.ndarray, batch_size: int = 512
) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on (x, y), in eval mode; batches halved on
    out of memory (the model's halving state, ``harness.oom``), as a smaller batch would give."""
    if len(x) == 0:
        return float("nan"), float("nan")
    with evaluating(model):
        batch = partial(_scored, model, device.of(model))
        sums, correct = oom.batches_for(model, device.of(model)).run(
            "evaluate", batch, [x, y], batch_size
        )
    return sum(float(v) for v in sums) / len(x), int(correct.sum()) / len(x)  # summed in order


def _scored(
    model: nn.Module, dev: torch.device, x: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """(summed cross-entropy, correct count) of one batch, each as a 1-element array."""
    xb, yb = torch.from_numpy(np.asarray(x)).to(dev), torch.from_numpy(np.asarray(y)).to(dev)
    logits = model(xb)
    loss = float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
    return np.array([loss]), np.array([int((logits.argmax(1) == yb).sum())])


Snapshot = Callable[[int, nn.Module], None]  # (epoch, model) after the epoch, e.g. WeightRecorder


def run_epochs(
    model: nn.Module,
    data: TrainData,
    epochs: int,
    fit_epoch: Callable[[int], None],
    desc: str,
    snapshot: Snapshot | None = None,
    measured: nn.Module | None = None,
    keep: str = "last",
    state: dict[str, Any] | None = None,
) -> list[EpochStats]:
    """Call ``fit_epoch(epoch)`` ``epochs`` times, measuring the model after each epoch.

    ``measured``: the classifier whose loss and accuracy the table reports, when ``model`` is
    not one (a purifier is measured as purifier + baseline).

    ``snapshot(epoch, model)``, if given, is called after each epoch's measurement (outside the
    timed part), e.g. ``harness.weights.WeightRecorder`` keeping weight histograms.

    ``keep``: "last", or "best": the model ends with the weights of its epoch of highest
    validation accuracy (the first of equals), marked ``kept`` in the history.

    ``state``: the trainer's own state besides the model (optimizer, lr schedule, its
    generators), by name, saved with each epoch's checkpoint (``harness.epoch_checkpoints``)
    so that a stopped training resumes where it stopped; None: the loop is not checkpointed.
    """
    history = _measured_epochs(
        model, data, epochs, fit_epoch, desc, snapshot, measured, keep, state
    )
    model.eval()
    return history


def _measured_epochs(model, data, epochs, fit_epoch, desc, snapshot, measured, keep, state):
    best = _Best(model) if keep == "best" else None
    parts = None if state is None else {**state, "best": best}
    saved = epoch_checkpoints.loop(model, parts, epochs, len(data.x_train), desc)
    first, history = saved.resume()
    for epoch in console.bar(range(first, epochs + 1), desc=desc, unit="epoch"):
        start = time.perf_counter()
        fit_epoch(epoch)
        seconds = time.perf_counter() - start
        scored = model if measured is None else measured
        train_loss, train_acc = evaluate(scored, data.x_train, data.y_train)
        val_loss, val_acc = evaluate(scored, data.x_val, data.y_val)
        history.append(EpochStats(epoch, train_loss, train_acc, val_loss, val_acc, seconds))
        if best is not None:
            best.offer(epoch, val_acc)
        if snapshot is not None:
            snapshot(epoch, model)
        console.line(
            f"{desc} epoch {epoch}/{epochs}: train loss {train_loss:.4f} acc {train_acc:.2%}"
            f" | val loss {val_loss:.4f} acc {val_acc:.2%} | {seconds:.1f}s"
        )
        saved.save(epoch, history)
    return best.restore(history) if best is not None and history else history


class _Best:
    """The weights of the epoch with the highest validation accuracy so far (``keep: best``)."""

    def __init__(self, model: nn.Module) -> None:
        self.model, self.epoch, self.acc, self.state = model, 0, -math.inf, None

    def offer(self, epoch: int, val_acc: float) -> None:
        if val_acc > self.acc or self.state is None:  # NaN (no validation split): the first
            self.epoch, self.acc = epoch, val_acc
            self.state = copy.deepcopy(self.model.state_dict())

    def restore(self, history: list[EpochStats]) -> list[EpochStats]:
        """Load the kept weights; the history with that epoch marked."""
        self.model.load_state_dict(self.state)
        return [dataclasses.replace(e, kept=e.epoch == self.epoch) for e in history]

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "acc": self.acc, "state": self.state}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.epoch, self.acc, self.state = state["epoch"], state["acc"], state["state"]


# ---------------------------------------------------------------- recipe pieces


def make_optimizer(params: Iterable[nn.Parameter], train: TrainSpec) -> torch.optim.Optimizer:
    """Adam (seed 000's default) or SGD with momentum, at the spec's lr and weight decay."""
    if train.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=train.lr,
            momentum=train.momentum,
            nesterov=train.nesterov,
            weight_decay=train.weight_decay,
        )
    return torch.optim.Adam(params, lr=train.lr, weight_decay=train.weight_decay)


def make_schedule(
    optimizer: torch.optim.Optimizer, train: TrainSpec, steps_per_epoch: int
) -> LRScheduler | None:
    """The lr schedule, stepped once per optimizer step (None: constant lr).

    step: lr x gamma every ``step_size`` epochs; cosine: from lr to 0 over the run (Loshchilov &
    Hutter 2017); onecycle: warm-up to lr over ``pct_start`` of the run, then annealing to
    lr / 1e4 (Smith & Topin 2019; torch's OneCycleLR, momentum cycled too); triangular: linear
    up and down (``harness.fast_training.triangular``).
    """
    total = max(train.epochs * steps_per_epoch, 1)
    if train.schedule == "step":
        return StepLR(optimizer, train.step_size * steps_per_epoch, gamma=train.gamma)
    if train.schedule == "cosine":
        return CosineAnnealingLR(optimizer, T_max=total)
    if train.schedule == "onecycle":
        return OneCycleLR(optimizer, max_lr=train.lr, total_steps=total, pct_start=train.pct_start)
    if train.schedule == "triangular":
        return fast_training.triangular(optimizer, train, total)
    return None


def crop_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random crop with 4 pixels of zero padding and a random horizontal flip, per image.

    The standard CIFAR-10 augmentation (He et al. 2016). The draws are torchvision's
    ``RandomCrop(padding=4)`` then ``RandomHorizontalFlip()``, in their order (row offset, column
    offset, flip), from a generator seeded by ``generator``: the same images as those transforms
    under the same seed, without importing torchvision. Torch's global generator is not used.
    x: (N, C, H, W) in [0, 1] -> the same shape, values still in [0, 1]; x is not modified.
    """
    seed = int(torch.randint(2**62, (1,), generator=generator))
    draw = torch.Generator().manual_seed(seed)
    h, w = x.shape[-2:]
    padded = nn.functional.pad(x, (PAD, PAD, PAD, PAD))  # zeros, as torchvision's fill=0
    out = torch.empty_like(x)
    for k in range(len(x)):
        i = int(torch.randint(0, 2 * PAD + 1, (1,), generator=draw))
        j = int(torch.randint(0, 2 * PAD + 1, (1,), generator=draw))
        img = padded[k, :, i : i + h, j : j + w]
        out[k] = img.flip(-1) if torch.rand(1, generator=draw) < 0.5 else img
    return out


def train_standard(
    model: nn.Module,
    data: TrainData,
    train: TrainSpec,
    seed: int,
    snapshot: Snapshot | None = None,
    desc: str = "baseline",
) -> list[EpochStats]:
    """Baseline training: cross-entropy on logits, shuffled mini-batches, the spec's recipe
    (default: seed 000's Adam at a constant lr, no augmentation, the last epoch kept; the fast
    recipes' whitening, label smoothing and lookahead: ``harness.fast_training``)."""
    fast_training.init_from_data(model, data.x_train, train)
    optimizer = make_optimizer(model.parameters(), train)
    batches = range(0, len(data.x_train), train.batch_size)
    schedule = make_schedule(optimizer, train, len(batches))
    lookahead = fast_training.Lookahead(model, train, train.epochs * len(batches))
    generator = torch.Generator().manual_seed(seed)
    augmenting = torch.Generator().manual_seed(seed + 1)
    augment = _augmenter(train, augmenting)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    dev = device.of(model)  # batches are drawn and augmented on the host, then moved
    steps = oom.batches_for(model, dev)  # out of memory: the batch's gradient in parts

    def loss(xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        logits = model(xb.to(dev))
        return nn.functional.cross_entropy(
            logits, yb.to(dev), label_smoothing=train.label_smoothing
        )

    def fit_epoch(epoch: int) -> None:
        model.train()
        order = torch.randperm(len(x), generator=generator)
        for i in batches:
            idx = order[i : i + train.batch_size]
            optimizer.zero_grad()
            oom.backward(steps, loss, augment(x[idx]), y[idx], optimizer.zero_grad)
            optimizer.step()
            if schedule is not None:
                schedule.step()
            lookahead.after_step()
        if epoch == train.epochs:
            lookahead.finish()

    state = {
        "optimizer": optimizer,
        "schedule": schedule,
        "order": generator,
        "augment": augmenting,
        "lookahead": lookahead,
    }
    return run_epochs(
        model, data, train.epochs, fit_epoch, desc, snapshot, keep=train.keep, state=state
    )


def _augmenter(
    train: TrainSpec, generator: torch.Generator
) -> Callable[[torch.Tensor], torch.Tensor]:
    """The batch transform of ``train.augment``, drawing from its own ``generator`` (seed + 1)."""
    if train.augment == "none":
        return lambda xb: xb
    if train.augment == "flip_translate":
        return lambda xb: fast_training.flip_translate(xb, generator)
    return lambda xb: crop_flip(xb, generator)
