"""The small-image scales against Hendrycks & Dietterich's scripts.

The deterministic corruptions (no random draw) must give the script's pixels exactly: the
references below are written from ``make_cifar_c.py`` and ``make_tinyimagenet_c.py``
(github.com/hendrycks/robustness, ImageNet-C/create_c/, commit 8190fe3), line for line, with
the scripts' own parameter lists (file and line cited), independently of
``harness.corruptions.tables``. They take a PIL image, as the scripts do, and the result goes
through ``np.uint8`` as the scripts' saving loop does. The random ones are checked by their
statistics on a mid-grey image: the spread each script's parameter promises.
"""

from __future__ import annotations

import importlib.util
from io import BytesIO

import numpy as np
import pytest
from PIL import Image

from harness.corruptions import generate
from harness.corruptions.scales import resolve

if importlib.util.find_spec("imagecorruptions") is None:  # the optional extra "corruptions"
    pytest.skip("imagecorruptions is not installed", allow_module_level=True)

import cv2
from skimage import color
from skimage.filters import gaussian

# the scripts' parameters of the deterministic corruptions, severities 1-5
CIFAR = {
    "brightness": [0.05, 0.1, 0.15, 0.2, 0.3],  # make_cifar_c.py:342
    "contrast": [0.75, 0.5, 0.4, 0.3, 0.15],  # make_cifar_c.py:334
    "saturate": [(0.3, 0), (0.1, 0), (1.5, 0), (2, 0.1), (2.5, 0.2)],  # make_cifar_c.py:353
    "jpeg_compression": [80, 65, 58, 50, 40],  # make_cifar_c.py:364
    "pixelate": [0.95, 0.9, 0.85, 0.75, 0.65],  # make_cifar_c.py:374
    "gaussian_blur": [0.4, 0.6, 0.7, 0.8, 1],  # make_cifar_c.py:159
    "defocus_blur": [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (1, 0.2), (1.5, 0.1)],  # ...:184
    "zoom_blur": [1.06, 1.11, 1.16, 1.21, 1.26],  # arange stops; make_cifar_c.py:216-217
}
TINY = {
    "brightness": [0.1, 0.2, 0.3, 0.4, 0.5],  # make_tinyimagenet_c.py:460
    "contrast": [0.4, 0.3, 0.2, 0.1, 0.05],  # make_tinyimagenet_c.py:452
    "saturate": [(0.3, 0), (0.1, 0), (2, 0), (5, 0.1), (30, 0.2)],  # ...tinyimagenet_c.py:471
    "jpeg_compression": [65, 58, 50, 40, 25],  # make_tinyimagenet_c.py:482
    "pixelate": [0.9, 0.8, 0.7, 0.6, 0.5],  # make_tinyimagenet_c.py:492
    "gaussian_blur": [0.5, 0.75, 1, 1.25, 1.5],  # make_tinyimagenet_c.py:277
    "defocus_blur": [(0.5, 0.6), (1, 0.1), (1.5, 0.1), (2.5, 0.01), (3, 0.1)],  # ...:302
    "zoom_blur": [1.06, 1.11, 1.16, 1.21, 1.26],  # make_tinyimagenet_c.py:334-335
}


def ref_brightness(x: Image.Image, c: float, side: int) -> np.ndarray:  # make_cifar_c.py:341-349
    hsv = color.rgb2hsv(np.array(x) / 255.0)
    hsv[:, :, 2] = np.clip(hsv[:, :, 2] + c, 0, 1)
    return np.clip(color.hsv2rgb(hsv), 0, 1) * 255


def ref_contrast(x: Image.Image, c: float, side: int) -> np.ndarray:  # make_cifar_c.py:333-338
    a = np.array(x) / 255.0
    means = np.mean(a, axis=(0, 1), keepdims=True)
    return np.clip((a - means) * c + means, 0, 1) * 255


