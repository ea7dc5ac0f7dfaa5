"""The 19 corruptions as Hendrycks & Dietterich's small-image scripts apply them.

Written from ``make_cifar_c.py`` (CIFAR-10-C) and ``make_tinyimagenet_c.py`` (Tiny-ImageNet-C) of
github.com/hendrycks/robustness (ImageNet-C/create_c/): the two scripts share these functions and
differ in their parameters (``harness.corruptions.tables``). Each function takes an (H, W, 3)
uint8 image, its severity's entry of the table and the table; it draws from numpy's global
generator in the script's order, so a seeded call gives the script's pixels. Where the harness
departs from a script, ``harness.corruptions.scales`` says so (``Scale.departures``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from io import BytesIO
from typing import Any

import cv2
import numpy as np
from PIL import Image
from scipy.ndimage import map_coordinates
from skimage.color import hsv2rgb, rgb2hsv
from skimage.filters import gaussian

from harness.corruptions import backend
from harness.corruptions.layers import clipped_zoom, disk, frost_crop, plasma, plasma_side
from harness.corruptions.tables import Table

Corruption = Callable[[np.ndarray, Any, Table], Any]  # (image, parameters, table) -> 0..255


def gaussian_noise(x: np.ndarray, sigma: float, table: Table) -> np.ndarray:
    f = x / 255.0
    return np.clip(f + np.random.normal(size=f.shape, scale=sigma), 0, 1) * 255


def shot_noise(x: np.ndarray, rate: float, table: Table) -> np.ndarray:
    f = x / 255.0
    return np.clip(np.random.poisson(f * rate) / rate, 0, 1) * 255


def impulse_noise(x: np.ndarray, amount: float, table: Table) -> np.ndarray:
    """Salt and pepper in equal parts on ``amount`` of the values, drawn as scikit-image's
    ``random_noise(mode='s&p')`` drew them when the scripts ran (from numpy's global generator;
    today's draws from an unseeded generator of its own, which no seed reaches)."""
    f = x / 255.0
    flipped = np.random.choice([True, False], size=f.shape, p=[amount, 1 - amount])
    salted = np.random.choice([True, False], size=f.shape, p=[0.5, 0.5])
    out = f.copy()
    out[flipped & salted] = 1
    out[flipped & ~salted] = 0
    return np.clip(out, 0, 1) * 255


def speckle_noise(x: np.ndarray, sigma: float, table: Table) -> np.ndarray:
    f = x / 255.0
    return np.clip(f + f * np.random.normal(size=f.shape, scale=sigma), 0, 1) * 255


def gaussian_blur(x: np.ndarray, sigma: float, table: Table) -> np.ndarray:
    return np.clip(gaussian(x / 255.0, sigma=sigma, channel_axis=-1), 0, 1) * 255


def glass_blur(x: np.ndarray, c: tuple[float, int, int], table: Table) -> np.ndarray:
    """Blur, move pixels locally, blur again. The scripts' "swap" is a tuple assignment of two
    numpy views, which copies the drawn neighbour onto the pixel and leaves the neighbour as it
    was; the benchmark was made so, and so it is done here."""
    sigma, delta, iterations = c
    y = np.uint8(gaussian(x / 255.0, sigma=sigma, channel_axis=-1) * 255)
    h, w = y.shape[:2]
    for _ in range(iterations):
        for i in range(h - delta, delta, -1):
            for j in range(w - delta, delta, -1):
                dx, dy = np.random.randint(-delta, delta, size=(2,))
                y[i, j] = y[i + dy, j + dx]
    return np.clip(gaussian(y / 255.0, sigma=sigma, channel_axis=-1), 0, 1) * 255


def defocus_blur(x: np.ndarray, c: tuple[float, float], table: Table) -> np.ndarray:
    f, kernel = x / 255.0, disk(radius=c[0], alias_blur=c[1])
    channels = np.array([cv2.filter2D(f[:, :, d], -1, kernel) for d in range(3)])
    return np.clip(channels.transpose((1, 2, 0)), 0, 1) * 255


def motion_blur(x: np.ndarray, c: tuple[float, float], table: Table) -> np.ndarray:
    """Approximated: the scripts blur with ImageMagick (through Wand) and read back an 8-bit
    PNG; here imagecorruptions' numpy port of that blur, rounded to 8 bits."""
    angle = np.random.uniform(-45, 45)
    return np.clip(np.round(backend.motion_blur(x, radius=c[0], sigma=c[1], angle=angle)), 0, 255)


def zoom_blur(x: np.ndarray, c: tuple[float, float, float], table: Table) -> np.ndarray:
    f = (x / 255.0).astype(np.float32)
    factors = np.arange(*c)
    out = np.zeros_like(f)
    for factor in factors:
        out += clipped_zoom(f, factor)
    return np.clip((f + out) / (len(factors) + 1), 0, 1) * 255


def fog(x: np.ndarray, c: tuple[float, float], table: Table) -> np.ndarray:
    f = x / 255.0
    h, w = f.shape[:2]
    top = f.max()
    f += c[0] * plasma(plasma_side(table.plasma_mapsize, h, w), c[1])[:h, :w][..., np.newaxis]
    return np.clip(f * top / (top + c[0]), 0, 1) * 255


def frost(x: np.ndarray, c: tuple[float, float], table: Table) -> np.ndarray:
    layer = frost_crop(x.shape[0], x.shape[1], table.frost_zoom)
    return np.clip(c[0] * x + c[1] * layer, 0, 255)


def snow(x: np.ndarray, c: tuple[float, ...], table: Table) -> np.ndarray:
    """Approximated like ``motion_blur``: the snow layer's blur."""
    loc, scale, zoom, threshold, radius, sigma, blend = c
    f = np.array(x, dtype=np.float32) / 255.0
    h, w = f.shape[:2]
    layer = clipped_zoom(np.random.normal(size=(h, w), loc=loc, scale=scale)[..., None], zoom)
    layer[layer < threshold] = 0
    flakes = (np.clip(layer.squeeze(), 0, 1) * 255).astype(np.uint8)  # the script's PNG
    angle = np.random.uniform(-135, -45)
    blurred = backend.motion_blur(flakes, radius=radius, sigma=sigma, angle=angle)
    snowfall = (np.clip(np.round(blurred), 0, 255) / 255.0)[..., np.newaxis]
    grey = cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).reshape(h, w, 1)
    f = blend * f + (1 - blend) * np.maximum(f, grey * 1.5 + 0.5)
    return np.clip(f + snowfall + np.rot90(snowfall, k=2), 0, 1) * 255


