"""Lazy test splits (issue 12, data larger than memory): a ``LazyImages`` indexes exactly like
the float32 array it replaces, the uint8 ``.npy`` decode cache round-trips, a run on a lazy
split cut into many chunks writes the same results.csv bytes as one on eager arrays, and
``imagefolder``'s resize + centre crop matches torchvision's evaluation transform."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import run_args  # tests/ is on sys.path (rootdir conftest)
from PIL import Image

from harness import batching, prepare
from harness.cli import main
from harness.datasets import folders, load_dataset
from harness.datasets.lazy import ArrayRows, LazyImages, NpyRows, to_float
from harness.errors import HarnessError
from harness.spec import DataSpec, parse_spec

RNG = np.random.default_rng(0)
PIXELS = RNG.integers(0, 256, (37, 3, 5, 4), dtype=np.uint8)  # (N, C, H, W)
KEYS = [
    0,
    -1,
    np.int64(7),
    slice(None),
    slice(2, 9),
    slice(None, None, 3),
    slice(-5, None),
    slice(4, 4),
    [3, 1, 3],
    np.array([36, 0, 12]),
    np.array([], dtype=np.int64),
    PIXELS[:, 0, 0, 0] > 128,  # boolean mask
]


@pytest.fixture(params=["memory", "npy"])
def lazy(request: pytest.FixtureRequest, tmp_path: Path) -> LazyImages:
    if request.param == "memory":
        return LazyImages(ArrayRows(PIXELS))
    np.save(tmp_path / "x.npy", PIXELS)
    return LazyImages(NpyRows(tmp_path / "x.npy"))


@pytest.mark.parametrize("key", KEYS, ids=repr)
def test_lazy_indexing_equals_the_eager_float_array(lazy: LazyImages, key) -> None:
    eager = to_float(PIXELS)
    got, want = lazy[key], eager[key]
    assert got.dtype == np.float32 and got.shape == want.shape
    assert got.tobytes() == want.tobytes()  # bit for bit
    assert lazy.shape == eager.shape and lazy.dtype == eager.dtype and len(lazy) == len(eager)


SUBSET_KEYS = [0, -1, slice(None), slice(2, 5), slice(None, None, 3), [3, 1, 3], np.array([7, 0])]
SUBSET_KEYS += [np.array([], dtype=np.int64), np.arange(8) % 3 == 0]


@pytest.mark.parametrize("key", SUBSET_KEYS, ids=repr)
def test_a_lazy_subset_indexes_like_the_eager_subset(lazy: LazyImages, key) -> None:
    idx = np.array([30, 2, 2, 17, 5, 6, 7, 36])  # unsorted, repeated, with runs
    sub, eager = lazy.subset(idx), to_float(PIXELS)[idx]
    assert sub.shape == eager.shape
    assert sub[key].tobytes() == eager[key].tobytes()
    assert np.asarray(sub).tobytes() == eager.tobytes()


def test_out_of_range_index_and_tuple_keys_raise(lazy: LazyImages) -> None:
    with pytest.raises(IndexError):
        lazy[37]
    with pytest.raises(TypeError):
        lazy[0, 0]


def test_digits_split_is_lazy_and_equals_the_old_float_arrays() -> None:
    from sklearn.datasets import load_digits

    ds = load_dataset(DataSpec("digits"), 0)
    assert isinstance(ds.x_test, LazyImages)
    old = (load_digits().images / 16.0).astype(np.float32)[:, None]  # what the loader returned
    keep = np.concatenate([ds.x_train[:], ds.x_test[:]]).reshape(len(old), -1)
    assert {r.tobytes() for r in keep} <= {r.tobytes() for r in old.reshape(len(old), -1)}


# ---------------------------------------------------------------- the uint8 decode cache


def _tree(root: Path, n: int = 3) -> Path:
    for split in ("train", "test"):
        for cls in ("FAKE", "REAL"):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                pixels = RNG.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(root / split / cls / f"{i}.png")
    return root


def test_uint8_cache_round_trips(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    root = _tree(tmp_path / "cifake")
    first = load_dataset(DataSpec("cifake", root=str(root)), 0)
    files = sorted((tmp_path / "cache" / "images").glob("*.npy"))
    assert len(files) == 2  # train and test, nothing else
    test_file = next(f for f in files if "-test-" in f.name)
    stored = np.load(test_file, mmap_mode="r")  # a plain .npy: memory-mappable
    assert stored.dtype == np.uint8 and stored.shape == (6, 3, 32, 32)
    decoded = np.stack([np.asarray(Image.open(p)) for p in _pngs(root / "test")])
    np.testing.assert_array_equal(stored, decoded.transpose(0, 3, 1, 2))
    monkeypatch.setattr(folders, "read_image", _no_decode)
    again = load_dataset(DataSpec("cifake", root=str(root)), 0)
    assert again.x_test[:].tobytes() == first.x_test[:].tobytes() == to_float(stored).tobytes()


def _pngs(split: Path) -> list[Path]:
    return [p for cls in ("FAKE", "REAL") for p in sorted((split / cls).glob("*.png"))]


def _no_decode(*args: object) -> np.ndarray:
    raise AssertionError("decoded although the cache holds the images")


def test_a_truncated_or_float_cache_file_is_decoded_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    root = _tree(tmp_path / "cifake", n=1)
    first = load_dataset(DataSpec("cifake", root=str(root)), 0).x_test[:]
    for f in (tmp_path / "cache" / "images").glob("*-test-*.npy"):
        np.save(f, np.zeros((2, 3, 32, 32), np.float32))  # right shape, wrong dtype
    assert (
        load_dataset(DataSpec("cifake", root=str(root)), 0).x_test[:].tobytes() == first.tobytes()
    )
    for f in (tmp_path / "cache" / "images").glob("*-test-*.npy"):
        f.write_bytes(f.read_bytes()[:-10])  # cut short
    assert (
        load_dataset(DataSpec("cifake", root=str(root)), 0).x_test[:].tobytes() == first.tobytes()
    )


# ---------------------------------------------------------------- a run on a lazy split

CHUNKED_RUN = """name: chunked
seed: 0
threads: 1
eval_batch_size: 32
dataset: {name: digits, n_test: 200}
model: {arch: small_cnn, train: {epochs: 1}}
attacks: [{name: fgsm, batch_size: 32}]
eps: [0, 0.05, 0.1]
defence: null
evasion: {n_images: 0}
gradcam: {n_images: 0}
"""


def _eager(spec, seed, train=True):
    """The loader's split read into float32 arrays, as every loader returned before."""
    ds = load_dataset(spec, seed, train)
    return dataclasses.replace(ds, x_train=ds.x_train[:], x_test=ds.x_test[:])


