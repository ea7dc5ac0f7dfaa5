"""Dataset loaders: the contract, stratified subsets, caching, errors, and the real staged data.

Synthetic trees in tmp_path keep the default run fast; ``realdata`` tests read ../shared/data
(skipped when absent) and share each full load through a module-scoped fixture.
"""

from __future__ import annotations

import gzip
import io
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from conftest import requires_shared
from PIL import Image
from sklearn.datasets import load_digits

from harness.datasets import DATASETS, Dataset, folders, load_dataset, train_val_split
from harness.datasets.paths import root_path
from harness.datasets.subset import stratified_indices, stratified_subset
from harness.errors import HarnessError
from harness.spec import DataSpec

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)


# ---------------------------------------------------------------- helpers


def _save(path: Path, rgb: np.ndarray, fmt: str | None = None) -> Path:
    """Write an (H, W, 3) uint8 array as an image file (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, fmt)
    return path


def _noise(seed: int, size: tuple[int, int] = (32, 32)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (*size, 3), dtype=np.uint8)


def _solid(rgb: tuple[int, int, int], size: tuple[int, int] = (10, 20)) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (*size, 3)).copy()


def _cifake_tree(root: Path, n: int = 3) -> Path:
    """A tiny CIFAKE-like tree: ROOT/{train,test}/{REAL,FAKE}/<i>.jpg, 32x32 noise."""
    for k, (split, cls) in enumerate([(s, c) for s in ("train", "test") for c in ("REAL", "FAKE")]):
        for i in range(n):
            _save(root / split / cls / f"{i}.jpg", _noise(100 * k + i))
    return root


def _as_nchw(path: Path) -> np.ndarray:
    """An image file read independently of the loader: (1, C, H, W) float32 in [0, 1]."""
    with Image.open(path) as im:
        arr = np.asarray(im.convert("RGB"), np.float32) / 255.0
    return arr.transpose(2, 0, 1)[None]


def _rows_equal_to(x: np.ndarray, image: np.ndarray) -> np.ndarray:
    """Indices of the samples of x identical to ``image`` (1, C, H, W)."""
    return np.flatnonzero((np.asarray(x) == image).all(axis=(1, 2, 3)))


def _dir_state(root: Path) -> dict[str, tuple[int, tuple[str, ...]]]:
    """Every folder under root with its mtime and entries: adding or removing a file shows."""
    return {
        d: (os.stat(d).st_mtime_ns, tuple(sorted(dirs + files))) for d, dirs, files in os.walk(root)
    }


def _check_contract(ds: Dataset) -> None:
    for x, y in ((ds.x_train, ds.y_train), (ds.x_test, ds.y_test)):
        assert x.dtype == np.float32 and x.ndim == 4 and y.dtype == np.int64
        assert len(x) == len(y)
        if len(x):
            x = x[:]  # a lazy split read whole (float32)
            assert x.dtype == np.float32 and x.min() >= 0.0 and x.max() <= 1.0
            assert y.min() >= 0 and y.max() < ds.num_classes


def _one_line(exc: pytest.ExceptionInfo[HarnessError]) -> str:
    msg = str(exc.value)
    assert "\n" not in msg and msg
    return msg


@pytest.fixture
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("HARNESS_CACHE", str(cache))
    return cache


# ---------------------------------------------------------------- registry


def test_every_loader_is_registered() -> None:
    expected = {"digits", "cifake", "mnist", "fashion_mnist", "cifar10", "imagefolder"}
    assert expected <= set(DATASETS.names())


def test_unknown_dataset_suggests_a_name() -> None:
    with pytest.raises(HarnessError, match=r"dataset.name: .*did you mean 'cifake'"):
        load_dataset(DataSpec(name="cifak"), seed=0)


def test_default_root_is_under_the_working_directorys_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HARNESS_HOME", raising=False)
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # not beside the package: an installed one is in site-packages
    assert root_path(DataSpec(name="cifake")) == tmp_path.resolve() / "data" / "cifake"
    assert root_path(DataSpec(name="cifake", root="rel/dir")) == tmp_path / "rel" / "dir"


# ---------------------------------------------------------------- digits


def test_digits_contract() -> None:
    ds = load_dataset(DataSpec(name="digits"), seed=0)
    _check_contract(ds)
    assert ds.class_names == tuple(str(i) for i in range(10))
    assert ds.x_train.shape == (1438, 1, 8, 8) and ds.x_test.shape == (359, 1, 8, 8)
    assert ds.x_train[:].min() == 0.0 and ds.x_train[:].max() == 1.0
    assert set(ds.y_train) == set(ds.y_test) == set(range(10))


def test_digits_test_split_is_fixed_stratified_and_disjoint() -> None:
    a = load_dataset(DataSpec(name="digits"), seed=0)
    b = load_dataset(DataSpec(name="digits"), seed=123)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    # train + test is exactly sklearn's data: a partition, no sample lost or duplicated
    raw = load_digits()
    rows = lambda x, y: sorted(zip(y.tolist(), (r.tobytes() for r in x), strict=True))  # noqa: E731
    x_all = (raw.images / 16).astype(np.float32)[:, None]
    joined = np.concatenate([a.x_train, a.x_test]), np.concatenate([a.y_train, a.y_test])
    assert rows(*joined) == rows(x_all, raw.target)
    share = np.bincount(a.y_test) / np.bincount(raw.target)
    assert np.all(np.abs(share - 0.2) < 0.01)


# ---------------------------------------------------------------- subsets


def _labels(counts: list[int], seed: int = 0) -> np.ndarray:
    y = np.repeat(np.arange(len(counts)), counts)
    return np.random.default_rng(seed).permutation(y)


def test_stratified_indices_preserve_proportions() -> None:
    y = _labels([500, 300, 200])
    idx = stratified_indices(y, 100, seed=0)
    assert len(idx) == len(np.unique(idx)) == 100
    assert np.all(np.diff(idx) > 0)
    assert np.bincount(y[idx]).tolist() == [50, 30, 20]


def test_stratified_indices_seeded() -> None:
    y = _labels([500, 300, 200])
    np.testing.assert_array_equal(stratified_indices(y, 100, 1), stratified_indices(y, 100, 1))
    assert not np.array_equal(stratified_indices(y, 100, 1), stratified_indices(y, 100, 2))


@pytest.mark.parametrize("n", [None, 60, 1000])
def test_stratified_indices_all_when_n_covers_everything(n: int | None) -> None:
    y = _labels([30, 30])
    np.testing.assert_array_equal(stratified_indices(y, n, 0), np.arange(60))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 10, 52])
def test_stratified_indices_tiny_classes(n: int) -> None:
    y = _labels([50, 1, 2])
    idx = stratified_indices(y, n, seed=0)
    assert len(idx) == len(np.unique(idx)) == n
    assert np.all(np.bincount(y[idx], minlength=3) <= [50, 1, 2])


def test_subsets_and_splits_never_modify_inputs() -> None:
    x = np.random.default_rng(0).random((40, 1, 2, 2), dtype=np.float32)
    y = _labels([20, 12, 8])
    x0, y0 = x.copy(), y.copy()
    x.flags.writeable = y.flags.writeable = False  # any in-place write raises
    stratified_subset(x, y, 10, seed=0)
    train_val_split(x, y, 0.25, seed=0)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)


def test_train_val_split_fraction_zero_gives_empty_val() -> None:
    x, y = np.zeros((10, 1, 8, 8), np.float32), _labels([5, 5])
    x_tr, _, x_val, y_val = train_val_split(x, y, 0.0, seed=0)
    assert x_tr.shape == (10, 1, 8, 8) and x_val.shape == (0, 1, 8, 8) and y_val.shape == (0,)


def test_train_val_split_stratified_and_disjoint() -> None:
    y = _labels([400, 200, 200])
    x = np.arange(800, dtype=np.float32).reshape(800, 1, 1, 1)  # x encodes the sample index
    x_tr, _, x_val, y_val = train_val_split(x, y, 0.25, seed=3)
    assert np.bincount(y_val).tolist() == [100, 50, 50]
    assert sorted(x_tr.ravel().tolist() + x_val.ravel().tolist()) == list(range(800))
    again = train_val_split(x, y, 0.25, seed=3)
    np.testing.assert_array_equal(again[2], x_val)


def test_train_val_split_keeps_the_only_sample_of_a_class_for_training() -> None:
    y = np.array([0] * 9 + [1])
    _, y_tr, _, y_val = train_val_split(np.zeros((10, 1, 1, 1), np.float32), y, 0.5, seed=0)
    assert 1 in y_tr and 1 not in y_val


def test_load_dataset_subsets() -> None:
    spec = DataSpec(name="digits", n_train=100, n_test=50)
    a, b = load_dataset(spec, seed=0), load_dataset(spec, seed=0)
    assert len(a.x_train) == 100 and len(a.x_test) == 50
    assert np.all(np.abs(np.bincount(a.y_train, minlength=10) - 10) <= 1)
    assert np.all(np.abs(np.bincount(a.y_test, minlength=10) - 5) <= 1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.x_test, b.x_test)
    c = load_dataset(spec, seed=1)
    assert not np.array_equal(a.x_train, c.x_train)


# ---------------------------------------------------------------- image folders (synthetic)


def test_cifake_layout_on_a_tiny_tree(tmp_path: Path) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=3)
    ds = load_dataset(DataSpec(name="cifake", root=str(root)), seed=0)
    _check_contract(ds)
    assert ds.class_names == ("FAKE", "REAL")
    assert ds.x_train.shape == ds.x_test.shape == (6, 3, 32, 32)
    assert ds.y_test.tolist() == [0, 0, 0, 1, 1, 1]  # FAKE first, files in name order
    np.testing.assert_array_equal(ds.x_test[3:4], _as_nchw(root / "test" / "REAL" / "0.jpg"))


def test_relative_root_resolves_against_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _cifake_tree(tmp_path / "tree", n=1)
    monkeypatch.chdir(tmp_path)
    ds = load_dataset(DataSpec(name="cifake", root="tree"), seed=0)
    assert ds.source == str(tmp_path / "tree") and len(ds.x_test) == 2


def test_cache_is_written_and_invalidated_by_a_changed_file(
    tmp_path: Path, fresh_cache: Path
) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=2)
    spec = DataSpec(name="cifake", root=str(root))
    first = load_dataset(spec, seed=0)
    assert len(list((fresh_cache / "images").glob("*.npy"))) == 2  # train and test
    changed = _save(root / "test" / "FAKE" / "0.jpg", _solid((255, 255, 255), (32, 32)))
    os.utime(changed, ns=(1, 1))  # a different mtime even on coarse-clock file systems
    second = load_dataset(spec, seed=0)
    assert not np.array_equal(first.x_test[0], second.x_test[0])
    np.testing.assert_array_equal(second.x_test[:1], _as_nchw(changed))
    np.testing.assert_array_equal(first.x_train, second.x_train)


def test_unreadable_cache_file_is_ignored(tmp_path: Path, fresh_cache: Path) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=1)
    spec = DataSpec(name="cifake", root=str(root))
    first = load_dataset(spec, seed=0)
    for f in (fresh_cache / "images").glob("*.npy"):
        f.write_bytes(b"not a zip file")
    np.testing.assert_array_equal(load_dataset(spec, seed=0).x_test, first.x_test)


def test_cached_load_does_not_decode(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=2)
    spec = DataSpec(name="cifake", root=str(root))
    first = load_dataset(spec, seed=0)
    monkeypatch.setattr(folders, "read_image", _fail_decode)
    second = load_dataset(spec, seed=0)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    np.testing.assert_array_equal(first.y_test, second.y_test)


def _fail_decode(*args: object) -> np.ndarray:
    raise AssertionError("decoded an image although the cache should have been used")


def test_imagefolder_classes_resize_and_split(tmp_path: Path) -> None:
    root = tmp_path / "pets"
    for i in range(5):
        _save(root / "b_cat" / f"{i}.png", _solid((0, 0, 255)))  # 20x10 pixels
        _save(root / "a_dog" / f"{i}.jpeg", _solid((255, 0, 0), (7, 9)), "PNG")
    (root / "a_dog" / "notes.txt").write_text("not an image")
    (root / ".thumbnails").mkdir()
    ds = load_dataset(DataSpec(name="imagefolder", root=str(root), image_size=16), seed=0)
    _check_contract(ds)
    assert ds.class_names == ("a_dog", "b_cat")
    assert ds.x_train.shape == (8, 3, 16, 16) and ds.x_test.shape == (2, 3, 16, 16)
    assert np.bincount(ds.y_test).tolist() == [1, 1]  # fixed stratified 80/20
    dog = ds.x_train[ds.y_train == 0]
    assert np.all(dog[:, 0] == 1.0) and np.all(dog[:, 1:] == 0.0)  # red survives the resize


def test_imagefolder_grayscale_and_default_size(tmp_path: Path) -> None:
    root = tmp_path / "imgs"
    for i in range(5):
        _save(root / "red" / f"{i}.png", _solid((255, 0, 0)))
        _save(root / "white" / f"{i}.bmp", _solid((255, 255, 255)))
    ds = load_dataset(DataSpec(name="imagefolder", root=str(root), channels=1), seed=0)
    assert ds.x_train.shape == (8, 1, 32, 32)
    red = ds.x_train[ds.y_train == ds.class_names.index("red")]
    np.testing.assert_allclose(red, 76 / 255)  # ITU-R 601 luma: 0.299 * 255 = 76.2
    assert np.all(ds.x_train[ds.y_train == ds.class_names.index("white")] == 1.0)


def test_imagefolder_uses_train_and_test_subfolders(tmp_path: Path) -> None:
    root = tmp_path / "split"
    for split, n in (("train", 3), ("test", 2)):
        for cls in ("x", "y"):
            for i in range(n):
                _save(root / split / cls / f"{i}.png", _noise(i, (8, 8)))
    ds = load_dataset(DataSpec(name="imagefolder", root=str(root), image_size=8), seed=0)
    assert ds.class_names == ("x", "y")
    assert len(ds.x_train) == 6 and len(ds.x_test) == 4
    np.testing.assert_array_equal(ds.x_test[:1], _as_nchw(root / "test" / "x" / "0.png"))


def test_imagefolder_test_classes_must_match_train(tmp_path: Path) -> None:
    root = tmp_path / "split"
    _save(root / "train" / "x" / "0.png", _noise(0, (8, 8)))
    _save(root / "test" / "x" / "0.png", _noise(1, (8, 8)))
    _save(root / "test" / "z" / "0.png", _noise(2, (8, 8)))
    with pytest.raises(HarnessError) as exc:
        load_dataset(DataSpec(name="imagefolder", root=str(root)), seed=0)
    assert str(root / "test") in _one_line(exc) and "z" in str(exc.value)


def test_cifar10_class_folders_with_train_split(tmp_path: Path) -> None:
    root = tmp_path / "cifar10"
    for split in ("train", "test"):
        for label, cls in enumerate(CIFAR10_CLASSES):
            _save(root / split / cls / f"{label}_{cls}.png", _noise(label))
    ds = load_dataset(DataSpec(name="cifar10", root=str(root)), seed=0)
    assert ds.class_names == CIFAR10_CLASSES
    assert ds.y_train.tolist() == ds.y_test.tolist() == list(range(10))
    assert ds.x_train.shape == (10, 3, 32, 32)


# ---------------------------------------------------------------- torchvision IDX (synthetic)


def _idx_gz(path: Path, magic: int, dims: tuple[int, ...], data: np.ndarray) -> None:
    """Write an IDX file (big-endian header, uint8 payload), gzip-compressed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = struct.pack(f">{1 + len(dims)}I", magic, *dims)
    path.write_bytes(gzip.compress(header + data.astype(np.uint8).tobytes()))