def ref_saturate(x: Image.Image, c: tuple, side: int) -> np.ndarray:  # make_cifar_c.py:352-360
    hsv = color.rgb2hsv(np.array(x) / 255.0)
    hsv[:, :, 1] = np.clip(hsv[:, :, 1] * c[0] + c[1], 0, 1)
    return np.clip(color.hsv2rgb(hsv), 0, 1) * 255


def ref_jpeg_compression(x: Image.Image, c: int, side: int) -> Image.Image:  # ...:363-370
    out = BytesIO()
    x.save(out, "JPEG", quality=c)
    return Image.open(out)


def ref_pixelate(x: Image.Image, c: float, side: int) -> Image.Image:  # make_cifar_c.py:373-379
    return x.resize((int(side * c), int(side * c)), Image.BOX).resize((side, side), Image.BOX)


def ref_gaussian_blur(x: Image.Image, c: float, side: int) -> np.ndarray:  # ...:158-162
    return np.clip(gaussian(np.array(x) / 255.0, sigma=c, channel_axis=-1), 0, 1) * 255


def ref_defocus_blur(x: Image.Image, c: tuple, side: int) -> np.ndarray:  # make_cifar_c.py:183-194
    radius, alias_blur = c
    grid = np.arange(-8, 8 + 1)  # radius <= 8 in both scripts: the 17 x 17 grid, 3 x 3 blur
    xx, yy = np.meshgrid(grid, grid)
    disk = np.array((xx**2 + yy**2) <= radius**2, dtype=np.float32)
    disk /= np.sum(disk)
    kernel = cv2.GaussianBlur(disk, ksize=(3, 3), sigmaX=alias_blur)  # make_cifar_c.py:34-46
    a = np.array(x) / 255.0
    channels = np.array([cv2.filter2D(a[:, :, d], -1, kernel) for d in range(3)])
    return np.clip(channels.transpose((1, 2, 0)), 0, 1) * 255


def ref_zoom_blur(x: Image.Image, stop: float, side: int) -> np.ndarray:  # ...:215-225
    from scipy.ndimage import zoom

    a = (np.array(x) / 255.0).astype(np.float32)
    factors = np.arange(1, stop, 0.01)
    out = np.zeros_like(a)
    for z in factors:  # clipped_zoom, make_cifar_c.py:112-122 (square images)
        ch = int(np.ceil(side / z))
        top = (side - ch) // 2
        zoomed = zoom(a[top : top + ch, top : top + ch], (z, z, 1), order=1)
        trim = (zoomed.shape[0] - side) // 2
        out += zoomed[trim : trim + side, trim : trim + side]
    return np.clip((a + out) / (len(factors) + 1), 0, 1) * 255


def picture(side: int) -> np.ndarray:
    """A colourful (side, side, 3) uint8 image: a gradient per channel plus texture."""
    ramp = np.linspace(20, 235, side)
    across, down = np.meshgrid(ramp, ramp)
    base = np.stack([across, down, np.full_like(ramp, 128)[None, :] + 0 * down], axis=-1)
    noise = np.random.default_rng(side).normal(0, 20, (side, side, 3))
    return np.uint8(np.clip(base + noise, 0, 255))


@pytest.mark.parametrize(("side", "table"), [(32, CIFAR), (64, TINY)])
@pytest.mark.parametrize("name", sorted(CIFAR))
def test_deterministic_corruptions_equal_the_script_to_the_pixel(side, table, name) -> None:
    img = picture(side)
    x = (img.transpose(2, 0, 1)[None] / 255.0).astype(np.float32)  # (1, 3, side, side)
    scale = resolve("auto", x.shape[1:])  # 32 px: cifar, 64 px: tiny_imagenet
    reference = globals()[f"ref_{name}"]
    for severity, c in enumerate(table[name], start=1):
        got = generate.pixels(x, name, severity, 0, None, scale)[0].transpose(1, 2, 0)
        want = np.uint8(reference(Image.fromarray(img), c, side))
        assert np.array_equal(got, want), (name, severity)


def grey(n: int, side: int) -> np.ndarray:
    return np.full((n, 3, side, side), 128 / 255, np.float32)


