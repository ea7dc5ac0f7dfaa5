"""Read ``SPLIT/<class>/*`` image folders as uint8, cached as memory-mappable ``.npy`` files.

Decoding is sequential PIL: on tiny images (CIFAKE's 32x32 JPEGs, ~0.1 ms each) a thread
pool was slower because of the GIL. Images are written to the cache one at a time as they are
decoded, and read back lazily (``harness.datasets.lazy``), so a split is never held whole. The
cache is keyed by the resolved folder, the image format and every file's name, size and mtime,
so any change to the files is a cache miss.

Every image becomes 8-bit RGB or grayscale (``to_mode``), whatever it was stored as:

- 16-bit grayscale (PIL modes I;16*, I): 0..65535 scaled to 0..255 (PIL's own conversion clips
  everything above 255 to white);
- palette (P): through its colours; a transparent palette entry is treated as alpha;
- alpha (LA, PA, RGBA, premultiplied La/RGBa, or a tRNS transparent colour): composited over
  BLACK, so a transparent pixel is 0 whatever colour it hides;
- CMYK: through RGB (R = (255 - C)(255 - K) / 255, ...); 1-bit: 0 or 255;
- 32-bit float (F) and 32-bit integer (I stored with 32 bits, e.g. a TIFF) are refused: the
  first has no fixed white level, and the second's white (2**31 - 1) would crush any image
  saved with a smaller range to black;
- an image of more than ``MAX_PIXELS`` pixels is refused from its header, before decoding
  (the same limit as the app's uploads): a data set is decoded at a few hundred pixels a side.

Of an animated image only the first frame is read. An image-named symbolic link that points
to nothing is skipped with a warning saying how many were; a symbolic link loop is refused.
"""

from __future__ import annotations

import hashlib
import logging
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib import format as npy
from PIL import Image, UnidentifiedImageError

from harness.datasets.lazy import ArrayRows, LazyImages, NpyRows, stored_rows, to_float  # noqa: F401 (re-exported)
from harness.datasets.paths import cache_dir, require_dir
from harness.errors import HarnessError
from harness.io import atomic_path

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp")
# 3: uint8 .npy (read lazily) instead of .npz; ImageFormat gained ``crop``. Bump when the
# decoded pixels for the same files would change: older cache files are then never read.
# 4: 32-bit integer and over-MAX_PIXELS images are refused (an old cache would still hold them).
CACHE_FORMAT = 4
MAX_PIXELS = 25_000_000  # width * height (5000 x 5000): larger images are refused, unread


@dataclass(frozen=True)
class ImageFormat:
    """How every image of a dataset is decoded.

    Without ``crop``: every image becomes (size, size) (resized, aspect not kept, if ``resize``;
    else another size is an error). With ``crop``: the shorter side is resized to ``size``
    (aspect kept), then the centre (crop, crop) is cut out, as ImageNet evaluation does
    (torchvision's ``Resize(size)`` then ``CenterCrop(crop)``, bilinear).
    """

    mode: str = "RGB"  # PIL mode: "RGB" (3 channels) or "L" (1 channel)
    size: int = 32  # pixels
    resize: bool = False  # False: an image of another size is an error
    crop: int | None = None  # pixels, at most ``size``

    @property
    def shape(self) -> tuple[int, int, int]:
        """(C, H, W) of every decoded image."""
        side = self.crop or self.size
        return (1 if self.mode == "L" else 3, side, side)

    def __repr__(self) -> str:  # crop absent: the repr (and so the cache key) reads as before
        crop = "" if self.crop is None else f", crop={self.crop}"
        return f"ImageFormat(mode={self.mode!r}, size={self.size}, resize={self.resize}{crop})"


def class_folders(split_dir: Path, expected: str) -> list[str]:
    """Sorted names of the (non-hidden) class folders in ``split_dir``."""
    require_dir(split_dir, expected)
    names = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and p.name[0] != ".")
    if not names:
        raise HarnessError(f"dataset.root: {split_dir} has no class folders; expected {expected}")
    return names