def _tiny_mnist(root: Path, n: int = 6, offset: int = 0) -> Path:
    raw = root / "MNIST" / "raw"
    for split in ("train", "t10k"):
        images = np.full((n, 28, 28), 255, np.uint8)
        _idx_gz(raw / f"{split}-images-idx3-ubyte.gz", 0x803, (n, 28, 28), images)
        labels = (np.arange(n) + offset) % 10
        _idx_gz(raw / f"{split}-labels-idx1-ubyte.gz", 0x801, (n,), labels)
    return root


def test_mnist_gz_only_root_is_gunzipped_into_the_cache(tmp_path: Path, fresh_cache: Path) -> None:
    root = _tiny_mnist(tmp_path / "mnist")
    before = _dir_state(root)
    ds = load_dataset(DataSpec(name="mnist", root=str(root)), seed=0)
    _check_contract(ds)
    assert ds.x_train.shape == (6, 1, 28, 28) and np.all(ds.x_train[:] == 1.0)
    assert ds.y_test.tolist() == [0, 1, 2, 3, 4, 5]
    assert _dir_state(root) == before  # nothing written into the data root
    assert (fresh_cache / "mnist" / "MNIST" / "raw" / "t10k-images-idx3-ubyte").is_file()
    _tiny_mnist(root, offset=1)  # new .gz files: the stale extraction is replaced
    assert load_dataset(DataSpec(name="mnist", root=str(root)), seed=0).y_test[0] == 1