def test_a_chunked_run_on_a_lazy_split_writes_the_eager_runs_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "spec.yaml").write_text(CHUNKED_RUN, encoding="utf-8")
    with monkeypatch.context() as m:
        m.setattr(prepare, "load_dataset", _eager)
        m.setattr(batching, "CHUNK_BYTES", 2**40)  # one chunk: the pass over the whole set
        assert main(run_args(tmp_path / "eager", tmp_path / "spec.yaml")) == 0
    monkeypatch.setattr(batching, "CHUNK_BYTES", 1)  # chunks of one batch: 7 of them
    assert batching.chunk_size((1, 8, 8), 32, 32) == 32
    assert main(run_args(tmp_path / "lazy", tmp_path / "spec.yaml")) == 0
    eager = (tmp_path / "eager" / "out" / "results.csv").read_bytes()
    assert (tmp_path / "lazy" / "out" / "results.csv").read_bytes() == eager


# ---------------------------------------------------------------- imagefolder resize + crop


def test_imagefolder_resizes_the_shorter_side_then_crops_the_centre(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from torchvision import transforms

    monkeypatch.setenv("HARNESS_CACHE", str(tmp_path / "cache"))
    img = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 high: left half red, right half blue
    img[:, :20, 0], img[:, 20:, 2] = 255, 255
    for cls in ("a", "b"):
        (tmp_path / "root" / cls).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(img).save(tmp_path / "root" / cls / f"{i}.png")
    spec = DataSpec("imagefolder", root=str(tmp_path / "root"), image_size=10, crop_size=8)
    ds = load_dataset(spec, 0)
    assert ds.x_test.shape == (2, 3, 8, 8) and ds.x_train.shape == (8, 3, 8, 8)
    x = ds.x_test[0]  # the 20x10 resize keeps columns 6..13: red up to 9, blue from 10
    assert x[:, 0, 0].tolist() == [1.0, 0.0, 0.0] and x[:, 7, 7].tolist() == [0.0, 0.0, 1.0]
    evaluation = transforms.Compose([transforms.Resize(10), transforms.CenterCrop(8)])
    want = np.asarray(evaluation(Image.fromarray(img))).transpose(2, 0, 1)
    assert x.tobytes() == to_float(want).tobytes()


@pytest.mark.parametrize(
    ("dataset", "message"),
    [
        ("{name: imagefolder, crop_size: 224}", r"dataset\.crop_size: needs dataset\.image_size"),
        (
            "{name: imagefolder, image_size: 200, crop_size: 224}",
            r"dataset\.crop_size: expected at most image_size \(200\), got 224",
        ),
        ("{name: imagefolder, image_size: 256, crop_size: 0}", r"dataset\.crop_size"),
    ],
)
def test_crop_size_is_checked_in_one_line(dataset: str, message: str) -> None:
    import yaml

    with pytest.raises(HarnessError, match=message) as exc:
        parse_spec(yaml.safe_load(f"name: t\ndataset: {dataset}\n"))
    assert "\n" not in str(exc.value)


def test_crop_size_on_another_loader_is_refused(tmp_path: Path) -> None:
    from harness.datasets.base import DATASETS, ignored_fields

    spec = DataSpec("cifake", image_size=64, crop_size=56)
    assert "crop_size" in ignored_fields(DATASETS.get("cifake", "dataset.name"), spec)
