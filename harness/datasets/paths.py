"""Where dataset files live: a spec's ``dataset.root``, else ``$HARNESS_DATA/<name>``, else
``<home>/data/<name>`` (``harness.home``: the working directory or ``$HARNESS_HOME``); and the
decoded-array cache."""

from __future__ import annotations

import os
from pathlib import Path

from harness import home
from harness.errors import HarnessError
from harness.spec import DataSpec

CACHE_ENV = "HARNESS_CACHE"  # overrides the cache folder (default <home>/data/.cache)
DATA_ENV = "HARNESS_DATA"  # a folder of data sets, one per name: $HARNESS_DATA/<dataset>


def cache_dir() -> Path:
    """The cache folder, read from the environment at call time (tests redirect it)."""
    env = os.environ.get(CACHE_ENV)
    return Path(env).expanduser().resolve() if env else home.data_dir() / ".cache"


def data_root() -> Path:
    """The folder of data sets a spec without ``dataset.root`` reads: ``$HARNESS_DATA`` when
    set (read at call time), else ``<home>/data``."""
    env = os.environ.get(DATA_ENV)
    return Path(env).expanduser().resolve() if env else home.data_dir()


def root_path(spec: DataSpec) -> Path:
    """``spec.root`` (relative to the working directory) or ``<data_root()>/<name>``."""
    root = Path(spec.root).expanduser() if spec.root else data_root() / spec.name
    return root.resolve()


def require_dir(path: Path, expected: str) -> Path:
    """Return ``path`` if it is a folder, else raise a one-line error naming it."""
    if not path.is_dir():
        what = "is not a folder" if path.exists() else "does not exist"
        raise HarnessError(f"dataset.root: {path} {what}; expected {expected}{WHERE}")
    return path


# how to point a run at its data (a relative root is read from the working folder)
WHERE = (
    "; give the folder with --set dataset.root=PATH, or set HARNESS_DATA to a folder that holds "
    "one folder per data set (the documentation's Data page, docs/data.md, says where each "
    "data set comes from)"
)


def dataset_root(spec: DataSpec, expected: str) -> Path:
    """The dataset's root folder, which must exist."""
    return require_dir(root_path(spec), expected)
