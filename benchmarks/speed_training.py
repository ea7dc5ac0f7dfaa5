"""Training rows of the speed benchmark (benchmarks/speed.py): one epoch of Madry and TRADES
adversarial training, the harness's trainers (ART's trainers around the harness's inner PGD,
harness.defences.inner_pgd) against a hand-written PyTorch loop with the same steps.

Both start from the same weights, on the same images and labels, with the same batch size,
optimizer (Adam), eps, step size and number of steps, the defences' defaults (Madry: PGD-7, one
random start; TRADES: PGD-10 from a random start, beta 6). The per-epoch evaluation that
``harness.training.run_epochs`` adds after each epoch is measurement, not training, and is not
timed. ART's trainer with ART's own PGD inside is timed once more, for the note.

The same work on both sides, per training batch of 64: PGD in eval mode on all 64 at once
(``steps`` forward passes, each with an input-only gradient; no success checks), then one
forward and backward in training mode and an Adam step. What the harness adds is ART's trainer
itself: a numpy copy of the batch, its two shuffles (the attack's order and ``fit``'s
``DataLoader``; the weights depend on them, so they stay) and the numpy/tensor conversions.
"""

from __future__ import annotations

import copy
import statistics
from collections.abc import Callable

import numpy as np
import torch
from speed_timing import interleaved, judge
from torch import nn
from torch.nn import functional as F

from harness import device
from harness.defences import DEFENCES
from harness.defences.art_trainers import madry_trainer, trades_trainer
from harness.defences.base import HardenJob
from harness.spec import DefenceSpec, TrainSpec
from harness.training import TrainData

TRAIN_BATCH, LR = 64, 1e-3
TARGET = 1.15  # harness / hand-written


def _pgd(model: nn.Module, x0: torch.Tensor, y: torch.Tensor, p: dict) -> torch.Tensor:
    """L-inf PGD from a uniform random start, input gradient only, model in eval mode."""
    eps, step = p["eps"], p["step_size"]
    xa = (x0 + torch.empty_like(x0).uniform_(-eps, eps)).clamp(0, 1)
    for _ in range(p["steps"]):
        xa.requires_grad_(True)
        (grad,) = torch.autograd.grad(F.cross_entropy(model(xa), y), xa)
        with torch.no_grad():
            xa = torch.min(torch.max(xa + step * grad.sign(), x0 - eps), x0 + eps).clamp(0, 1)
    return xa.detach()


def _madry_loss(model: nn.Module, x0, xa, y, p: dict) -> torch.Tensor:
    return F.cross_entropy(model(xa), y)


def _trades_loss(model: nn.Module, x0, xa, y, p: dict) -> torch.Tensor:
    """Cross-entropy on clean inputs + beta x KL(clean || adversarial), as ART's TRADES step."""
    clean, pert = model(x0), model(xa)
    kl = F.kl_div(F.log_softmax(pert, 1), F.softmax(clean, 1).clamp(min=1e-12), reduction="sum")
    return F.cross_entropy(clean, y) + p["beta"] * kl / len(x0)


def hand_epoch(model: nn.Module, x: np.ndarray, y: np.ndarray, p: dict, loss: Callable) -> None:
    """One epoch of the plain loop: shuffle, PGD on each batch in eval mode, a training step."""
    opt, dev = torch.optim.Adam(model.parameters(), lr=LR), device.of(model)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    order = torch.randperm(len(x))
    for i in range(0, len(x), TRAIN_BATCH):
        idx = order[i : i + TRAIN_BATCH]
        x0, yb = xt[idx].to(dev), yt[idx].to(dev)
        model.eval()
        xa = _pgd(model, x0, yb, p)
        model.train()
        opt.zero_grad()
        loss(model, x0, xa, yb, p).backward()
        opt.step()


def harness_epoch(model: nn.Module, x, y, name: str, art_pgd: bool = False) -> None:
    """One epoch of the harness's trainer for defence ``name`` (what ``_fit_epochs`` runs)."""
    make = {"madry_pgd": madry_trainer, "trades": trades_trainer}[name]
    job = HardenJob(
        DefenceSpec(name, {}),
        dict(DEFENCES.get(name).defaults),
        TrainSpec(epochs=1, batch_size=TRAIN_BATCH, lr=LR),
        TrainData(x, y, x[:0], y[:0]),
        tuple(x.shape[1:]),
        int(y.max()) + 1,
        0,
        lambda: model,
    )
    make(job, model, art_pgd=art_pgd).fit(x, y, batch_size=TRAIN_BATCH, nb_epochs=1)


def _fresh(fn: Callable[[nn.Module], None], start: nn.Module) -> Callable[[], None]:
    """``fn`` on a copy of ``start``: every contender and repeat trains from the same weights."""
    return lambda: fn(copy.deepcopy(start))


def training_rows(
    model: nn.Module, x: np.ndarray, y: np.ndarray, repeat: int, clock: str = "cpu"
) -> list[tuple]:
    """(measurement, target, {clock: Judged}, note) for Madry and TRADES on ``model``'s device;
    ART's trainer with ART's own PGD inside is timed once (on ``clock``, against the hand-written
    loop's median), for the note."""
    rows = []
    for name, label, loss in (
        ("madry_pgd", "Madry", _madry_loss),
        ("trades", "TRADES", _trades_loss),
    ):
        p = DEFENCES.get(name).defaults
        contenders = {
            "hand": _fresh(lambda m, p=p, loss=loss: hand_epoch(m, x, y, p, loss), model),
            "ours": _fresh(lambda m, n=name: harness_epoch(m, x, y, n), model),
        }
        t = interleaved(contenders, repeat)
        target = f"<= {TARGET}"
        judged = {c: judge(t["ours"].seconds[c], t["hand"].seconds[c], target)
                  for c in t["hand"].seconds}  # fmt: skip
        art = {"art": _fresh(lambda m, n=name: harness_epoch(m, x, y, n, art_pgd=True), model)}
        t_art = interleaved(art, 1)["art"].seconds[clock][0]
        t_hand = statistics.median(t["hand"].seconds[clock])
        note = (f"PGD-{p['steps']}, {len(x)} images, batch {TRAIN_BATCH}; ART's trainer with "
                f"ART's own PGD: {t_art / t_hand:.2f}x the hand-written loop")  # fmt: skip
        measurement = f"{label} PGD-{p['steps']} training, one epoch"
        rows.append((measurement, target, judged, note))
    return rows
