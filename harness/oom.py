"""Out of memory on a batch: halve the batch and retry that batch, down to one sample.

``Batches`` runs a function over consecutive parts of its inputs; when a part raises an
out-of-memory error it frees the accelerator's cached memory, halves the part and runs it again,
and keeps the smaller size for every later call, so the numbers are those of a run made with
the smaller batch from the start (the global random generators are put back before the retry,
so a random start draws what it would have drawn). Each halving is a ``BatchFallback``, collected for the run by
``recording()`` (``harness.runner``) and shown in run.json and the report.

Not gated on the device: a ``torch.OutOfMemoryError`` is handled wherever it is raised (tests
raise it on the CPU); the CPU allocator's own failure is not one and propagates.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import weakref
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import torch

from harness import device
from harness.results import BatchFallback

log = logging.getLogger(__name__)
_LOG: contextvars.ContextVar[list[BatchFallback] | None] = contextvars.ContextVar(
    "batch_fallbacks", default=None
)


@contextlib.contextmanager
def recording() -> Iterator[list[BatchFallback]]:
    """Collect every ``BatchFallback`` made inside the block into the list it yields."""
    fallbacks: list[BatchFallback] = []
    token = _LOG.set(fallbacks)
    try:
        yield fallbacks
    finally:
        _LOG.reset(token)


def is_oom(exc: BaseException) -> bool:
    """torch's out-of-memory error (CUDA, and what tests raise), or MPS's RuntimeError."""
    return isinstance(exc, torch.OutOfMemoryError) or (
        isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower()
    )


class Batches:
    """Run ``fn`` on parts of at most ``size`` samples; halve ``size`` on out of memory."""

    def __init__(self, dev: torch.device) -> None:
        self.dev = dev
        self.limits: dict[str, int] = {}  # what -> the largest part that fitted after a fallback

    def run(self, what: str, fn: Callable[..., Any], inputs: Sequence[Any], size: int) -> Any:
        """``fn`` applied to consecutive slices of ``inputs`` (arrays or tensors, same length),
        outputs concatenated along the first axis."""
        n, size = len(inputs[0]), max(1, min(size, self.limits.get(what, size)))
        if n == 0:
            return fn(*inputs)
        out, start = [], 0
        while start < n:
            part = [a[start : start + size] for a in inputs]
            rng = _rng_state()
            try:
                out.append(fn(*part))
            except Exception as exc:  # only an out-of-memory error is retried
                if not is_oom(exc) or size == 1:
                    raise
                _restore(rng)  # the failed attempt drew nothing: random starts as if never tried
                size = self._halve(what, size)
                continue
            start += len(part[0])
        return _concat(out)

    def _halve(self, what: str, size: int) -> int:
        device.release(self.dev)
        smaller = max(1, size // 2)
        self.limits[what] = smaller
        note = BatchFallback(what, str(self.dev), size, smaller)
        log.warning("out of memory in %s on %s: batch %d -> %d", what, self.dev, size, smaller)
        if (fallbacks := _LOG.get()) is not None:
            fallbacks.append(note)
        return smaller

    def accumulate(
        self,
        what: str,
        fn: Callable[..., Any],
        inputs: Sequence[Any],
        size: int,
        reset: Callable[[], None],
    ) -> None:
        """``fn`` on consecutive slices of ``inputs`` for its side effects (a training step's
        backward passes, whose gradients add up); on out of memory, ``reset()`` (zero the
        gradients) and run every slice again at half the size, the generators put back first."""
        n = len(inputs[0])
        size = max(1, min(size, self.limits.get(what, size)))
        while True:
            rng = _rng_state()
            try:
                for start in range(0, n, size):
                    fn(*[a[start : start + size] for a in inputs])
                return
            except Exception as exc:  # only an out-of-memory error is retried
                if not is_oom(exc) or size == 1:
                    raise
                _restore(rng)
                reset()
                size = self._halve(what, size)


# One halving state per model without one of its own: a size that ran out of memory once stays
# halved for every later call on that model, whoever makes it (weak: it dies with the model).
_STATES: weakref.WeakKeyDictionary[Any, Batches] = weakref.WeakKeyDictionary()


def batches_for(owner: Any, dev: torch.device) -> Batches:
    """``owner``'s halving state: an estimator's own ``Batches`` (``harness.estimator.Classifier``,
    which shares its model's), else the one kept for ``owner`` (a model) on ``dev``."""
    own = getattr(owner, "batches", None)
    if isinstance(own, Batches):
        return own
    state = _STATES.get(owner)
    if state is None or state.dev != dev:
        state = _STATES[owner] = Batches(dev)
    return state


def backward(
    batches: Batches,
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    reset: Callable[[], None],
) -> None:
    """Back-propagate ``loss(x, y)`` (a mean over the batch) through ``batches``: the whole batch
    at once, or, after out of memory, in parts whose losses are weighted by their share of the
    batch, so the gradients add up to the whole batch's mean (BatchNorm's batch statistics are
    then a part's). ``reset``: zero the gradients before a retry."""
    n = len(x)

    def part(xb: torch.Tensor, yb: torch.Tensor) -> None:
        value = loss(xb, yb)
        (value if len(xb) == n else value * (len(xb) / n)).backward()

    batches.accumulate("train", part, [x, y], n, reset)


def _rng_state() -> tuple[Any, torch.Tensor]:
    """numpy's and torch's global generators (what random starts draw from, e.g. ART's
    ``random_sphere``)."""
    return np.random.get_state(), torch.get_rng_state()


def _restore(state: tuple[Any, torch.Tensor]) -> None:
    np.random.set_state(state[0])
    torch.set_rng_state(state[1])


def _concat(parts: list[Any]) -> Any:
    """The parts' outputs joined along the first axis; a function returning a tuple gets each
    of its elements joined."""
    if parts and isinstance(parts[0], tuple):
        return tuple(_concat(list(column)) for column in zip(*parts, strict=True))
    if parts and isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    return np.concatenate(parts)