def test_mnist_without_files_explains_the_layout(tmp_path: Path) -> None:
    (tmp_path / "mnist").mkdir()
    with pytest.raises(HarnessError, match="MNIST/raw") as exc:
        load_dataset(DataSpec(name="mnist", root=str(tmp_path / "mnist")), seed=0)
    assert str(tmp_path / "mnist") in _one_line(exc)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("name", ["cifake", "cifar10", "imagefolder", "mnist", "fashion_mnist"])
def test_missing_root(name: str, tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(HarnessError) as exc:
        load_dataset(DataSpec(name=name, root=str(missing)), seed=0)
    msg = _one_line(exc)
    assert msg.startswith(f"dataset.root: {missing} does not exist; expected ")
    assert "give the folder with --set dataset.root=PATH" in msg  # how to point the run at it
    assert "or set HARNESS_DATA to a folder that holds one folder per data set" in msg


def test_missing_root_names_the_cifake_layout(tmp_path: Path) -> None:
    with pytest.raises(HarnessError, match=r"expected the CIFAKE layout ROOT/\{train,test\}"):
        load_dataset(DataSpec(name="cifake", root=str(tmp_path / "nope")), seed=0)


def test_corrupt_image_names_the_file(tmp_path: Path) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=2)
    bad = root / "test" / "REAL" / "1.jpg"
    bad.write_bytes(b"\x00garbage bytes, not a JPEG" * 10)
    with pytest.raises(HarnessError) as exc:
        load_dataset(DataSpec(name="cifake", root=str(root)), seed=0)
    assert _one_line(exc) == f"{bad}: cannot read image (cannot identify image file)"


