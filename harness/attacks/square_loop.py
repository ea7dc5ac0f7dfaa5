"""Square Attack, L-inf and L2, kept on the model's device: AutoAttack's black-box part.

Andriushchenko, Croce, Flammarion & Hein 2020, "Square Attack: a query-efficient black-box
adversarial attack via random search" (arXiv:1912.00049), Algorithm 1 (L-inf), untargeted, on
the margin loss z_y - max_{i != y} z_i of the logits:

- start: vertical stripes, each column of each channel at +eps or -eps (one query);
- each further query: one square of side round(sqrt(p * H * W)), at a random position, each
  channel of it set to +-eps around the original (a +-2 eps step, then projected on the eps
  ball and [0, 1]); kept if the margin drops;
- p starts at ``p_init`` and halves after iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000
  and 8000 (the paper's schedule, not rescaled to the budget, as the reference's AutoAttack
  runs it: ``resc_schedule=False``).

L2 (Algorithm 3): the start and the proposals of ``harness.attacks.square_l2``, on the same
margin, schedule and acceptance rule.

Cost: the margin of the accepted point is kept, so each query is one forward pass of the
samples still standing; a sample whose margin is <= 0 (misclassified) stops. The position of
the square is drawn per sample (the paper's; the reference draws one per batch).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
import torch
from art.attacks.attack import EvasionAttack
from art.estimators.classification import PyTorchClassifier

from harness import device, oom
from harness.attacks import square_l2
from harness.attacks.gradient import eval_mode

HALVINGS = (10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000)  # iterations after which p halves


def p_schedule(p_init: float, iteration: int) -> float:
    """The fraction of pixels in a square at this iteration (0-based)."""
    return p_init / 2 ** sum(iteration > at for at in HALVINGS)


def margin(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """(n,) z_y - max_{i != y} z_i; <= 0 means misclassified."""
    others = logits.scatter(1, y[:, None], float("-inf")).amax(1)
    return logits.gather(1, y[:, None])[:, 0] - others


class SquareLoop(EvasionAttack):
    """Square Attack in L-inf or L2 (Andriushchenko et al. 2020); see the module docstring.

    Arguments (pixel units): eps; max_queries (5000, per sample, the start's included);
    p_init (0.8); batch_size; norm ("linf" or "l2"). ``generate(x, y)``: y the true labels. After ``generate``,
    ``queries`` (N,) is how many times each sample was scored. Randomness: one torch
    generator per batch, seeded from numpy's global generator.
    """

    attack_params: ClassVar[list[str]] = [
        *EvasionAttack.attack_params,
        *("eps", "max_queries", "p_init", "batch_size", "norm"),
    ]
    _estimator_requirements = ()

    def __init__(
        self,
        estimator: PyTorchClassifier,
        *,
        eps: float,
        max_queries: int = 5000,
        p_init: float = 0.8,
        batch_size: int = 128,
        norm: str = "linf",
    ) -> None:
        super().__init__(estimator=estimator)
        self.eps, self.max_queries, self.p_init = float(eps), int(max_queries), float(p_init)
        self.batch_size = int(batch_size)
        if norm not in ("linf", "l2"):
            raise ValueError(f"Square norm {norm!r}; expected linf or l2")
        self.norm = norm
        self._targeted = False
        self.queries = np.zeros(0, dtype=np.int64)

    def generate(self, x: np.ndarray, y: np.ndarray | None = None, **_: Any) -> np.ndarray:
        """x (N, C, H, W) in [0, 1], y (N,) true labels -> x_adv (N, C, H, W) float32."""
        if y is None:
            raise ValueError("SquareLoop needs the true labels y")
        y = np.asarray(y, dtype=np.int64)
        if not len(x):
            self.queries = np.zeros(0, dtype=np.int64)
            return x.astype(np.float32)
        dev = device.of(self.estimator.model)
        run = lambda xb, yb: self._batch(xb, yb, dev)  # noqa: E731
        with eval_mode(self.estimator), torch.no_grad():  # out of memory: halved (harness.oom)
            batches = oom.batches_for(self.estimator, dev)
            x_adv, self.queries = batches.run("predict", run, [x, y], self.batch_size)
        return x_adv

    def _batch(self, x: np.ndarray, y: np.ndarray, dev: torch.device):
        gen = torch.Generator().manual_seed(int(np.random.randint(2**31)))
        x0 = torch.from_numpy(np.array(x, np.float32)).to(dev)  # a copy: x may be read-only
        best, used = self._run(x0, torch.from_numpy(y).to(dev), gen)
        return best.cpu().numpy(), used.cpu().numpy()

    def _run(self, x0: torch.Tensor, y: torch.Tensor, gen: torch.Generator):
        """(x_best (n, C, H, W), queries (n,)) for one batch."""
        n = len(x0)
        best = self._start(x0, gen)
        best_margin = self._margin(best, y)
        used = torch.ones(n, dtype=torch.int64, device=x0.device)
        for i in range(self.max_queries - 1):
            idx = torch.nonzero(best_margin > 0)[:, 0]
            if not len(idx):
                break
            candidate = self._candidate(x0[idx], best[idx], p_schedule(self.p_init, i), gen)
            m = self._margin(candidate, y[idx])
            used[idx] += 1
            better = m < best_margin[idx]
            best[idx[better]], best_margin[idx[better]] = candidate[better], m[better]
        return best, used

    def _start(self, x0: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """The first point: vertical stripes of +-eps (L-inf), eta tiles (L2)."""
        if self.norm == "l2":
            return square_l2.start(x0, self.eps, gen)
        n, c, _, w = x0.shape
        return (x0 + self.eps * self._signs((n, c, 1, w), gen, x0.device)).clamp(0.0, 1.0)

    def _margin(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return margin(self.estimator.model(x), y)  # one query: one forward pass

    def _candidate(self, x0, best, p: float, gen: torch.Generator) -> torch.Tensor:
        """best with one random square per sample moved to +-eps around x0 (L-inf; L2: the
        proposal of ``square_l2.candidate``), in [0, 1]."""
        if self.norm == "l2":
            return square_l2.candidate(x0, best, p, self.eps, gen)
        m, c, h, w = x0.shape
        side = min(max(round(math.sqrt(p * h * w)), 1), h, w)
        top = torch.randint(0, h - side + 1, (m, 1), generator=gen).to(x0.device)
        left = torch.randint(0, w - side + 1, (m, 1), generator=gen).to(x0.device)
        rows, cols = torch.arange(h, device=x0.device), torch.arange(w, device=x0.device)
        in_rows = (rows >= top) & (rows < top + side)  # (m, H)
        in_cols = (cols >= left) & (cols < left + side)  # (m, W)
        square = (in_rows[:, None, :, None] & in_cols[:, None, None, :]).float()  # (m, 1, H, W)
        signs = self._signs((m, c, 1, 1), gen, x0.device)
        moved = best + square * 2 * self.eps * signs
        return torch.minimum(torch.maximum(moved, x0 - self.eps), x0 + self.eps).clamp(0.0, 1.0)

    @staticmethod
    def _signs(shape: tuple[int, ...], gen: torch.Generator, dev: torch.device) -> torch.Tensor:
        """Random +-1 of ``shape``."""
        return (2 * torch.randint(0, 2, shape, generator=gen) - 1).float().to(dev)