def spatter(x: np.ndarray, c: tuple[float, ...], table: Table) -> np.ndarray:
    """Water (severities 1-3) or mud (4-5) splashed from a thresholded, blurred noise layer."""
    f = np.array(x, dtype=np.float32) / 255.0
    liquid = np.random.normal(size=f.shape[:2], loc=c[0], scale=c[1])
    liquid = gaussian(liquid, sigma=c[2])
    liquid[liquid < c[3]] = 0
    return _water(f, liquid, c[4]) if c[5] == 0 else _mud(f, liquid, c[3], c[4])


def _water(f: np.ndarray, liquid: np.ndarray, strength: float) -> np.ndarray:
    """Pale turquoise drops, shaded by their distance to the drops' edges."""
    drops = (liquid * 255).astype(np.uint8)
    dist = cv2.distanceTransform(255 - cv2.Canny(drops, 50, 150), cv2.DIST_L2, 5)
    _, dist = cv2.threshold(dist, 20, 20, cv2.THRESH_TRUNC)
    dist = cv2.equalizeHist(cv2.blur(dist, (3, 3)).astype(np.uint8))
    emboss = np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]])
    dist = cv2.blur(cv2.filter2D(dist, cv2.CV_8U, emboss), (3, 3)).astype(np.float32)
    m = cv2.cvtColor(drops * dist, cv2.COLOR_GRAY2BGRA)
    m /= np.max(m, axis=(0, 1))
    m *= strength
    ones = np.ones_like(m[..., :1])
    colour = np.concatenate((175 / 255.0 * ones, 238 / 255.0 * ones, 238 / 255.0 * ones), axis=2)
    colour = cv2.cvtColor(colour, cv2.COLOR_BGR2BGRA)
    f = cv2.cvtColor(f, cv2.COLOR_BGR2BGRA)
    return cv2.cvtColor(np.clip(f + m * colour, 0, 1), cv2.COLOR_BGRA2BGR) * 255


def _mud(f: np.ndarray, liquid: np.ndarray, threshold: float, sigma: float) -> np.ndarray:
    """Mud-brown blots where the blurred liquid mask is dense."""
    m = gaussian(np.where(liquid > threshold, 1, 0).astype(np.float32), sigma=sigma)
    m[m < 0.8] = 0
    ones = np.ones_like(f[..., :1])
    colour = np.concatenate((63 / 255.0 * ones, 42 / 255.0 * ones, 20 / 255.0 * ones), axis=2)
    colour *= m[..., np.newaxis]
    f *= 1 - m[..., np.newaxis]
    return np.clip(f + colour, 0, 1) * 255


