"""The bad-input catalogue: one row a case, each run in-process through ``harness.cli.main``.

A case builds its inputs in an empty folder (the working directory while it runs), runs one
command and expects: its exit code (2 unless said), one line on stderr that starts with
``error: `` and names the field or file (``expect``), no traceback, and nothing left behind
(the folder holds exactly what the case built, byte for byte).

Each area keeps its rows in its own module (``names.py``, ``weights.py`` ...) as ``CASES``; a new
case is one line there. Helpers below write the usual inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

Setup = Callable[[Path], list[str]]  # builds inputs under the folder, returns the argv


@dataclass(frozen=True)
class Case:
    id: str
    setup: Setup
    expect: str  # a substring of the one-line message: the field or file it names
    code: int = 2


# ---------------------------------------------------------------- input builders

TINY = "dataset: {name: digits, n_test: 60}\nmodel: {arch: small_cnn, train: {epochs: 1}}\n"

# A whole run that takes seconds: one FGSM sweep of a one-epoch model, no extras.
TINY_RUN = """name: tiny
seed: 0
threads: 1
dataset: {name: digits, n_test: 60}
model: {arch: small_cnn, train: {epochs: 1}}
attacks: [fgsm]
eps: [0, 0.1]
defence: null
evasion: {n_images: 0}
gradcam: {n_images: 0}
"""


def run_args(tmp: Path, spec_path: Path, *extra: str) -> list[str]:
    """``harness run SPEC`` with every output inside ``tmp``."""
    return ["run", str(spec_path), "--out", str(tmp / "out"), "--models-dir", str(tmp / "models"),
            *extra]  # fmt: skip


def spec(text: str, *extra: str, command: str = "run", name: str = "spec.yaml") -> Setup:
    """A spec file with ``text`` (str) run with ``extra`` arguments."""

    def setup(tmp: Path) -> list[str]:
        path = tmp / name
        path.write_text(text, encoding="utf-8")
        if command == "validate":
            return ["validate", str(path), *extra]
        return run_args(tmp, path, *extra)

    return setup


def spec_bytes(data: bytes, command: str = "validate") -> Setup:
    """A spec file with raw bytes (binary, another encoding)."""

    def setup(tmp: Path) -> list[str]:
        path = tmp / "spec.yaml"
        path.write_bytes(data)
        return [command, str(path)] if command == "validate" else run_args(tmp, path)

    return setup


def with_files(files: dict[str, bytes | str], text: str, *extra: str) -> Setup:
    """Write ``files`` (relative path -> content) then a spec whose ``{tmp}`` is the folder."""

    def setup(tmp: Path) -> list[str]:
        write_files(tmp, files)
        return spec(text.replace("{tmp}", str(tmp)), *extra)(tmp)

    return setup


def write_files(tmp: Path, files: dict[str, bytes | str]) -> None:
    """Write ``files`` (relative path -> text or bytes) under ``tmp``."""
    for rel, content in files.items():
        path = tmp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)


def custom(build: Callable[[Path], list[str]]) -> Setup:
    """Any other setup: ``build(tmp)`` writes what it needs and returns the argv."""
    return build
