"""The ``imagecorruptions`` package (Hendrycks & Dietterich's code for any image size), made to
run on today's numpy and scikit-image, behind one function: ``apply(image, name, severity)``.

imagecorruptions 1.1.2 (its latest release) predates three library changes; each is bridged here,
only while one of its functions runs, rather than by pinning old libraries for everyone:

- it imports ``pkg_resources.resource_filename`` (gone from setuptools >= 81) to find its frost
  pictures: a stand-in module resolves the same paths with ``importlib``;
- glass blur and gaussian blur call ``skimage.filters.gaussian(multichannel=True)`` (renamed
  ``channel_axis=-1`` in scikit-image 0.19): the module's ``gaussian`` is wrapped to translate;
- fog builds its plasma with ``np.float_`` (gone in numpy 2): the alias is set while it runs.

Its ``corrupt`` wrapper refuses images under 32 pixels; the corruption functions themselves are
called here (on a PIL image, as ``corrupt`` does): all 19 run on 8x8 (digits), 28x28 and 32x32
images and change them (tests/test_corruptions.py).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import threading
import types
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from harness.errors import HarnessError

EXTRA = "corruptions"  # the optional extra of setup.cfg that installs imagecorruptions
PACKAGE = "imagecorruptions"
MISSING = (
    f"corruptions: the '{PACKAGE}' package is not installed; "
    f"install the optional extra: pip install 'robustness-harness[{EXTRA}]'"
)


def version() -> str:
    """The installed imagecorruptions version ("not installed" without the extra)."""
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _resource_filename(package: str, relative: str) -> str:
    """``pkg_resources.resource_filename``: a path inside an installed package."""
    spec = importlib.util.find_spec(package)
    origin = spec.origin if spec else None
    if origin is None:
        raise FileNotFoundError(f"package {package} not found")
    return str(Path(origin).parent / relative)


def require() -> None:
    """Raise the one-line error naming the extra when imagecorruptions is not installed; the
    package is found, not imported (it imports scipy and scikit-image: validating a spec stays
    light), and is imported when a corruption is first applied."""
    if importlib.util.find_spec(PACKAGE) is None:
        raise HarnessError(MISSING)


_IMPORT = threading.Lock()  # the stand-in sits in sys.modules while one thread imports


def _module() -> types.ModuleType:
    """imagecorruptions' corruption functions, or a one-line error naming the extra. One
    import at a time: another thread's ``find_spec("pkg_resources")`` would otherwise meet the
    stand-in, which has no ``__spec__``, and fail (the app's sessions run in threads)."""
    with _IMPORT:
        return _imported()


@cache
def _imported() -> types.ModuleType:
    require()
    shim = None
    if importlib.util.find_spec("pkg_resources") is None and "pkg_resources" not in sys.modules:
        shim = types.ModuleType("pkg_resources")
        shim.resource_filename = _resource_filename  # type: ignore[attr-defined]
        sys.modules["pkg_resources"] = shim
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # its deprecated scipy import paths
            import imagecorruptions.corruptions as module
    finally:
        if shim is not None and sys.modules.get("pkg_resources") is shim:
            del sys.modules["pkg_resources"]  # only its import needs it (pytest probes for it)
    module.gaussian = _gaussian(module.gaussian)
    return module


def _gaussian(gaussian: Callable[..., Any]) -> Callable[..., Any]:
    """skimage's ``gaussian`` taking the pre-0.19 ``multichannel`` keyword."""

    def wrapped(image: np.ndarray, *args: Any, multichannel: bool = False, **kw: Any) -> Any:
        if multichannel:
            kw["channel_axis"] = -1
        return gaussian(image, *args, **kw)

    return wrapped


@contextmanager
def _float_alias() -> Any:
    """``np.float_`` for the duration of one call (fog's plasma fractal uses it)."""
    had = "float_" in np.__dict__
    if not had:
        np.float_ = np.float64  # type: ignore[attr-defined]
    try:
        yield
    finally:
        if not had:
            del np.float_  # type: ignore[attr-defined]


def apply(image: np.ndarray, name: str, severity: int) -> np.ndarray:
    """``image`` (H, W, 3) uint8 corrupted by ``name`` at ``severity`` (1-5): (H, W, 3) uint8.

    Randomness comes from numpy's global generator: the caller seeds it.
    """
    fn = getattr(_module(), name)
    with _float_alias(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(Image.fromarray(image), severity)  # as its own ``corrupt`` passes it
    return np.uint8(np.clip(np.asarray(out, dtype=np.float64), 0, 255))


def motion_blur(x: np.ndarray, radius: float, sigma: float, angle: float) -> np.ndarray:
    """imagecorruptions' numpy port of ImageMagick's motion blur: ``x`` (H, W[, C]) in any
    range, blurred along ``angle`` degrees with a Gaussian of ``sigma`` over ``2 radius + 1``
    pixels; float, same shape. (Hendrycks & Dietterich's scripts call ImageMagick through Wand.)"""
    return np.asarray(_module()._motion_blur(x, radius=radius, sigma=sigma, angle=angle))


FROST_FILES = ("frost1.png", "frost2.png", "frost3.png", "frost4.jpg", "frost5.jpg", "frost6.jpg")


def frost_file(index: int) -> Path:
    """The frost picture ``index`` (0-5) imagecorruptions ships: the same files, byte for byte,
    as ImageNet-C/create_c/frost*.{png,jpg} of Hendrycks & Dietterich's repository."""
    return Path(_resource_filename(PACKAGE, f"frost/{FROST_FILES[index]}"))