def test_truncated_image_names_the_file(tmp_path: Path) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=1)
    bad = root / "train" / "FAKE" / "0.jpg"
    buf = io.BytesIO()
    Image.fromarray(_noise(9)).save(buf, "JPEG")
    bad.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(HarnessError) as exc:
        load_dataset(DataSpec(name="cifake", root=str(root)), seed=0)
    assert _one_line(exc).startswith(f"{bad}: cannot read image (")


def test_wrong_image_size_in_a_fixed_size_dataset(tmp_path: Path) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=1)
    bad = _save(root / "test" / "FAKE" / "0.jpg", _noise(0, (30, 32)))
    with pytest.raises(HarnessError) as exc:
        load_dataset(DataSpec(name="cifake", root=str(root)), seed=0)
    assert _one_line(exc) == f"{bad}: expected a 32x32 image, got 32x30 (mode RGB)"


def test_empty_class_folder(tmp_path: Path) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=1)
    empty = root / "train" / "REAL"
    for f in empty.iterdir():
        f.unlink()
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(HarnessError) as exc:
        load_dataset(DataSpec(name="cifake", root=str(root)), seed=0)
    assert _one_line(exc).startswith(f"dataset.root: {empty} has no images")


@pytest.mark.parametrize("missing", ["train", "test/FAKE"])
def test_missing_split_or_class(tmp_path: Path, missing: str) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=1)
    for f in sorted((root / missing).rglob("*"), reverse=True):
        f.rmdir() if f.is_dir() else f.unlink()
    (root / missing).rmdir()
    with pytest.raises(HarnessError) as exc:
        load_dataset(DataSpec(name="cifake", root=str(root)), seed=0)
    assert _one_line(exc).startswith(f"dataset.root: {root / missing} does not exist")


