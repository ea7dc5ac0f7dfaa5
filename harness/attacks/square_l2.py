"""Square Attack's L2 proposals (Andriushchenko et al. 2020, Algorithm 3), for ``SquareLoop``.

arXiv:1912.00049, §3.2 and fra31/auto-attack's ``square.py`` (its L2 branch), whose constants
these follow:

- the start: the image is tiled with squares of side H // 5 (centred), each square of each
  channel carrying the pattern ``eta`` with a random sign; the whole perturbation is scaled to
  length eps;
- a query: a square of odd side max(round(sqrt(p * H * W)), 3) at a random position takes
  ``eta`` with a random sign per channel plus the perturbation it held (normalised per
  channel), rescaled so that it absorbs the budget left below eps and the mass of a second
  random square of the same side, which is zeroed; the whole perturbation is then scaled to
  length eps and the image clipped to [0, 1].

``eta``: two halves of nested rectangles of weight sum_{k >= ring} 1 / (k + 1)^2 around their
centres, of opposite signs, unit length, transposed at random. Positions and transpositions are
drawn per sample (the reference draws one per batch), from the caller's torch generator.
"""

from __future__ import annotations

import functools
import math

import torch

from harness.attacks import lp_ball

TILES = 5  # the start tiles the image with TILES x TILES squares
MIN_SIDE = 3  # smallest side of a query's square (odd)


def rings(rows: int, cols: int) -> torch.Tensor:
    """(rows, cols) nested rectangles around the centre, weight sum_{k >= ring} 1/(k+1)^2, unit
    L2 length: the centre heaviest, each ring outwards lighter."""
    if rows == 0 or cols == 0:
        return torch.zeros(rows, cols)
    ci, cj = rows // 2, cols // 2
    i, j = torch.arange(rows)[:, None], torch.arange(cols)[None, :]
    ring = torch.maximum((i - ci).abs(), (j - cj).abs())  # (rows, cols) Chebyshev distance
    weights = 1.0 / (torch.arange(max(ci, cj) + 1, dtype=torch.float32) + 1) ** 2
    tail = weights.flip(0).cumsum(0).flip(0)  # tail[r] = sum over k >= r
    out = tail[ring]
    return out / out.norm()


@functools.cache
def eta(side: int) -> torch.Tensor:
    """(side, side) the L2 square pattern: rings on the top half, minus rings on the bottom
    (cached per side: callers must not modify it)."""
    top = side // 2
    out = torch.cat([rings(top, side), -rings(side - top, side)], 0)
    return out / out.norm()


