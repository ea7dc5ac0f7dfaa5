"""Every shipped spec validates; seed 000's CIFAKE protocol runs end to end on the real files."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from conftest import requires_shared

from harness.cli import main
from harness.runner import validate
from harness.spec import load_spec

BENCHMARKS = sorted((Path(__file__).parents[1] / "benchmarks").glob("*.yaml"))


@pytest.mark.parametrize("path", BENCHMARKS, ids=lambda p: p.stem)
def test_shipped_specs_validate(path: Path) -> None:
    spec = load_spec(path)
    validate(spec)
    assert spec.name == path.stem


def test_cifake_spec_uses_seed000_epsilons_in_pixel_units() -> None:
    spec = load_spec(Path(__file__).parents[1] / "benchmarks" / "cifake_fgsm.yaml")
    seed000 = [0.0, 0.01, 0.03, 0.05, 0.07, 0.10]  # its [-1, 1] units: one unit = half a pixel unit
    assert spec.eps == pytest.approx([e / 2 for e in seed000])
    (d,) = spec.defences
    assert d.key == "robust" and d.params["eps"] == pytest.approx(0.03 / 2)
    assert (spec.model.arch, d.arch) == ("spatial_baseline_cnn", "robust_cnn")
    assert (spec.model.train.epochs, spec.model.train.batch_size, spec.model.train.lr) == (
        5,
        64,
        1e-3,
    )


@pytest.mark.realdata
@pytest.mark.slow
def test_cifake_cycle_on_real_files(tmp_path, monkeypatch) -> None:
    root = requires_shared("cifake")
    monkeypatch.setattr("harness.runner.MODELS_DIR", tmp_path / "models")
    out = tmp_path / "report"
    args = [
        "run",
        "benchmarks/cifake_fgsm.yaml",
        "--out",
        str(out),
        "--set",
        f"dataset.root={root}",
    ]
    for o in ("dataset.n_train=1500", "dataset.n_test=600", "model.train.epochs=2",
              "evasion.n_images=2", "gradcam.n_images=2"):  # fmt: skip
        args += ["--set", o]
    monkeypatch.chdir(Path(__file__).parents[1])
    assert main(args) == 0
    with (out / "results.csv").open() as f:
        rows = list(csv.DictReader(f))
    clean = {r["model"]: float(r["value"]) for r in rows if r["metric"] == "clean_accuracy"}
    assert clean["baseline"] > 0.7 and clean["robust"] > 0.6  # REAL vs FAKE is learnable fast
    strongest = {r["model"]: float(r["value"]) for r in rows
                 if r["metric"] == "robust_accuracy" and float(r["eps"]) == 0.05}  # fmt: skip
    assert strongest["baseline"] < clean["baseline"]
    report = (out / "report.md").read_text()
    assert "FAKE" in report and "REAL" in report and "robust_cnn" in report
