"""Provenance of a run: library versions, git commit, machine, and where the time went.

``Timer`` adds up wall-clock seconds per phase (data, build, improve, break, explain) and keeps
one ``Timing`` per timed part of a phase (each attack per model, each extra: see
``harness.results.timings``). Code deep in a phase times itself with ``timed(...)``, which
records into the timer made current by ``Timer.current()`` (a no-op outside a run), so the
timer is not threaded through every call.
"""

from __future__ import annotations

import contextvars
import importlib.metadata
import os
import platform
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import reproducibility
from harness.results.timings import Timing

if TYPE_CHECKING:
    from harness.spec import Spec

PACKAGES = (
    "robustness-harness",
    "adversarial-robustness-toolbox",
    "torch",
    "torchvision",
    "numpy",
    "scikit-learn",
    "pandas",
    "matplotlib",
    "grad-cam",
    "PyYAML",
    "ray",
    "Jinja2",
    "markdown-it-py",
    "weightwatcher",
    "scipy",
    "pillow",
    "safetensors",
    "timm",  # the optional extras: zoo models, the reference AutoAttack, corruptions
    "robustbench",
    "pyautoattack",
    "imagecorruptions",
)
REPO = Path(__file__).resolve().parent.parent  # a checkout's root; for git only, never written to


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    """The repo's commit, with ``+dirty`` when the work tree has changes; "unknown" outside git.
    An installed package is not a checkout: git would report whatever repository encloses the
    environment's site-packages, so only a folder with its own ``.git`` is asked."""
    if not (REPO / ".git").exists():
        return "unknown"
    try:
        run = lambda *a: subprocess.run(  # noqa: E731
            ["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        commit = run("rev-parse", "HEAD")
        return commit + ("+dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine(mode: str = "standard") -> dict[str, Any]:
    """The machine, and the CPU and kernel libraries its bytes depend on (``hardware``)."""
    import torch  # here, not above: timing a stage (``timed``) needs no torch

    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "hardware": reproducibility.hardware(mode),
    }


def record(spec: Spec, started: float, seed: int | None = None) -> dict[str, Any]:
    """Where a run (or a grid) came from: its spec, the code, the libraries, the machine, and
    when it started (``started``: ``time.time()``); ``seed`` is recorded when given."""
    from harness import device

    out: dict[str, Any] = {"spec_hash": spec.digest(), "spec_file": spec.source}
    if spec.includes:  # the files the spec starts from (``include:``), in reading order
        out["spec_includes"] = list(spec.includes)
    if seed is not None:
        out["seed"] = seed
    return out | {
        "git_commit": git_commit(),
        "versions": versions(),
        "machine": machine(spec.reproducible),
        "reproducibility": {
            "mode": spec.reproducible,
            "statement": reproducibility.STATEMENT[spec.reproducible],
        },
        "device": device.describe(device.resolve(spec.device), spec.amp),
        "started_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
    }


_CURRENT: contextvars.ContextVar[Timer | None] = contextvars.ContextVar("timer", default=None)


class Timer:
    """Wall-clock seconds per named phase of a run (a phase entered twice adds up), and one
    ``Timing`` per timed part (``parts``, in the order they finished)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.parts: list[Timing] = []

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - start, 3)

    @contextmanager
    def part(
        self, part: str, model: str, samples: int | None = None, name: str = ""
    ) -> Iterator[None]:
        """Time one part of a phase (``harness.results.timings.PARTS``) for model ``model``; a
        part entered twice for the same model (and name) adds up, in one ``Timing``."""
        start, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            spent = time.perf_counter() - start
            self._add(Timing(part, model, spent, samples, name, time.process_time() - cpu))

    def _add(self, t: Timing) -> None:
        same = (t.part, t.model, t.name)
        i = next((i for i, p in enumerate(self.parts) if (p.part, p.model, p.name) == same), None)
        if i is None:
            self.parts.append(t.rounded())
            return
        self.parts[i] = self.parts[i].plus(t)

    @contextmanager
    def current(self) -> Iterator[Timer]:
        """Make this the timer ``timed`` records into, inside the block."""
        token = _CURRENT.set(self)
        try:
            yield self
        finally:
            _CURRENT.reset(token)

    def record(self, total: float) -> dict[str, Any]:
        """run.json's ``timings_seconds``: phase totals, the run's ``total`` seconds, then the
        timed parts."""
        parts = [t.to_dict() for t in self.parts]
        return dict(self.seconds) | {"total": round(total, 3), "parts": parts}


@contextmanager
def timed(part: str, model: str, samples: int | None = None, name: str = "") -> Iterator[None]:
    """``Timer.part`` of the current timer (``Timer.current``); outside a run, nothing is timed."""
    timer = _CURRENT.get()
    if timer is None:
        yield
        return
    with timer.part(part, model, samples, name):
        yield