def test_unexpected_class_folder(tmp_path: Path) -> None:
    root = _cifake_tree(tmp_path / "cifake", n=1)
    _save(root / "test" / "MAYBE" / "0.jpg", _noise(0))
    with pytest.raises(HarnessError, match="unexpected class folder") as exc:
        load_dataset(DataSpec(name="cifake", root=str(root)), seed=0)
    assert "MAYBE" in _one_line(exc)


# ---------------------------------------------------------------- real data (../shared/data)


@pytest.fixture(scope="module")
def cifake_real() -> tuple[Path, Dataset, dict]:
    root = requires_shared("cifake")
    before = _dir_state(root)
    return root, load_dataset(DataSpec(name="cifake", root=str(root)), seed=0), before


@pytest.mark.realdata
def test_cifake_real_counts_and_shapes(cifake_real: tuple[Path, Dataset, dict]) -> None:
    root, ds, before = cifake_real
    _check_contract(ds)
    assert ds.class_names == ("FAKE", "REAL")
    assert ds.x_train.shape == (10000, 3, 32, 32) and ds.x_test.shape == (20000, 3, 32, 32)
    assert np.bincount(ds.y_train).tolist() == [5000, 5000]
    assert np.bincount(ds.y_test).tolist() == [10000, 10000]
    assert _dir_state(root) == before  # nothing written into the shared data


