"""Training-loop pieces of the fast CIFAR-10 recipes, each switched on by a ``TrainSpec`` field.

From Jordan 2024 ("94% on CIFAR-10 in 3.29 seconds", arXiv:2404.00498, airbench94) and the
hlb-CIFAR10 / DAWNBench line before it:

- ``whiten: true``: the network's patch-whitening layer set from training images before the
  first step (``harness.whitening``);
- ``label_smoothing``: cross-entropy against (1 - s) one-hot + s / classes (Szegedy et al. 2016);
- ``lookahead: k``: every k steps the "slow" copy of the weights moves toward the trained
  ("fast") ones and the fast ones restart from it (Zhang et al. 2019, in hlb-CIFAR10's EMA form);
  the run ends on the slow weights;
- ``schedule: triangular``: lr rising linearly from 0.2 x lr to lr over ``pct_start`` of the
  steps, then falling linearly to 0.07 x lr (airbench94's shape);
- ``augment: flip_translate``: random horizontal flip and a translation of up to 2 pixels with
  reflection padding (airbench94's augmentation; the classic crop uses 4 pixels of zeros).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

from harness.errors import HarnessError
from harness.spec import TrainSpec
from harness.whitening import fit_whitening

SHIFT = 2  # flip_translate: the largest translation, in pixels
LR_START, LR_END = 0.2, 0.07  # triangular: the lr at the first and the last step, x lr
LOOKAHEAD_RAMP = 3  # the slow weights' decay grows as (step / total) ** 3 (hlb-CIFAR10)


def init_from_data(model: nn.Module, x_train: np.ndarray, train: TrainSpec) -> None:
    """``whiten: true``: fit the model's patch-whitening layer on the training images
    (N, C, H, W) in [0, 1]; a network without one is refused in one line."""
    if not train.whiten:
        return
    if fit_whitening(model, torch.from_numpy(np.asarray(x_train))) == 0:
        raise HarnessError(
            "train.whiten: the network has no patch-whitening layer to fit "
            "(expected an architecture such as cifar10_fast); leave whiten out"
        )


def triangular(optimizer: torch.optim.Optimizer, train: TrainSpec, total: int) -> LambdaLR:
    """lr x LR_START -> lr at ``pct_start`` of ``total`` steps -> lr x LR_END, linearly."""
    peak = max(round(train.pct_start * total), 1)

    def factor(step: int) -> float:
        if step < peak:
            return LR_START + (1 - LR_START) * step / peak
        return 1 + (LR_END - 1) * min((step - peak) / max(total - peak, 1), 1.0)

    return LambdaLR(optimizer, factor)


def flip_translate(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per image: a random translation by up to ``SHIFT`` pixels each way (reflection padding)
    and a random horizontal flip, all drawn from ``generator`` (offsets, then flips).
    x: (N, C, H, W) in [0, 1] -> a new tensor of the same shape, still in [0, 1]."""
    n, _, h, w = x.shape
    padded = nn.functional.pad(x, (SHIFT,) * 4, mode="reflect")
    rows = torch.randint(0, 2 * SHIFT + 1, (n,), generator=generator)[:, None] + torch.arange(h)
    cols = torch.randint(0, 2 * SHIFT + 1, (n,), generator=generator)[:, None] + torch.arange(w)
    flip = torch.rand(n, generator=generator) < 0.5
    cols = torch.where(flip[:, None], cols.flip(1), cols)  # (N, W): a flipped crop reads backwards
    out = padded[torch.arange(n)[:, None, None], :, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()  # (N, H, W, C) -> (N, C, H, W)


class Lookahead:
    """Slow weights every ``train.lookahead`` steps (0: off, every call a no-op).

    At sync t of a run of T steps: slow <- d * slow + (1 - d) * fast, then fast <- slow, with
    d = ``lookahead_decay`` x (t / T) ** 3: early on the slow copy follows the fast weights,
    later it averages over them. Floating-point buffers (BatchNorm statistics) are averaged too.
    """

    def __init__(self, model: nn.Module, train: TrainSpec, total: int) -> None:
        self.every, self.decay = train.lookahead, train.lookahead_decay
        self.total, self.step = total, 0
        state = model.state_dict() if self.every else {}
        self.live = {k: v for k, v in state.items() if v.is_floating_point()}
        self.slow = {k: v.detach().clone() for k, v in self.live.items()}

    @torch.no_grad()
    def after_step(self) -> None:
        """Call after every optimizer step."""
        self.step += 1
        if self.every and self.step % self.every == 0:
            self._sync(self.decay * (self.step / self.total) ** LOOKAHEAD_RAMP)

    def state_dict(self) -> dict[str, Any]:
        """Steps taken and the slow weights: what an epoch checkpoint keeps of it."""
        return {"step": self.step, "slow": {k: v.clone() for k, v in self.slow.items()}}

    @torch.no_grad()
    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step = int(state["step"])
        for k, v in state["slow"].items():
            self.slow[k].copy_(v)

    @torch.no_grad()
    def finish(self) -> None:
        """Call after the last step: the model ends on the slow weights."""
        if self.every:
            self._sync(1.0)

    def _sync(self, decay: float) -> None:
        for k, fast in self.live.items():
            self.slow[k].lerp_(fast, 1 - decay)
            fast.copy_(self.slow[k])


def refuse_in_art(train: TrainSpec, desc: str) -> None:
    """ART's trainers compute their own loss and step themselves: label smoothing and lookahead
    cannot be applied there (refused in one line, as ``augment`` is)."""
    for name in ("label_smoothing", "lookahead"):
        if getattr(train, name):
            raise HarnessError(
                f"{desc}: train.{name}: {getattr(train, name)!r} is not applied by ART's "
                f"trainers (they compute the loss and step themselves); give the defence its "
                f"own train section without {name}"
            )
