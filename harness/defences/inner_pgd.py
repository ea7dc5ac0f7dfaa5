"""The PGD that ART's Madry and TRADES trainers run on every batch, on the harness's own loop.

ART's trainers call ART's ``ProjectedGradientDescentPyTorch`` once per training batch. Profiled
on the CIFAKE study's CNN (Madry, PGD-3, batch 64, 1 thread): four fifths of an epoch went to that
attack, and of it: ``loss_gradient`` back-propagating into every weight when only the input's
gradient is used, two extra forward passes per call only to log a success rate, and the numpy
round trip of eps per step. ``harness.attacks.pgd_loop.PGDLoop`` does ART's arithmetic without
those (input gradient only, tensors on the model's device), so it is swapped in here; ART's
trainers, their batching, shuffling and training steps stay as they are.

Same weights, not just similar ones: ART's PGD also draws numbers from torch's global
generator on every call (the seeds of the ``DataLoader`` iterators it opens), and ART's training
step then shuffles its batch and draws dropout masks from that same generator. ``TrainingPGD``
makes the same draws, so every later draw, and with it every weight, is what ART's own PGD would have
given (tests/test_inner_pgd.py trains both ways and compares the weights bit for bit).

Batches: ART's Madry trainer leaves its PGD at ART's default of 32 samples, so a training batch
of 64 is attacked in two halves, twice the calls of a loop that attacks the batch at once. With
one random start (Madry's default) the harness attacks the whole training batch in one go: the
arithmetic of one sample does not depend on its neighbours (the loss is a batch mean, and the
step takes only the gradient's sign or its per-sample direction), and numpy's draws for the
starts come out in the same order, so the iterates, the draws and the weights stay ART's
(tests/test_inner_pgd.py, with a training batch larger than 32). With several random starts ART
draws start after start per batch of 32; the loop then keeps ART's batches to keep that order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from art.estimators.classification import PyTorchClassifier

from harness.attacks.pgd_loop import PGDLoop

ART_PGD_BATCH = 32  # ART's ProjectedGradientDescent default, which its Madry trainer keeps


class TrainingPGD(PGDLoop):
    """``PGDLoop`` that consumes torch's global generator as ART's PGD in batches of
    ``art_batch`` does (see ``art_draws``); ``whole``: each call is attacked as one batch."""

    def __init__(self, *args: Any, art_batch: int, whole: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.art_batch, self.whole = int(art_batch), bool(whole)

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **kwargs: Any) -> np.ndarray:
        for _ in range(art_draws(len(x), self.art_batch, self.num_random_init)):
            torch.empty((), dtype=torch.int64).random_()  # one DataLoader iterator's base seed
        if self.whole:
            self.batch_size = max(len(x), 1)  # out of memory still halves it (harness.oom)
        return super().generate(x, y, **kwargs)


def art_draws(n: int, batch_size: int, random_init: int) -> int:
    """How many ``DataLoader`` iterators ART's PyTorch PGD opens on ``n`` samples with labels
    given, each drawing one int64 from torch's global generator for its base seed: two for its
    own batching (ART's ``tqdm`` wrapper opens one in its constructor and one when iterated);
    per batch and per random start after the first, two predictions (``compute_success_array``);
    at the end two predictions of all samples to log a success rate (``compute_success``). The
    harness's classifier predicts in parts of ``batch_size``, one iterator each (counted, not
    assumed: tests/test_inner_pgd.py)."""
    batches = -(-n // batch_size)
    return 2 + batches * 2 * max(random_init - 1, 0) + 2 * batches


def training_pgd(
    classifier: PyTorchClassifier,
    eps: float,
    step: float,
    steps: int,
    random_init: int,
    batch_size: int = ART_PGD_BATCH,
    whole_batch: bool = False,
) -> TrainingPGD:
    """L-inf PGD, untargeted, on the true labels: ``steps`` x ``step`` in the ball ``eps`` (pixel
    units), ``random_init`` random starts (0: start at x), as ART's PGD in batches of
    ``batch_size``. ``whole_batch``: attack every sample of a call at once where that leaves
    ART's numbers unchanged (at most one random start; see the module docstring)."""
    return TrainingPGD(
        classifier,
        norm=np.inf,
        eps=eps,
        eps_step=step,
        max_iter=steps,
        num_random_init=random_init,
        batch_size=batch_size,
        art_batch=batch_size,
        whole=whole_batch and random_init <= 1,
    )