@pytest.mark.realdata
@pytest.mark.parametrize(("folder", "label"), [("FAKE", 0), ("REAL", 1)])
def test_cifake_real_label_mapping(
    cifake_real: tuple[Path, Dataset, dict], folder: str, label: int
) -> None:
    root, ds, _ = cifake_real
    known = sorted((root / "test" / folder).glob("*.jpg"))[0]
    matches = _rows_equal_to(ds.x_test, _as_nchw(known))
    assert len(matches) >= 1  # test/FAKE holds a few byte-identical duplicates
    assert set(ds.y_test[matches].tolist()) == {label}


@pytest.mark.realdata
def test_cifake_real_cache_hit_is_identical(
    cifake_real: tuple[Path, Dataset, dict], monkeypatch: pytest.MonkeyPatch
) -> None:
    root, ds, _ = cifake_real
    monkeypatch.setattr(folders, "read_image", _fail_decode)
    again = load_dataset(DataSpec(name="cifake", root=str(root)), seed=0)
    np.testing.assert_array_equal(again.x_train, ds.x_train)
    np.testing.assert_array_equal(again.x_test, ds.x_test)
    np.testing.assert_array_equal(again.y_test, ds.y_test)


@pytest.fixture(
    scope="module",
    params=[
        ("mnist", "MNIST", [5, 0, 4, 1, 9]),
        ("fashion_mnist", "FashionMNIST", [9, 0, 0, 3, 0]),
    ],
    ids=["mnist", "fashion_mnist"],
)
def idx_real(request: pytest.FixtureRequest, _isolated_cache: Path) -> tuple:
    name, cls_name, first_labels = request.param
    root = requires_shared(name)
    before = _dir_state(root)
    ds = load_dataset(DataSpec(name=name, root=str(root)), seed=0)
    return root, ds, before, cls_name, first_labels, _isolated_cache


