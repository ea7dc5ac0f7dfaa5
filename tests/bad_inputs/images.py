"""Bad images in image-folder data sets: refused in one line naming the file, before training."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
from PIL import Image

from bad_inputs import Case, with_files

FOLDER = "dataset: {name: imagefolder, root: '{tmp}/imgs', image_size: 8}\n"
CIFAKE = "dataset: {name: cifake, root: '{tmp}/imgs'}\n"
MODEL = "model: {arch: small_cnn, train: {epochs: 1}}\n"


def encoded(im: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    im.save(out, fmt)
    return out.getvalue()


def noise(size: int = 16) -> Image.Image:
    pixels = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` 8-bit RGB pixels and holds none."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


GOOD = encoded(noise())
PNG_BYTES = encoded(noise(32))
JPEG_BYTES = encoded(noise(32), "JPEG")
BROKEN_CRC = PNG_BYTES[: len(PNG_BYTES) // 2] + bytes([PNG_BYTES[len(PNG_BYTES) // 2] ^ 0xFF])
BROKEN_CRC += PNG_BYTES[len(PNG_BYTES) // 2 + 1 :]


def folder(bad_name: str, bad: bytes, text: str = FOLDER) -> object:
    """Two classes of good images, with one bad file ``imgs/b/<bad_name>``."""
    files = {f"imgs/{c}/{i}.png": GOOD for c in "ab" for i in range(3)}
    return with_files(files | {f"imgs/b/{bad_name}": bad}, text + MODEL)


def cifake(odd: Image.Image) -> object:
    """The CIFAKE layout of 32x32 JPEGs with one image of another size."""
    files = {f"imgs/{s}/{c}/{i}.jpg": JPEG_BYTES for s in ("train", "test") for c in ("REAL", "FAKE")
             for i in range(2)}  # fmt: skip
    return with_files(files | {"imgs/test/FAKE/odd.jpg": encoded(odd, "JPEG")}, CIFAKE + MODEL)


CASES = [
    Case("image_truncated_png", folder("cut.png", PNG_BYTES[:300]), "b/cut.png: cannot read image"),
    Case("image_broken_png_stream", folder("crc.png", BROKEN_CRC), "b/crc.png: cannot read image"),
    Case("image_truncated_jpeg", folder("cut.jpg", JPEG_BYTES[:200]), "b/cut.jpg: cannot read"),
    Case("image_zero_bytes", folder("empty.png", b""), "b/empty.png: cannot read image"),
    Case("image_text_named_png", folder("notes.png", b"just some notes\n"), "cannot identify"),
    Case(
        "image_html_named_jpg",
        folder("page.jpg", b"<!doctype html><html><body>404</body></html>"),
        "b/page.jpg: cannot read image (cannot identify image file)",
    ),
    Case(
        "image_float_tiff_named_png",
        folder("f.png", encoded(Image.new("F", (8, 8), 0.5), "TIFF")),
        "b/f.png: cannot read image (32-bit float pixels",
    ),
    Case(
        "image_decompression_bomb",
        folder("huge.png", png_header_only(20_000, 20_000)),
        "b/huge.png: cannot read image",
    ),
    Case(
        "image_only_gif_in_a_class",
        with_files(
            {"imgs/a/0.png": GOOD, "imgs/b/anim.gif": encoded(noise(), "GIF")}, FOLDER + MODEL
        ),
        "has no images (.png",
    ),
    Case(
        "cifake_image_of_another_size",
        cifake(noise(16)),
        "odd.jpg: expected a 32x32 image, got 16x16 (mode RGB)",
    ),
    Case(
        "cifake_gray_image_of_another_size",
        cifake(Image.new("L", (40, 30))),
        "odd.jpg: expected a 32x32 image, got 40x30 (mode L)",
    ),
]