def contrast(x: np.ndarray, factor: float, table: Table) -> np.ndarray:
    f = x / 255.0
    means = np.mean(f, axis=(0, 1), keepdims=True)
    return np.clip((f - means) * factor + means, 0, 1) * 255


def brightness(x: np.ndarray, shift: float, table: Table) -> np.ndarray:
    hsv = rgb2hsv(x / 255.0)
    hsv[:, :, 2] = np.clip(hsv[:, :, 2] + shift, 0, 1)
    return np.clip(hsv2rgb(hsv), 0, 1) * 255


def saturate(x: np.ndarray, c: tuple[float, float], table: Table) -> np.ndarray:
    hsv = rgb2hsv(x / 255.0)
    hsv[:, :, 1] = np.clip(hsv[:, :, 1] * c[0] + c[1], 0, 1)
    return np.clip(hsv2rgb(hsv), 0, 1) * 255


def jpeg_compression(x: np.ndarray, quality: int, table: Table) -> np.ndarray:
    buffer = BytesIO()
    Image.fromarray(x).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer))


def pixelate(x: np.ndarray, fraction: float, table: Table) -> np.ndarray:
    """Down with a box filter to ``fraction`` of the side, then back up with a box filter."""
    img = Image.fromarray(x)
    w, h = img.size
    small = img.resize((int(w * fraction), int(h * fraction)), Image.BOX)
    return np.asarray(small.resize((w, h), Image.BOX))


def elastic_transform(x: np.ndarray, c: tuple[float, float, float], table: Table) -> np.ndarray:
    """A random affine warp, then a smooth random displacement field (make_cifar_c.py:383-413);
    the table's fractions times the image side (the scripts' IMSIZE)."""
    image = np.array(x, dtype=np.float32) / 255.0
    size = image.shape[:2]
    alpha, sigma, shake = (max(size) * v for v in c)
    centre, third = np.float32(size) // 2, min(size) // 3
    corner = [centre[0] + third, centre[1] - third]
    src = np.float32([centre + third, corner, centre - third])
    dst = src + np.random.uniform(-shake, shake, size=src.shape).astype(np.float32)
    affine = cv2.getAffineTransform(src, dst)
    image = cv2.warpAffine(image, affine, size[::-1], borderMode=cv2.BORDER_REFLECT_101)
    dx, dy = (_displacement(size, alpha, sigma) for _ in range(2))
    return np.clip(_displaced(image, dx, dy), 0, 1) * 255


def _displacement(size: tuple[int, ...], alpha: float, sigma: float) -> np.ndarray:
    field = gaussian(np.random.uniform(-1, 1, size=size), sigma, mode="reflect", truncate=3)
    return (field * alpha).astype(np.float32)[..., np.newaxis]


def _displaced(image: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> np.ndarray:
    """``image`` (H, W, C) sampled bilinearly at each pixel moved by (dy, dx)."""
    shape = image.shape
    x, y, z = np.meshgrid(np.arange(shape[1]), np.arange(shape[0]), np.arange(shape[2]))
    at = np.reshape(y + dy, (-1, 1)), np.reshape(x + dx, (-1, 1)), np.reshape(z, (-1, 1))
    return map_coordinates(image, at, order=1, mode="reflect").reshape(shape)


FUNCTIONS: dict[str, Corruption] = {
    f.__name__: f
    for f in (
        gaussian_noise,
        shot_noise,
        impulse_noise,
        speckle_noise,
        gaussian_blur,
        glass_blur,
        defocus_blur,
        motion_blur,
        zoom_blur,
        fog,
        frost,
        snow,
        spatter,
        contrast,
        brightness,
        saturate,
        jpeg_compression,
        pixelate,
        elastic_transform,
    )
}


def apply(image: np.ndarray, name: str, severity: int, table: Table) -> np.ndarray:
    """``image`` (H, W, 3) uint8 corrupted by ``name`` at ``severity`` (1-5) with ``table``'s
    parameters: (H, W, 3) uint8, truncated as the scripts' ``np.uint8`` truncates."""
    fn = FUNCTIONS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(image, table.severities[name][severity - 1], table)
    return np.uint8(np.clip(np.asarray(out, dtype=np.float64), 0, 255))