def start(x0: torch.Tensor, eps: float, gen: torch.Generator) -> torch.Tensor:
    """The first point: eta tiles with random signs per sample and channel, length eps."""
    n, c, h, w = x0.shape
    side = max(h // TILES, 1)
    delta = torch.zeros(x0.shape)
    top = (h - side * TILES) // 2
    for r in range(h // side):
        for q in range(w // side):
            rows, cols = top + r * side, top + q * side
            if rows < 0 or cols < 0 or rows + side > h or cols + side > w:
                continue
            pattern = _transposed(eta(side), gen)
            delta[:, :, rows : rows + side, cols : cols + side] += pattern * _signs((n, c), gen)
    return (x0 + eps * lp_ball.unit(delta.to(x0.device), "l2")).clamp(0.0, 1.0)


def side(p: float, h: int, w: int) -> int:
    """A query's square side: odd, at least MIN_SIDE, at most the image (the reference's rule)."""
    s = max(round(math.sqrt(p * h * w)), MIN_SIDE)
    s += 1 - s % 2
    return min(s, h, w)


def candidate(x0: torch.Tensor, best: torch.Tensor, p: float, eps: float, gen: torch.Generator):
    """best with one square's mass redrawn and another's moved into it, length eps, in [0, 1]."""
    m, c, h, w = x0.shape
    s = side(p, h, w)
    delta = best - x0
    win1, win2 = _window(m, s, h, w, gen, x0.device), _window(m, s, h, w, gen, x0.device)
    old = _read(delta, win1)  # (m, c, s, s)
    both = _mask(m, h, w, win1, x0.device) | _mask(m, h, w, win2, x0.device)  # (m, 1, h, w)
    budget = eps**2 - lp_ball.lengths(delta, "l2") ** 2  # (m,) room left below eps
    kept = lp_ball.lengths(delta * both, "l2") ** 2  # (m,) the two windows' mass
    scale = (budget.clamp_min(0) / c + kept).sqrt().view(m, 1, 1, 1)
    flip = (torch.rand(m, generator=gen) > 0.5)[:, None, None]  # per sample: transpose eta
    e = eta(s)
    pattern = torch.where(flip, e.T, e)[:, None].to(x0.device)  # (m, 1, s, s)
    new = pattern * _signs((m, c), gen).to(x0.device) + old / (_norm_hw(old) + lp_ball.TINY)
    new = new / (_norm_hw(new) + lp_ball.TINY) * scale
    # window 2 emptied, then window 1 holding the new values (the reference's order)
    delta = delta * ~both + _place(new, win1, h, w) * _mask(m, h, w, win1, x0.device)
    return (x0 + eps * lp_ball.unit(delta, "l2")).clamp(0.0, 1.0)


def _norm_hw(t: torch.Tensor) -> torch.Tensor:
    """(m, c, 1, 1) the L2 length of each channel of each sample."""
    return t.pow(2).sum((-2, -1), keepdim=True).sqrt()


def _window(m: int, s: int, h: int, w: int, gen: torch.Generator, dev) -> tuple:
    """Per sample, the rows (m, s) and columns (m, s) of a random s x s square."""
    top = torch.randint(0, h - s + 1, (m, 1), generator=gen)
    left = torch.randint(0, w - s + 1, (m, 1), generator=gen)
    offsets = torch.arange(s)[None, :]
    return (top + offsets).to(dev), (left + offsets).to(dev)


def _read(delta: torch.Tensor, win: tuple) -> torch.Tensor:
    """(m, c, s, s) each sample's window of delta (m, c, h, w)."""
    rows, cols = win
    m, c, _, w = delta.shape
    s = rows.shape[1]
    out = delta.gather(2, rows[:, None, :, None].expand(m, c, s, w))
    return out.gather(3, cols[:, None, None, :].expand(m, c, s, s))


def _place(values: torch.Tensor, win: tuple, h: int, w: int) -> torch.Tensor:
    """(m, c, h, w) holding each sample's window values (m, c, s, s) at its window; outside
    it, the nearest edge value (callers mask it away)."""
    rows, cols = win
    m, c, s, _ = values.shape
    at_row = (torch.arange(h, device=values.device) - rows[:, :1]).clamp(0, s - 1)  # (m, h)
    at_col = (torch.arange(w, device=values.device) - cols[:, :1]).clamp(0, s - 1)  # (m, w)
    out = values.gather(2, at_row[:, None, :, None].expand(m, c, h, s))
    return out.gather(3, at_col[:, None, None, :].expand(m, c, h, w))


def _mask(m: int, h: int, w: int, win: tuple, dev) -> torch.Tensor:
    rows, cols = win
    in_rows = torch.zeros(m, h, dtype=torch.bool, device=dev).scatter(1, rows, True)
    in_cols = torch.zeros(m, w, dtype=torch.bool, device=dev).scatter(1, cols, True)
    return in_rows[:, None, :, None] & in_cols[:, None, None, :]


def _transposed(pattern: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """pattern, or its transpose, with probability 1/2 each."""
    return pattern.T if torch.rand(1, generator=gen).item() > 0.5 else pattern


def _signs(shape: tuple[int, int], gen: torch.Generator) -> torch.Tensor:
    """Random +-1 of shape (n, c), as (n, c, 1, 1)."""
    return (2 * torch.randint(0, 2, shape, generator=gen) - 1).float()[:, :, None, None]
