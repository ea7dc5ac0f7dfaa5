"""The pieces Hendrycks & Dietterich's small-image scripts build corruptions from.

Written from ``make_cifar_c.py`` / ``make_tinyimagenet_c.py`` (github.com/hendrycks/robustness,
ImageNet-C/create_c/): the defocus disk, the plasma fractal of fog, the clipped zoom of zoom blur
and snow, and the frost pictures. They draw from numpy's global generator in the scripts' order,
so a seeded call gives the scripts' pixels. The scripts assume square images of their own side;
here H and W are taken separately, which changes nothing on a square image.
"""

from __future__ import annotations

from functools import cache

import cv2
import numpy as np
from scipy.ndimage import zoom as scipy_zoom

from harness.corruptions import backend
from harness.errors import HarnessError


def disk(radius: float, alias_blur: float) -> np.ndarray:
    """The defocus kernel: a normalised disk of ``radius`` px on a grid of at least 17 x 17,
    anti-aliased by a small Gaussian (make_cifar_c.py:34-46)."""
    half, ksize = (8, (3, 3)) if radius <= 8 else (radius, (5, 5))
    coords = np.arange(-half, half + 1)
    xx, yy = np.meshgrid(coords, coords)
    kernel = np.array((xx**2 + yy**2) <= radius**2, dtype=np.float32)
    kernel /= np.sum(kernel)
    return cv2.GaussianBlur(kernel, ksize=ksize, sigmaX=alias_blur)


def plasma(mapsize: int, decay: float) -> np.ndarray:
    """A (mapsize, mapsize) diamond-square height map in [0, 1] (make_cifar_c.py:63-109): each
    halving of the step adds uniform noise whose amplitude shrinks by ``decay``."""
    if mapsize & (mapsize - 1):
        raise ValueError(f"plasma: mapsize {mapsize} is not a power of two")
    grid = np.empty((mapsize, mapsize), dtype=np.float64)
    grid[0, 0] = 0
    step, wibble = mapsize, 100.0
    while step >= 2:
        _squares(grid, step, wibble)
        _diamonds(grid, step, wibble)
        step //= 2
        wibble /= decay
    grid -= grid.min()
    return grid / grid.max()


def _noisy_mean(total: np.ndarray, wibble: float) -> np.ndarray:
    """A quarter of a sum of four neighbours, plus uniform noise of amplitude wibble squared."""
    return total / 4 + wibble * np.random.uniform(-wibble, wibble, total.shape)


def _squares(grid: np.ndarray, step: int, wibble: float) -> None:
    """Each square's centre from its four corners."""
    half, corners = step // 2, grid[::step, ::step]
    total = corners + np.roll(corners, shift=-1, axis=0)
    total += np.roll(total, shift=-1, axis=1)
    grid[half::step, half::step] = _noisy_mean(total, wibble)


def _diamonds(grid: np.ndarray, step: int, wibble: float) -> None:
    """Each diamond's centre (the edge midpoints) from the square centres and corners beside it."""
    half = step // 2
    centres, corners = grid[half::step, half::step], grid[::step, ::step]
    across = (centres + np.roll(centres, 1, axis=0)) + (corners + np.roll(corners, -1, axis=1))
    grid[::step, half::step] = _noisy_mean(across, wibble)
    down = (centres + np.roll(centres, 1, axis=1)) + (corners + np.roll(corners, -1, axis=0))
    grid[half::step, ::step] = _noisy_mean(down, wibble)


def plasma_side(mapsize: int, h: int, w: int) -> int:
    """The script's map side, or the power of two that covers a larger image."""
    side = mapsize
    while side < max(h, w):
        side *= 2
    return side


def clipped_zoom(img: np.ndarray, factor: float) -> np.ndarray:
    """``img`` (H, W, C) zoomed in by ``factor`` about its centre, cropped back to (H, W)
    (make_cifar_c.py:112-122: the centre crop, a bilinear zoom, the centre trim)."""
    h, w = img.shape[:2]
    ch, cw = int(np.ceil(h / factor)), int(np.ceil(w / factor))
    top, left = (h - ch) // 2, (w - cw) // 2
    zoomed = scipy_zoom(img[top : top + ch, left : left + cw], (factor, factor, 1), order=1)
    trim_top, trim_left = (zoomed.shape[0] - h) // 2, (zoomed.shape[1] - w) // 2
    return zoomed[trim_top : trim_top + h, trim_left : trim_left + w]


@cache
def frost_picture(index: int, zoom: float) -> np.ndarray:
    """Frost picture ``index`` (BGR, as OpenCV reads it) resized by ``zoom``; read-only."""
    picture = cv2.imread(str(backend.frost_file(index)))
    out = cv2.resize(picture, (0, 0), fx=zoom, fy=zoom)
    out.flags.writeable = False
    return out


def frost_crop(h: int, w: int, zoom: float) -> np.ndarray:
    """A random (h, w) RGB crop of one of the first five frost pictures resized by ``zoom``: the
    scripts draw ``randint(5)``, so the sixth is never used (make_cifar_c.py:239-245)."""
    picture = frost_picture(np.random.randint(5), zoom)
    if picture.shape[0] <= h or picture.shape[1] <= w:
        raise HarnessError(
            f"frost: a frost picture resized by {zoom} is {picture.shape[0]}x{picture.shape[1]}"
            f" px, too small for {h}x{w} images; use corruptions.parameters: auto"
        )
    top = np.random.randint(0, picture.shape[0] - h)
    left = np.random.randint(0, picture.shape[1] - w)
    return picture[top : top + h, left : left + w][..., [2, 1, 0]]