@pytest.mark.realdata
def test_idx_real(idx_real: tuple) -> None:
    root, ds, before, cls_name, first_labels, cache = idx_real
    _check_contract(ds)
    assert ds.x_train.shape == (60000, 1, 28, 28) and ds.x_test.shape == (10000, 1, 28, 28)
    assert set(ds.y_train) == set(ds.y_test) == set(range(10)) and ds.num_classes == 10
    assert ds.y_train[:5].tolist() == first_labels  # the official label order
    assert _dir_state(root) == before  # gunzipped into the cache, not into the shared folder
    assert (cache / ds.name / cls_name / "raw" / "train-images-idx3-ubyte").is_file()


@pytest.fixture(scope="module")
def cifar10_real() -> tuple[Path, Dataset]:
    root = requires_shared("cifar10")
    return root, load_dataset(DataSpec(name="cifar10", root=str(root)), seed=0)


@pytest.mark.realdata
def test_cifar10_real_class_folders(cifar10_real: tuple[Path, Dataset]) -> None:
    _, ds = cifar10_real
    _check_contract(ds)
    assert ds.class_names == CIFAR10_CLASSES
    assert ds.x_test.shape == (10000, 3, 32, 32)
    assert np.bincount(ds.y_test).tolist() == [1000] * 10
    # the staged train split: the first 2,000 images of each class (PROVENANCE.md)
    assert ds.x_train.shape == (20000, 3, 32, 32) and ds.y_train.shape == (20000,)
    assert np.bincount(ds.y_train).tolist() == [2000] * 10
    # known CIFAR-10 test-set channel means (PROVENANCE.md): a lossless, complete copy
    np.testing.assert_allclose(
        ds.x_test[:].mean(axis=(0, 2, 3)), [0.4942, 0.4851, 0.4504], atol=1e-4
    )


@pytest.mark.realdata
def test_cifar10_real_label_of_a_cat(cifar10_real: tuple[Path, Dataset]) -> None:
    root, ds = cifar10_real
    matches = _rows_equal_to(ds.x_test, _as_nchw(root / "test" / "cat" / "0_cat.png"))
    assert ds.y_test[matches].tolist() == [3]


def test_train_from_test_carves_a_disjoint_fixed_training_set() -> None:
    from harness.datasets import load_dataset
    from harness.spec import DataSpec

    full = load_dataset(DataSpec("digits"), seed=0)
    a = load_dataset(DataSpec("digits", train_from_test=100), seed=0)
    b = load_dataset(DataSpec("digits", train_from_test=100), seed=7)
    assert len(a.x_train) == 100 and len(a.x_test) == len(full.x_test) - 100
    np.testing.assert_array_equal(a.x_train, b.x_train)  # fixed whatever the run seed
    rows = {r.tobytes() for r in full.x_test[:].reshape(len(full.x_test), -1)}
    carved = [r.tobytes() for r in a.x_train[:].reshape(100, -1)] + [
        r.tobytes() for r in a.x_test[:].reshape(len(a.x_test), -1)
    ]
    assert set(carved) <= rows and len(a.x_train) + len(a.x_test) == len(full.x_test)
    assert np.bincount(a.y_train).min() >= 9  # stratified: about 10 per class
    with pytest.raises(HarnessError, match="train_from_test"):
        load_dataset(DataSpec("digits", train_from_test=10_000), seed=0)
