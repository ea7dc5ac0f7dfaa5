"""MNIST and Fashion-MNIST through torchvision's own loaders (28x28 grayscale, 10 classes).

torchvision reads the un-gzipped IDX files in ``ROOT/<Class>/raw/``. When the root holds only
the official ``.gz`` files (e.g. a read-only shared copy), they are gunzipped into
``<cache>/<name>/<Class>/raw/`` and torchvision reads from there; the root is never written.
"""

from __future__ import annotations

import gzip
import json
import logging
import shutil
from pathlib import Path
from typing import Any

import numpy as np

from harness.datasets.base import (
    DATASETS,
    Dataset,
    conventional_eps,
    empty_like,
    reads,
    skips_training,
)
from harness.datasets.lazy import in_memory
from harness.datasets.paths import cache_dir, require_dir, root_path
from harness.errors import HarnessError
from harness.io import atomic_path, write_text
from harness.spec import DataSpec

logger = logging.getLogger(__name__)


def torchvision_dataset(cls_name: str, root: Path, train: bool, download: bool) -> Any:
    """``torchvision.datasets.<cls_name>(root, ...)``; its failures become a ``HarnessError``."""
    from torchvision import datasets  # imported lazily: torchvision is slow to import

    try:
        return getattr(datasets, cls_name)(str(root), train=train, download=download)
    except (RuntimeError, OSError, ValueError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise HarnessError(
            f"dataset.root: {root}: torchvision {cls_name} failed ({reason})"
        ) from None


def _idx_names(cls_name: str) -> list[str]:
    """The un-gzipped IDX file names torchvision expects in ``<Class>/raw/``."""
    from torchvision import datasets

    return [
        Path(name).name.removesuffix(".gz") for name, _md5 in getattr(datasets, cls_name).resources
    ]


def _file_id(path: Path) -> list[Any]:
    st = path.stat()
    return [str(path), st.st_size, st.st_mtime_ns]


def _gunzip(src: Path, dest: Path) -> None:
    try:
        with gzip.open(src, "rb") as fin, atomic_path(dest) as tmp, open(tmp, "wb") as fout:
            shutil.copyfileobj(fin, fout, length=1 << 20)
    except (OSError, EOFError) as exc:
        raise HarnessError(f"{src}: cannot decompress ({exc})") from None


def _gunzip_to_cache(raw: Path, names: list[str], name: str, cls_name: str) -> Path:
    """Gunzip ``raw/*.gz`` into the cache (once per source version); return the new root."""
    root = cache_dir() / name
    dest = root / cls_name / "raw"
    stamp = {n: _file_id(raw / f"{n}.gz") for n in names}
    stamp_file = dest / "source.json"
    try:
        fresh = json.loads(stamp_file.read_text()) == stamp
    except (OSError, ValueError):
        fresh = False
    if not (fresh and all((dest / n).is_file() for n in names)):
        logger.info("gunzipping %s into %s", raw, dest)
        for n in names:
            _gunzip(raw / f"{n}.gz", dest / n)
        write_text(stamp_file, json.dumps(stamp))
    return root


def _idx_root(spec: DataSpec, cls_name: str) -> Path:
    """The root to give torchvision: the user's root, or a cache copy of its .gz files."""
    root = root_path(spec)
    layout = (
        f"torchvision's layout ROOT/{cls_name}/raw/*-ubyte[.gz] (or set dataset.download: true)"
    )
    if spec.download and not root.exists():
        return root  # torchvision downloads into it
    raw, names = require_dir(root, layout) / cls_name / "raw", _idx_names(cls_name)
    if all((raw / n).is_file() for n in names):
        return root
    if all((raw / f"{n}.gz").is_file() for n in names):
        return _gunzip_to_cache(raw, names, spec.name, cls_name)
    if spec.download:
        return root
    raise HarnessError(f"dataset.root: {raw} lacks the {cls_name} IDX files; expected {layout}")


def _load_idx(spec: DataSpec, cls_name: str, train: bool) -> Dataset:
    """Both splits; with ``train`` False the training files are not read (an empty split)."""
    root = _idx_root(spec, cls_name)
    test = torchvision_dataset(cls_name, root, False, spec.download)
    x_te = in_memory(test.data.numpy()[:, None])  # (N, 28, 28) uint8 -> lazy (N, 1, 28, 28)
    x_tr, y_tr = empty_like(x_te), np.zeros(0, np.int64)
    if train:
        tr = torchvision_dataset(cls_name, root, True, spec.download)
        x_tr, y_tr = in_memory(tr.data.numpy()[:, None]), tr.targets.numpy().astype(np.int64)
    y_te = test.targets.numpy().astype(np.int64)
    return Dataset(
        spec.name, tuple(test.classes), x_tr, y_tr, x_te, y_te, source=str(root_path(spec))
    )


@DATASETS.register("mnist")
@conventional_eps(0.3)
@reads("root", "download")
@skips_training
def load_mnist(spec: DataSpec, train: bool = True) -> Dataset:
    """MNIST (LeCun et al.): 60,000 train / 10,000 test digits, x (N, 1, 28, 28)."""
    return _load_idx(spec, "MNIST", train)


@DATASETS.register("fashion_mnist")
@conventional_eps(0.1)
@reads("root", "download")
@skips_training
def load_fashion_mnist(spec: DataSpec, train: bool = True) -> Dataset:
    """Fashion-MNIST (Xiao et al. 2017): 60,000 / 10,000 clothing images, x (N, 1, 28, 28)."""
    return _load_idx(spec, "FashionMNIST", train)