def read_split(
    split_dir: Path, class_names: Sequence[str], fmt: ImageFormat, expected: str
) -> tuple[LazyImages, np.ndarray]:
    """Images under ``split_dir/<class>/`` -> x lazy float32 (N, C, H, W) in [0, 1] (uint8 in
    the cache, converted when indexed), y int64 (N,) = index in ``class_names``; files in name
    order."""
    _check_classes(split_dir, class_names, expected)
    files = [_list_images(split_dir / name, expected) for name in class_names]
    y = np.repeat(np.arange(len(class_names), dtype=np.int64), [len(e) for e in files])
    paths = [e.path for entries in files for e in entries]
    cache = cache_dir() / "images" / f"{_slug(split_dir)}-{_key(split_dir, files, fmt)}.npy"
    rows = _load_cache(cache, (len(paths), *fmt.shape))
    if rows is None:
        logger.info("%s: decoding %d images", split_dir, len(paths))
        rows = _decode(cache, paths, fmt)
    return LazyImages(rows), y


def read_image(path: str | Path, fmt: ImageFormat) -> np.ndarray:
    """One image -> uint8 (H, W, C); unreadable files raise a one-line ``HarnessError``."""
    try:
        with _open(path) as im:
            stored = im.mode
            im = to_mode(im, fmt.mode)  # decodes the pixels: truncated files fail here
        im = _fit(im, fmt, path, stored)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise HarnessError(f"{path}: cannot read image ({_reason(exc)})") from None
    arr = np.asarray(im, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


def _open(path: str | Path) -> Image.Image:
    """``path`` opened (header only) if it has at most ``MAX_PIXELS`` pixels, else ValueError."""
    with warnings.catch_warnings():  # PIL's own, multi-line bomb warning: our limit is lower
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        im = Image.open(path)
    check_pixels(im)
    return im


def check_pixels(im: Image.Image) -> None:
    """ValueError if ``im``'s header declares more than ``MAX_PIXELS`` pixels."""
    w, h = im.size
    if w * h > MAX_PIXELS:
        im.close()
        raise ValueError(f"{w}x{h} is {w * h:,} pixels; the limit is {MAX_PIXELS:,}")


def _fit(im: Image.Image, fmt: ImageFormat, path: str | Path, stored: str) -> Image.Image:
    """``im`` brought to ``fmt``'s size (see ``ImageFormat``)."""
    if fmt.crop is not None:
        return centre_crop(resize_shorter(im, fmt.size), fmt.crop)
    if im.size != (fmt.size, fmt.size):
        if not fmt.resize:
            w, h = im.size
            raise HarnessError(
                f"{path}: expected a {fmt.size}x{fmt.size} image, got {w}x{h} (mode {stored})"
            )
        im = im.resize((fmt.size, fmt.size), Image.Resampling.BILINEAR)
    return im


def resize_shorter(im: Image.Image, size: int) -> Image.Image:
    """The shorter side to ``size`` pixels, aspect kept (the longer side truncated, as
    torchvision's ``Resize(size)``), bilinear."""
    w, h = im.size
    if w <= h:
        new = (size, int(size * h / w))
    else:
        new = (int(size * w / h), size)
    return im if new == im.size else im.resize(new, Image.Resampling.BILINEAR)


def centre_crop(im: Image.Image, crop: int) -> Image.Image:
    """The centre (crop, crop) pixels; offsets rounded as torchvision's ``CenterCrop``."""
    w, h = im.size
    top, left = round((h - crop) / 2.0), round((w - crop) / 2.0)
    return im.crop((left, top, left + crop, top + crop))


SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I;16N", "I")  # grayscale, white = 65535
ALPHA = ("LA", "La", "PA", "RGBA", "RGBa")


def to_mode(im: Image.Image, mode: str) -> Image.Image:
    """``im`` (opened, not yet loaded) as 8-bit ``mode`` ("RGB" or "L"), as the module
    docstring says."""
    if (deep := too_deep(im)) is not None:
        raise ValueError(f"{deep}; expected 8- or 16-bit integer pixels")
    if im.mode in SIXTEEN_BIT:
        im = _gray16_to_l(im)
    elif im.mode in ALPHA or "transparency" in im.info:
        im = _over_black(im)
    elif im.mode == "CMYK":
        im = im.convert("RGB")
    return im.convert(mode)


def too_deep(im: Image.Image) -> str | None:
    """What makes ``im``'s stored pixels deeper than 16 bits ("32-bit float pixels (mode F)",
    "32-bit integer pixels (mode I)"), else None. PIL opens 16-bit gray as I;16 or (PPM) as I
    read from I;16B: the raw modes of its tiles tell the two apart, before decoding."""
    if im.mode == "F":
        return "32-bit float pixels (mode F)"
    if im.mode == "I" and not any(";16" in m for m in raw_modes(im)):
        return "32-bit integer pixels (mode I)"
    return None


def raw_modes(im: Image.Image) -> list[str]:
    """The raw modes of ``im``'s tiles, e.g. "RGB;16B" for a 16-bit RGB PNG (which PIL reads
    as 8-bit RGB); empty once the pixels are loaded."""
    modes = []
    for tile in im.tile:
        args = tile.args[0] if isinstance(tile.args, tuple) and tile.args else tile.args
        modes.append(args if isinstance(args, str) else "")
    return modes


def _gray16_to_l(im: Image.Image) -> Image.Image:
    """16-bit gray -> 8-bit: round(v * 255 / 65535), values outside 0..65535 clipped."""
    v = np.clip(np.asarray(im, dtype=np.float64), 0, 65535)
    return Image.fromarray(np.rint(v * (255 / 65535)).astype(np.uint8))  # (H, W) -> L


def _over_black(im: Image.Image) -> Image.Image:
    """Alpha (or a transparent palette entry / colour) composited over black, as RGB."""
    rgba = np.asarray(im.convert("RGBA"), dtype=np.uint16)  # (H, W, 4)
    rgb = (rgba[..., :3] * rgba[..., 3:] + 127) // 255  # c * alpha / 255, rounded
    return Image.fromarray(rgb.astype(np.uint8))  # (H, W, 3) -> RGB


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
    """Image files in ``folder``, sorted by name (other files and hidden files are skipped; an
    image-named link to nothing is skipped with a warning).

    DirEntry rather than Path: building and sorting 30k Paths took ~0.8 s per cached load.
    """
    with os.scandir(folder) as it:
        named = [e for e in it if e.name[0] != "." and e.name.lower().endswith(IMAGE_SUFFIXES)]
    entries = [e for e in named if _is_file(e)]
    _warn_dangling([e.name for e in named if e.is_symlink() and not _is_file(e)], folder)
    if not entries:
        raise HarnessError(
            f"dataset.root: {folder} has no images ({', '.join(IMAGE_SUFFIXES)}); "
            f"expected {expected}"
        )
    return sorted(entries, key=lambda e: e.name)


def _is_file(e: os.DirEntry[str]) -> bool:
    """Whether ``e`` is a file, through symbolic links; a link loop is a one-line error."""
    try:
        return e.is_file()
    except OSError as exc:  # ELOOP: a link to itself, or a cycle of links
        raise HarnessError(f"{e.path}: cannot read image ({_reason(exc)})") from None


def _warn_dangling(names: list[str], folder: Path) -> None:
    if names:
        shown = ", ".join(sorted(names)[:3]) + (", ..." if len(names) > 3 else "")
        logger.warning(
            "%s: skipped %d image file(s) that are symbolic links to nothing (%s)",
            folder, len(names), shown,
        )  # fmt: skip


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


def _load_cache(path: Path, shape: tuple[int, ...]) -> NpyRows | None:
    """The cached rows at ``path`` if the file is whole and holds uint8 of ``shape``, else None."""
    rows = stored_rows(path, shape)
    if rows is not None:
        logger.debug("cache hit %s", path)
    return rows


def _decode(path: Path, paths: list[str], fmt: ImageFormat) -> NpyRows | ArrayRows:
    """Decode every image into a uint8 ``.npy`` at ``path``, one image at a time (written
    atomically); if the cache cannot be written, into memory (costs memory, not results)."""
    header = {"descr": "|u1", "fortran_order": False, "shape": (len(paths), *fmt.shape)}
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as f:
            npy.write_array_header_1_0(f, header)
            for p in paths:
                f.write(_chw(read_image(p, fmt)).tobytes())
        return NpyRows(path)
    except OSError as exc:
        logger.warning("cannot write cache file %s (%s); decoding into memory", path, exc)
        return ArrayRows(np.stack([_chw(read_image(p, fmt)) for p in paths]))


def _chw(img: np.ndarray) -> np.ndarray:
    """(H, W, C) -> (C, H, W), contiguous: the layout the model wants, cached as such."""
    return np.ascontiguousarray(img.transpose(2, 0, 1))
