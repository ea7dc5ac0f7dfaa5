"""Adding a dataset or a defence is one new file: the extensions in tests/extension/ are used by
name from a spec, listed by `harness list`, and run through the whole cycle; nothing in harness/
names them. (Attacks: tests/test_new_attack.py; report sections: tests/test_report_sections.py.)"""

from __future__ import annotations

import csv
import importlib
import json
import sys
from collections.abc import Iterator

import pytest

from harness.cli import main
from harness.datasets import DATASETS
from harness.defences import DEFENCES

MODULES = ("extension.toy_dataset", "extension.toy_defence")

SPEC = """name: extended
seed: 0
threads: 1
dataset: {name: toy_dark_bright, n_test: 60}
model: {arch: small_cnn, train: {epochs: 2}}
attacks: [fgsm]
eps: [0, 0.1]
defence: {name: toy_gaussian_augment, label: noisy, sigma: 0.2}
evasion: {n_images: 0}
gradcam: {n_images: 0}
"""


@pytest.fixture
def extensions() -> Iterator[None]:
    loaded = [importlib.import_module(m) for m in MODULES]
    yield
    DATASETS.unregister(loaded[0].NAME)
    DEFENCES.unregister(loaded[1].NAME)
    for m in MODULES:
        sys.modules.pop(m, None)


def test_new_dataset_and_defence_are_listed(extensions, capsys) -> None:
    assert main(["list", "datasets"]) == 0
    assert main(["list", "defences"]) == 0
    out = capsys.readouterr().out
    assert "toy_dark_bright" in out and "x (N, 1, 8, 8) in [0, 1]" in out
    assert "Gaussian data augmentation: each training image once clean" in out


def test_new_dataset_and_defence_run_the_whole_cycle(extensions, tmp_path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    out, models = tmp_path / "out", tmp_path / "models"
    assert main(["run", str(spec), "--out", str(out), "--models-dir", str(models)]) == 0
    with (out / "results.csv").open(newline="") as f:
        rows = {
            (r["model"], r["attack"], r["eps"], r["metric"]): float(r["value"])
            for r in csv.DictReader(f)
        }
    for model in ("baseline", "noisy"):  # dark vs bright: trivial for a CNN, clean
        assert rows[(model, "none", "0.0", "clean_accuracy")] >= 0.95
        assert (model, "fgsm", "0.1", "robust_accuracy") in rows
    record = json.loads((out / "run.json").read_text())
    assert record["data"]["class_names"] == ["dark", "bright"]
    noisy = next(m for m in record["models"] if m["role"] == "noisy")
    assert noisy["defence"]["name"] == "toy_gaussian_augment"
    assert noisy["defence"]["params"] == {"sigma": 0.2}


def test_an_unloaded_extension_is_an_unknown_name(tmp_path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC, encoding="utf-8")
    assert main(["validate", str(spec)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "unknown dataset 'toy_dark_bright'" in err
