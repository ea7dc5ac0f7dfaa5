"""Read ``SPLIT/<class>/*`` image folders into uint8 arrays, cached as .npz files.

Decoding is sequential PIL: on tiny images (CIFAKE's 32x32 JPEGs, ~0.1 ms each) a thread
pool was slower because of the GIL. The cache is keyed by the resolved folder, the image
format and every file's name, size and mtime, so any change to the files is a cache miss.

Every image becomes 8-bit RGB or grayscale (``to_mode``), whatever it was stored as:

- 16-bit grayscale (PIL modes I;16*, I): 0..65535 scaled to 0..255 (PIL's own conversion clips
  everything above 255 to white);
- palette (P): through its colours; a transparent palette entry is treated as alpha;
- alpha (LA, PA, RGBA, premultiplied La/RGBa, or a tRNS transparent colour): composited over
  BLACK, so a transparent pixel is 0 whatever colour it hides;
- CMYK: through RGB (R = (255 - C)(255 - K) / 255, ...); 1-bit: 0 or 255;
- 32-bit float (F) is refused: it has no fixed white level.

Of an animated image only the first frame is read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from harness.datasets.paths import cache_dir, require_dir
from harness.errors import HarnessError
from harness.io import atomic_path

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
CACHE_FORMAT = 2  # bump when the decoded arrays for the same files would change


@dataclass(frozen=True)
class ImageFormat:
    """How every image of a dataset is decoded."""

    mode: str = "RGB"  # PIL mode: "RGB" (3 channels) or "L" (1 channel)
    size: int = 32  # output is (size, size) pixels
    resize: bool = False  # False: an image of another size is an error


def class_folders(split_dir: Path, expected: str) -> list[str]:
    """Sorted names of the (non-hidden) class folders in ``split_dir``."""
    require_dir(split_dir, expected)
    names = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and p.name[0] != ".")
    if not names:
        raise HarnessError(f"dataset.root: {split_dir} has no class folders; expected {expected}")
    return names


def read_split(
    split_dir: Path, class_names: Sequence[str], fmt: ImageFormat, expected: str
) -> tuple[np.ndarray, np.ndarray]:
    """Images under ``split_dir/<class>/`` -> x float32 (N, C, H, W) in [0, 1], y int64 (N,)."""
    x, y = read_class_folders(split_dir, class_names, fmt, expected)
    return to_float(x), y


def read_class_folders(
    split_dir: Path, class_names: Sequence[str], fmt: ImageFormat, expected: str
) -> tuple[np.ndarray, np.ndarray]:
    """x uint8 (N, C, H, W), y int64 (N,) = index in ``class_names``; files in name order."""
    _check_classes(split_dir, class_names, expected)
    files = [_list_images(split_dir / name, expected) for name in class_names]
    cache = cache_dir() / "images" / f"{_slug(split_dir)}-{_key(split_dir, files, fmt)}.npz"
    cached = _load_cache(cache)
    if cached is not None:
        logger.debug("%s: cache hit %s", split_dir, cache)
        return cached
    logger.info("%s: decoding %d images", split_dir, sum(map(len, files)))
    x = np.stack([read_image(e.path, fmt) for entries in files for e in entries])  # (N, H, W, C)
    x = np.ascontiguousarray(x.transpose(0, 3, 1, 2))  # (N, C, H, W): cached as the model wants
    y = np.repeat(np.arange(len(class_names), dtype=np.int64), [len(e) for e in files])
    _save_cache(cache, x, y)
    return x, y


def read_image(path: str | Path, fmt: ImageFormat) -> np.ndarray:
    """One image -> uint8 (H, W, C); unreadable files raise a one-line ``HarnessError``."""
    try:
        with Image.open(path) as im:
            stored = im.mode
            im = to_mode(im, fmt.mode)  # decodes the pixels: truncated files fail here
        if im.size != (fmt.size, fmt.size):
            if not fmt.resize:
                w, h = im.size
                raise HarnessError(
                    f"{path}: expected a {fmt.size}x{fmt.size} image, got {w}x{h} (mode {stored})"
                )
            im = im.resize((fmt.size, fmt.size), Image.Resampling.BILINEAR)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise HarnessError(f"{path}: cannot read image ({_reason(exc)})") from None
    arr = np.asarray(im, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # grayscale, white = 65535
ALPHA = ("LA", "La", "PA", "RGBA", "RGBa")


def to_mode(im: Image.Image, mode: str) -> Image.Image:
    """``im`` as 8-bit ``mode`` ("RGB" or "L"), as the module docstring says."""
    if im.mode in SIXTEEN_BIT:
        im = _gray16_to_l(im)
    elif im.mode in ALPHA or "transparency" in im.info:
        im = _over_black(im)
    elif im.mode == "CMYK":
        im = im.convert("RGB")
    elif im.mode == "F":
        raise ValueError("32-bit float pixels (mode F); expected 8- or 16-bit integer pixels")
    return im.convert(mode)


def _gray16_to_l(im: Image.Image) -> Image.Image:
    """16-bit gray -> 8-bit: round(v * 255 / 65535), values outside 0..65535 clipped."""
    v = np.clip(np.asarray(im, dtype=np.float64), 0, 65535)
    return Image.fromarray(np.rint(v * (255 / 65535)).astype(np.uint8))  # (H, W) -> L


def _over_black(im: Image.Image) -> Image.Image:
    """Alpha (or a transparent palette entry / colour) composited over black, as RGB."""
    rgba = np.asarray(im.convert("RGBA"), dtype=np.uint16)  # (H, W, 4)
    rgb = (rgba[..., :3] * rgba[..., 3:] + 127) // 255  # c * alpha / 255, rounded
    return Image.fromarray(rgb.astype(np.uint8))  # (H, W, 3) -> RGB


def to_float(x: np.ndarray) -> np.ndarray:
    """uint8 0..255 -> float32 in [0, 1], same shape (a new array)."""
    out = x.astype(np.float32)
    out /= 255.0
    return out


def _check_classes(split_dir: Path, class_names: Sequence[str], expected: str) -> None:
    require_dir(split_dir, expected)
    for name in class_names:
        require_dir(split_dir / name, expected)
    extra = sorted(set(class_folders(split_dir, expected)) - set(class_names))
    if extra:
        raise HarnessError(
            f"dataset.root: {split_dir} has unexpected class folder(s) {', '.join(extra)}; "
            f"expected {expected}"
        )


def _list_images(folder: Path, expected: str) -> list[os.DirEntry[str]]:
    """Image files in ``folder``, sorted by name (other files and hidden files are skipped).

    DirEntry rather than Path: building and sorting 30k Paths took ~0.8 s per cached load.
    """
    with os.scandir(folder) as it:
        entries = [
            e
            for e in it
            if e.name[0] != "." and e.name.lower().endswith(IMAGE_SUFFIXES) and e.is_file()
        ]
    if not entries:
        raise HarnessError(
            f"dataset.root: {folder} has no images ({', '.join(IMAGE_SUFFIXES)}); "
            f"expected {expected}"
        )
    return sorted(entries, key=lambda e: e.name)


def _key(split_dir: Path, files: list[list[os.DirEntry[str]]], fmt: ImageFormat) -> str:
    """Hash of the folder, the format and every file's class/name, size and mtime."""
    h = hashlib.sha256(f"{CACHE_FORMAT}|{split_dir.resolve()}|{fmt}".encode())
    for entries in files:
        for e in entries:
            st = e.stat()
            h.update(f"|{e.path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:20]


def _slug(split_dir: Path) -> str:
    return f"{split_dir.parent.name}-{split_dir.name}".replace(" ", "_")


def _reason(exc: BaseException) -> str:
    """A short one-line cause (PIL's messages often repeat the path)."""
    if isinstance(exc, UnidentifiedImageError):
        return "cannot identify image file"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    lines = str(exc).splitlines()
    return lines[0] if lines and lines[0] else type(exc).__name__


def _load_cache(path: Path) -> tuple[np.ndarray, np.ndarray] | None:
    try:
        with np.load(path) as f:
            return f["x"], f["y"]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        logger.warning("ignoring unreadable cache file %s (%s)", path, exc)
        return None


def _save_cache(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Write atomically; a read-only cache folder only costs speed."""
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            np.savez(f, x=x, y=y)  # uncompressed: loads fast
    except OSError as exc:
        logger.warning("cannot write cache file %s (%s)", path, exc)
