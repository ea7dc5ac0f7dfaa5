"""A model in eval mode for the length of a block, its own training flag back afterwards."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import nn


@contextlib.contextmanager
def evaluating(model: nn.Module, grad: bool | None = None) -> Iterator[nn.Module]:
    """``model`` in eval mode inside the block (BatchNorm on its running statistics, dropout
    off); on exit, error or not, ``model.train(flag)`` with the flag it had on entry (every
    submodule then takes the model's flag). ``grad``: False turns autograd off inside, True on;
    None leaves it as the caller has it."""
    was_training = model.training
    model.eval()
    try:
        with contextlib.nullcontext() if grad is None else torch.set_grad_enabled(grad):
            yield model
    finally:
        model.train(was_training)
