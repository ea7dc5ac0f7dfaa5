"""Image folders decode every stored format to the documented pixels (harness.datasets.folders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from harness.datasets import load_dataset
from harness.datasets.folders import ImageFormat, read_image
from harness.errors import HarnessError
from harness.spec import DataSpec

RGB, GRAY = ImageFormat("RGB", 4), ImageFormat("L", 4)


def saved(tmp_path: Path, im: Image.Image, name: str = "x.png") -> Path:
    path = tmp_path / name
    im.save(path)
    return path


def decode(path: Path, fmt: ImageFormat = RGB) -> np.ndarray:
    """The pixels as the model sees them: float in [0, 1], (H, W, C)."""
    return read_image(path, fmt) / 255.0


def gray16(value: int) -> Image.Image:
    return Image.fromarray(np.full((4, 4), value, np.uint16))  # mode I;16


@pytest.mark.parametrize(("value", "expected"), [(0, 0.0), (32768, 0.5), (65535, 1.0)])
@pytest.mark.parametrize("fmt", [RGB, GRAY])
def test_16_bit_png_scales_0_to_65535_onto_0_to_1(tmp_path, value, expected, fmt) -> None:
    path = saved(tmp_path, gray16(value))
    assert Image.open(path).mode.startswith("I")
    assert decode(path, fmt) == pytest.approx(expected, abs=1 / 255)


def test_16_bit_gradient_keeps_its_order(tmp_path) -> None:
    ramp = np.linspace(0, 65535, 16, dtype=np.uint16).reshape(4, 4)
    x = decode(saved(tmp_path, Image.fromarray(ramp)), GRAY).ravel()
    assert np.all(np.diff(x) > 0) and x[0] == 0 and x[-1] == 1


def test_palette_with_and_without_transparency(tmp_path) -> None:
    im = Image.new("P", (4, 4), 1)
    im.putpalette([255, 0, 0, 0, 0, 255])  # 0 red, 1 blue
    im.putpixel((0, 0), 0)
    plain = decode(saved(tmp_path, im, "plain.png"))
    assert plain[0, 0].tolist() == [1, 0, 0] and plain[3, 3].tolist() == [0, 0, 1]
    im.info["transparency"] = 1  # blue is transparent: composited over black
    clear = decode(saved(tmp_path, im, "clear.png"))
    assert clear[0, 0].tolist() == [1, 0, 0] and clear[3, 3].tolist() == [0, 0, 0]


@pytest.mark.parametrize(("mode", "colour"), [("RGBA", (200, 100, 50)), ("LA", (200,))])
def test_alpha_is_composited_over_black(tmp_path, mode, colour) -> None:
    half = Image.new(mode, (4, 4), (*colour, 128))
    x = decode(saved(tmp_path, half), RGB)
    expected = np.array(colour if mode == "RGBA" else colour * 3) / 255 * 128 / 255
    assert x[0, 0] == pytest.approx(expected, abs=1 / 255)
    clear = decode(saved(tmp_path, Image.new(mode, (4, 4), (*colour, 0)), "clear.png"))
    assert clear.max() == 0


def test_cmyk_converts_through_rgb(tmp_path) -> None:
    im = Image.new("CMYK", (4, 4), (128, 0, 0, 128))  # half cyan, half black
    x = decode(saved(tmp_path, im, "x.tif"))
    expected = np.array([127 * 127, 255 * 127, 255 * 127]) / 255 / 255  # (1-c)(1-k) per channel
    assert x[0, 0] == pytest.approx(expected, abs=1 / 255)


def test_plain_rgb_and_gray_are_unchanged(tmp_path) -> None:
    rgb = np.arange(48, dtype=np.uint8).reshape(4, 4, 3) * 5
    assert np.array_equal(read_image(saved(tmp_path, Image.fromarray(rgb)), RGB), rgb)
    gray = np.arange(16, dtype=np.uint8).reshape(4, 4) * 16
    assert np.array_equal(
        read_image(saved(tmp_path, Image.fromarray(gray), "g.png"), GRAY)[..., 0], gray
    )


def test_float_images_are_refused_in_one_line(tmp_path) -> None:
    path = saved(tmp_path, Image.new("F", (4, 4), 0.5), "x.tif")
    with pytest.raises(HarnessError, match=r"x\.tif: cannot read image \(32-bit float pixels"):
        read_image(path, RGB)


def test_imagefolder_of_mixed_sizes_and_modes_is_resized_and_converted(tmp_path) -> None:
    """One folder mixing 8-bit RGB, 16-bit gray, palette and RGBA of several sizes."""
    images = {
        "a/rgb.png": Image.new("RGB", (8, 8), (255, 255, 255)),
        "a/gray16.png": gray16(65535).resize((12, 6)),
        "b/pal.png": Image.new("P", (5, 5), 0),
        "b/rgba.png": Image.new("RGBA", (16, 16), (255, 255, 255, 0)),
    }
    for rel, im in images.items():
        (tmp_path / rel).parent.mkdir(exist_ok=True)
        im.save(tmp_path / rel)
    ds = load_dataset(DataSpec(name="imagefolder", root=str(tmp_path), image_size=4), seed=0)
    x = np.concatenate([ds.x_train, ds.x_test])
    assert x.shape == (4, 3, 4, 4) and x.dtype == np.float32
    by_class = {c: x[np.concatenate([ds.y_train, ds.y_test]) == i] for i, c in enumerate("ab")}
    assert np.all(by_class["a"] == 1.0)  # white RGB and 16-bit white alike
    assert np.all(by_class["b"] == 0.0)  # black palette entry, fully transparent white


def test_fixed_size_folders_name_the_odd_image(tmp_path) -> None:
    fmt = ImageFormat("RGB", 32)
    path = saved(tmp_path, Image.new("LA", (16, 8)), "odd.png")
    with pytest.raises(
        HarnessError, match=r"odd\.png: expected a 32x32 image, got 16x8 \(mode LA\)"
    ):
        read_image(path, fmt)


def test_16_bit_gray_read_as_mode_i_still_scales(tmp_path) -> None:
    """PIL opens a 16-bit PGM as mode I (from raw I;16B): 16-bit, not 32-bit, so scaled."""
    path = saved(tmp_path, Image.fromarray(np.full((4, 4), 32768, np.int32), "I"), "x.pgm")
    assert Image.open(path).mode == "I"
    assert decode(path, GRAY) == pytest.approx(0.5, abs=1 / 255)


def test_32_bit_integer_images_are_refused_in_one_line(tmp_path) -> None:
    """Before: clipped to 65535, so 100000 decoded as white (and 100 as black)."""
    path = saved(tmp_path, Image.fromarray(np.full((4, 4), 100_000, np.int32), "I"), "x.tif")
    with pytest.raises(HarnessError, match=r"x\.tif: cannot read image \(32-bit integer pixels"):
        read_image(path, GRAY)


def test_a_symlink_to_nothing_is_skipped_with_a_count(tmp_path, caplog) -> None:
    for c in "ab":
        (tmp_path / c).mkdir()
        for i in range(2):
            saved(tmp_path, Image.new("L", (4, 4), 255), f"{c}/{i}.png")
    (tmp_path / "b" / "gone.png").symlink_to(tmp_path / "b" / "missing.png")
    spec = DataSpec(name="imagefolder", root=str(tmp_path), image_size=4)
    ds = load_dataset(spec, seed=0, train=False)
    assert len(ds.y_test) == 4
    assert "skipped 1 image file(s) that are symbolic links to nothing (gone.png)" in caplog.text