def diffs(name: str, severity: int, side: int) -> np.ndarray:
    """(corrupted - clean) on mid-grey images, in [0, 1] units, auto's parameters."""
    x = grey(8, side)
    return (generate.corrupt(x, name, severity, seed=severity) - x).ravel()


# the noise parameters: sigma of gaussian noise, Poisson rate of shot noise, salt-and-pepper
# amount of impulse noise, sigma of speckle noise
NOISE = {
    32: {  # make_cifar_c.py:131, 138, 145, 152
        "gaussian_noise": [0.04, 0.06, 0.08, 0.09, 0.10],
        "shot_noise": [500, 250, 100, 75, 50],
        "impulse_noise": [0.01, 0.02, 0.03, 0.05, 0.07],
        "speckle_noise": [0.06, 0.1, 0.12, 0.16, 0.2],
    },
    64: {  # make_tinyimagenet_c.py:249, 256, 263, 270
        "gaussian_noise": [0.04, 0.08, 0.12, 0.15, 0.18],
        "shot_noise": [250, 100, 50, 30, 15],
        "impulse_noise": [0.01, 0.02, 0.05, 0.08, 0.14],
        "speckle_noise": [0.15, 0.2, 0.25, 0.3, 0.35],
    },
}
MID = 128 / 255


@pytest.mark.parametrize("side", [32, 64])
def test_gaussian_and_speckle_noise_have_the_scripts_sigma(side) -> None:
    """std(corrupted - clean) = sigma (speckle: sigma x the pixel value); at 0.5 +- 2.8 sigma
    at most, clipping hardly touches the spread."""
    for s in range(1, 6):
        sigma = NOISE[side]["gaussian_noise"][s - 1]
        assert abs(diffs("gaussian_noise", s, side).std() / sigma - 1) < 0.03, s
        speckle = NOISE[side]["speckle_noise"][s - 1] * MID
        assert abs(diffs("speckle_noise", s, side).std() / speckle - 1) < 0.03, s


@pytest.mark.parametrize("side", [32, 64])
def test_shot_noise_is_poisson_at_the_scripts_rate(side) -> None:
    """Poisson(x c) / c: mean x, variance x / c."""
    for s in range(1, 6):
        rate = NOISE[side]["shot_noise"][s - 1]
        d = diffs("shot_noise", s, side)
        assert abs(d.std() / np.sqrt(MID / rate) - 1) < 0.04, s
        assert abs(d.mean()) < 0.01, s


@pytest.mark.parametrize("side", [32, 64])
def test_impulse_noise_salts_and_peppers_the_scripts_amount(side) -> None:
    """``amount`` of the values (each channel apart) set to 0 or 1, half each; the rest kept.
    Binomial spread over 8 x 3 x side^2 values: within 5 standard errors."""
    for s in range(1, 6):
        amount = NOISE[side]["impulse_noise"][s - 1]
        out = diffs("impulse_noise", s, side) + MID
        n = out.size
        salt, pepper = np.mean(out > 0.999), np.mean(out < 0.001)
        assert np.all((out > 0.999) | (out < 0.001) | np.isclose(out, MID, atol=1e-6))
        assert abs(salt + pepper - amount) < 5 * np.sqrt(amount * (1 - amount) / n), s
        assert abs(salt - pepper) < 5 * np.sqrt(amount / n), s


@pytest.mark.parametrize("side", [32, 64])
def test_every_corruption_is_seeded(side) -> None:
    """The same seed gives the same pixels (the scripts draw from numpy's global generator,
    which ``generate`` seeds per image); another seed, other pixels for the random ones."""
    x = grey(1, side) + np.linspace(-0.3, 0.3, side, dtype=np.float32)
    for name in ("impulse_noise", "glass_blur", "fog", "frost", "snow", "spatter"):
        a = generate.corrupt(x, name, 4, seed=1)
        assert np.array_equal(a, generate.corrupt(x, name, 4, seed=1)), name
        assert not np.array_equal(a, generate.corrupt(x, name, 4, seed=2)), name
