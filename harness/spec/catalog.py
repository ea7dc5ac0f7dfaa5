"""The benchmark specs that ship with the harness, by name: ``harness run cifake_fgsm``,
``harness list benchmarks``.

In a checkout they are the repository's ``benchmarks/`` (README commands, tests and ``include:``
use that path). A wheel carries the same files as ``harness/benchmarks/`` (``setup.py`` copies
them in at build time), so a checkout and an installed package resolve the same names.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import HarnessError, did_you_mean

PACKAGED = Path(__file__).resolve().parents[1] / "benchmarks"  # an installed wheel
CHECKOUT = Path(__file__).resolve().parents[2] / "benchmarks"  # the repository
SUFFIX = ".yaml"
DEFAULT = "digits_fgsm"  # sklearn's bundled digits: runs anywhere, nothing to download


def benchmarks_dir() -> Path:
    """The folder of the shipped specs: the wheel's copy when installed, else the checkout's."""
    return PACKAGED if PACKAGED.is_dir() else CHECKOUT


def names() -> list[str]:
    """Every shipped benchmark's name (its file name without ``.yaml``), sorted."""
    return sorted(p.stem for p in benchmarks_dir().glob(f"*{SUFFIX}"))


def is_name(text: str) -> bool:
    """Whether a spec argument is a bare name (no folder, no suffix) rather than a path."""
    return bool(text) and Path(text).name == text and not Path(text).suffix


def resolve(spec: str | Path | None) -> Path:
    """The spec file of a command-line argument: the default benchmark when none is given, an
    existing file or anything that looks like a path as it is, else a shipped benchmark's name
    (also when a folder of that name is in the working directory)."""
    if spec is None or str(spec) == "":
        return benchmarks_dir() / f"{DEFAULT}{SUFFIX}"
    path = Path(spec)
    exists, is_dir = os.path.exists(path), os.path.isdir(path)  # False for a name too long
    if not exists and path.suffix == SUFFIX and path.stem in names():
        raise HarnessError(
            f"{spec}: no such file; the shipped benchmark of that name runs from anywhere as "
            f"`harness run {path.stem}`"
        )
    if (exists and not is_dir) or not is_name(str(spec)):
        return path  # a missing path, or a FIFO or device, is reported by the reader
    # a bare name: a folder of that name here (e.g. the last run's --out) does not hide the
    # shipped benchmark, and a folder that is no benchmark is named as a folder
    if is_dir and spec not in names():
        raise HarnessError(
            f"{spec}: a folder, not a spec file; expected a path to a YAML spec or a benchmark "
            f"name{did_you_mean(str(spec), names())}"
        )
    found = benchmarks_dir() / f"{spec}{SUFFIX}"
    if os.path.isfile(found):
        return found
    raise HarnessError(
        f"{spec}: no such spec file or benchmark{did_you_mean(str(spec), names())}; expected a "
        f"path to a YAML spec or a benchmark name: {', '.join(names())}"
    )
