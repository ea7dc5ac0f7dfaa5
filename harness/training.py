"""Training loops for the Build phase and the shape every hardening method reports.

Each epoch is followed by an evaluation in eval mode on the clean training subset and the
validation split, so the per-epoch table means the same thing for every model:
``train_loss/train_acc`` and ``val_loss/val_acc`` are measured after the epoch, not averaged
over batches while the weights were still moving.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from harness.results import EpochStats
from harness.spec import TrainSpec


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
    """Mean cross-entropy and accuracy of ``model`` on (x, y), in eval mode."""
    if len(x) == 0:
        return float("nan"), float("nan")
    was_training = model.training
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        xb, yb = torch.from_numpy(x[i : i + batch_size]), torch.from_numpy(y[i : i + batch_size])
        logits = model(xb)
        loss_sum += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
        correct += int((logits.argmax(1) == yb).sum())
    model.train(was_training)
    return loss_sum / len(x), correct / len(x)


Snapshot = Callable[[int, nn.Module], None]  # (epoch, model) after the epoch, e.g. WeightRecorder


def run_epochs(
    model: nn.Module,
    data: TrainData,
    epochs: int,
    fit_epoch: Callable[[int], None],
    desc: str,
    snapshot: Snapshot | None = None,
    measured: nn.Module | None = None,
) -> list[EpochStats]:
    """Call ``fit_epoch(epoch)`` ``epochs`` times, measuring the model after each epoch.

    ``measured``: the classifier whose loss and accuracy the table reports, when ``model`` is
    not one (a purifier is measured as purifier + baseline).

    ``snapshot(epoch, model)``, if given, is called after each epoch's measurement (outside the
    timed part), e.g. ``harness.weights.WeightRecorder`` keeping weight histograms.
    """
    history = []
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        fit_epoch(epoch)
        seconds = time.perf_counter() - start
        scored = model if measured is None else measured
        train_loss, train_acc = evaluate(scored, data.x_train, data.y_train)
        val_loss, val_acc = evaluate(scored, data.x_val, data.y_val)
        history.append(EpochStats(epoch, train_loss, train_acc, val_loss, val_acc, seconds))
        if snapshot is not None:
            snapshot(epoch, model)
        tqdm.write(
            f"{desc} epoch {epoch}/{epochs}: train loss {train_loss:.4f} acc {train_acc:.2%}"
            f" | val loss {val_loss:.4f} acc {val_acc:.2%} | {seconds:.1f}s"
        )
    model.eval()
    return history


def train_standard(
    model: nn.Module,
    data: TrainData,
    train: TrainSpec,
    seed: int,
    snapshot: Snapshot | None = None,
    desc: str = "baseline",
) -> list[EpochStats]:
    """Baseline training: Adam, cross-entropy on logits, shuffled mini-batches (seed 000's recipe)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=train.lr)
    generator = torch.Generator().manual_seed(seed)
    x, y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)

    def fit_epoch(epoch: int) -> None:
        model.train()
        order = torch.randperm(len(x), generator=generator)
        batches = range(0, len(x), train.batch_size)
        for i in tqdm(batches, desc=f"{desc} epoch {epoch}", leave=False, unit="batch"):
            idx = order[i : i + train.batch_size]
            optimizer.zero_grad()
            loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()

    return run_epochs(model, data, train.epochs, fit_epoch, desc, snapshot)
