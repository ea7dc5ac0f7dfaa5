"""Uploaded files -> model inputs: validate first, then convert like the dataset loaders do.

Every refusal is an ``UploadError`` with one line for the page. The checks run in order of cost:
size, header (format, dimensions, frames, bit depth) and only then a full decode, so a
decompression bomb or a huge file is refused before any pixel is decoded.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, UnidentifiedImageError

from harness.datasets.folders import MAX_PIXELS, raw_modes, to_float
from harness.errors import HarnessError

MAX_MB = 10  # per upload; also Streamlit's own cap (server.maxUploadSize, the widget's)
MAX_BYTES = MAX_MB * 2**20  # Streamlit's megabyte is 2**20 bytes too
FORMATS = {"PNG": "PNG", "JPEG": "JPEG", "WEBP": "WebP"}  # PIL format -> name shown
HIGH_DEPTH_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I", "F")  # 16/32-bit PIL modes


class UploadError(HarnessError):
    """An upload the app refuses; the message is shown in the page."""


def read_upload(data: bytes, name: str = "upload") -> Image.Image:
    """Validate ``data`` (the uploaded file's bytes) and return the fully decoded image."""
    if len(data) > MAX_BYTES:
        raise UploadError(
            f"{name}: the file is {len(data) / 2**20:.1f} MB; the limit is {MAX_MB} MB"
        )
    if not data:
        raise UploadError(f"{name}: the file is empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))
            _check_header(img, name)
            img.load()  # decodes every pixel: a truncated or corrupt file fails here
        except UploadError:
            raise
        except UnidentifiedImageError:
            raise UploadError(f"{name}: not an image (expected PNG, JPEG or WebP)") from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise UploadError(f"{name}: too many pixels (decompression bomb?)") from None
        except (OSError, ValueError, SyntaxError) as exc:  # PIL's decoders raise all three
            raise UploadError(f"{name}: truncated or corrupt image ({_first_line(exc)})") from None
    return img


def _check_header(img: Image.Image, name: str) -> None:
    """Refuse by what the header says, before decoding."""
    if img.format not in FORMATS:
        raise UploadError(
            f"{name}: {img.format} images are not supported; expected PNG, JPEG or WebP"
        )
    w, h = img.size
    if w * h > MAX_PIXELS:
        raise UploadError(
            f"{name}: {w}x{h} pixels is too large (decompression bomb?); the limit is {MAX_PIXELS:,} pixels"
        )
    if getattr(img, "is_animated", False) or getattr(img, "n_frames", 1) > 1:
        raise UploadError(f"{name}: animated images are not supported; upload a single frame")
    if img.mode in HIGH_DEPTH_MODES or any(";16" in m for m in raw_modes(img)):
        raise UploadError(
            f"{name}: 16-bit images are not supported; save it with 8 bits per channel"
        )


def to_input(img: Image.Image, input_shape: tuple[int, int, int]) -> np.ndarray:
    """The image as one model input: (C, H, W) float32 in [0, 1], C = 1 (grayscale) or 3 (RGB).

    Transparent pixels are composited on white; the resize is bilinear, as the dataset loaders'.
    """
    c, h, w = input_shape
    if c not in (1, 3):
        raise UploadError(f"the model expects {c} channels; uploads give 1 (grayscale) or 3 (RGB)")
    rgb = _on_white(img)
    im = rgb.convert("L" if c == 1 else "RGB")
    if im.size != (w, h):
        im = im.resize((w, h), Image.Resampling.BILINEAR)
    arr = np.asarray(im, dtype=np.uint8)
    arr = arr[:, :, None] if arr.ndim == 2 else arr  # (H, W, C)
    return to_float(np.ascontiguousarray(arr.transpose(2, 0, 1)))


def _on_white(img: Image.Image) -> Image.Image:
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return img


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
