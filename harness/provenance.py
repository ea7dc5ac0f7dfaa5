"""Provenance of a run: library versions, git commit, machine."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import torch

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
)
REPO = Path(__file__).resolve().parent.parent


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    """The repo's commit, with ``+dirty`` when the work tree has changes; "unknown" outside git."""
    try:
        run = lambda *a: subprocess.run(  # noqa: E731
            ["git", "-C", str(REPO), *a], capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        commit = run("rev-parse", "HEAD")
        return commit + ("+dirty" if run("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
