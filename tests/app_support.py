"""Shared by tests/test_app.py and tests/test_app_browser.py: one tiny CIFAKE run per session.

The run trains seed 000's CIFAKE baseline and an adversarially trained robust_cnn for a few
epochs on 200 real CIFAKE images (100 per class) from ../shared/data, tested on 80; ~10 s.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import requires_shared

from harness.cli import main

PER_CLASS = {"train": 100, "test": 40}
SPEC = """\
version: 1
name: app_cifake
seed: 0
threads: 1
dataset: {name: cifake, root: ROOT, val_fraction: 0.1}
model:
  arch: spatial_baseline_cnn
  train: {epochs: 3, batch_size: 32, lr: 0.001}
attacks: [fgsm]
eps: [0, 0.01, 0.03, 0.1]
defence:
  name: adversarial_training
  arch: robust_cnn
  train: {epochs: 2, batch_size: 32, lr: 0.001}
evasion: {n_images: 2, eps_max: 0.1, eps_step: 0.01}
gradcam: {n_images: 2, eps: 0.03}
"""


def cifake_image() -> Path:
    """A real CIFAKE test image (not one of the run's own files)."""
    folder = requires_shared("cifake") / "test" / "REAL"
    return sorted(folder.iterdir())[500]


def cifake_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The run folder, built on the first call of the session and reused after."""
    base = tmp_path_factory.getbasetemp() / "app-cifake"
    out = base / "run"
    if (out / "run.json").is_file():
        return out
    source = requires_shared("cifake")
    root = base / "cifake"
    for split, n in PER_CLASS.items():
        for cls in ("FAKE", "REAL"):
            (root / split / cls).mkdir(parents=True, exist_ok=True)
            for f in sorted((source / split / cls).iterdir())[:n]:
                shutil.copy(f, root / split / cls / f.name)
    spec = base / "app_cifake.yaml"
    spec.write_text(SPEC.replace("ROOT", str(root)), encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("harness.runner.MODELS_DIR", base / "models")
        assert main(["run", str(spec), "--out", str(out)]) == 0
    return out
