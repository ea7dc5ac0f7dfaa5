"""The whole Build -> Break -> Improve cycle on the embedded digits set, through the CLI."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from harness.cli import main
from harness.results import CSV_COLUMNS, METRICS

FAST = ["--set", "evasion.n_images=2", "--set", "gradcam.n_images=2"]


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory) -> tuple[Path, Path]:
    """One default run (models cached in a temp dir), reused by the tests below."""
    root = tmp_path_factory.mktemp("cycle")
    out = root / "report"
    mp = pytest.MonkeyPatch()
    mp.setattr("harness.runner.MODELS_DIR", root / "models")
    try:
        assert main(["run", "--out", str(out), *FAST]) == 0
    finally:
        mp.undo()
    return root, out


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_report_folder_is_complete(digits_run) -> None:
    _, out = digits_run
    for name in ("results.csv", "report.md", "run.json", "robustness_curve.png", "gradcam.png"):
        assert (out / name).is_file(), name
    assert (out / "confusion_baseline.png").is_file() and (out / "confusion_robust.png").is_file()


def test_csv_schema_and_content(digits_run) -> None:
    _, out = digits_run
    header = (out / "results.csv").read_text().splitlines()[0]
    assert header == ",".join(CSV_COLUMNS)
    rows = read_rows(out / "results.csv")
    assert {r["model"] for r in rows} == {"baseline", "robust"}
    untargeted = set(METRICS) - {"targeted_success_rate"}
    assert {r["metric"] for r in rows} == untargeted
    eps = sorted({float(r["eps"]) for r in rows if r["attack"] == "fgsm"})
    assert eps == [0.0, 0.05, 0.1, 0.15, 0.2, 0.3]
    for r in rows:
        assert 0.0 <= float(r["value"]) <= (8.0 if r["metric"] == "mean_l2" else 1.0)
    # eps = 0 leaves the model exactly as accurate as clean
    for model in ("baseline", "robust"):
        clean = next(r for r in rows if r["model"] == model and r["metric"] == "clean_accuracy")
        at0 = next(
            r
            for r in rows
            if (r["model"], r["eps"], r["metric"]) == (model, "0.0", "robust_accuracy")
        )
        assert float(at0["value"]) == pytest.approx(float(clean["value"]))


def value(rows, model: str, eps: float, metric: str) -> float:
    return next(
        float(r["value"])
        for r in rows
        if r["model"] == model and r["metric"] == metric and float(r["eps"]) == eps
    )


def test_baseline_is_accurate_and_robust_model_beats_it_mid_sweep(digits_run) -> None:
    _, out = digits_run
    rows = read_rows(out / "results.csv")
    assert value(rows, "baseline", 0.0, "clean_accuracy") > 0.9
    assert (
        value(rows, "robust", 0.15, "robust_accuracy")
        > value(rows, "baseline", 0.15, "robust_accuracy") + 0.1
    )
    # robust accuracy falls (weakly) with eps for FGSM on the baseline
    accs = [value(rows, "baseline", e, "robust_accuracy") for e in (0.05, 0.15, 0.3)]
    assert accs[0] >= accs[1] >= accs[2]


def test_run_json_records_spec_versions_and_timings(digits_run) -> None:
    _, out = digits_run
    run = json.loads((out / "run.json").read_text())
    assert run["spec"]["name"] == "digits_fgsm" and run["seed"] == 0
    prov = run["provenance"]
    assert {"data", "build", "improve", "break", "total"} <= set(prov["timings_seconds"])
    assert prov["versions"]["torch"].startswith("2.14.1")
    assert prov["versions"]["adversarial-robustness-toolbox"] != "not installed"
    assert [m["role"] for m in run["models"]] == ["baseline", "robust"]
    assert len(run["models"][0]["history"]) == 15
    # seed 003's weight analysis: histograms for the initial weights and every epoch, per-layer norms
    analysis = run["models"][0]["weight_analysis"]
    assert [e["epoch"] for e in analysis["epochs"]] == list(range(16))
    assert all(layer["spectral_norm"] > 0 for layer in analysis["layers"])
    # seed 000's attention shift: one row per model and eps > 0, identical inputs would give 1
    rows = run["attention"]
    assert {(r["model"], r["eps"]) for r in rows} == {
        (m, e) for m in ("baseline", "robust") for e in (0.05, 0.1, 0.15, 0.2, 0.3)
    }
    assert all(0.0 <= r["similarity"] <= 1.0 for r in rows)
    assert sorted(p.name for p in out.glob("weights_*.png")) == [
        "weights_baseline.png",
        "weights_robust.png",
    ]
    assert (out / "attention_shift.png").is_file()


def test_rerun_reuses_weights_and_gives_identical_csv(digits_run, monkeypatch) -> None:
    root, out = digits_run
    assert len(list((root / "models" / "digits").glob("*.pt"))) == 2  # the patched cache was used
    monkeypatch.setattr("harness.runner.MODELS_DIR", root / "models")
    again = root / "again"
    assert main(["run", "--out", str(again), *FAST]) == 0
    assert (again / "results.csv").read_bytes() == (out / "results.csv").read_bytes()
    run = json.loads((again / "run.json").read_text())
    assert all(m["training"].startswith("reused") for m in run["models"])
    assert "reused" in (again / "report.md").read_text()


def test_same_spec_and_seed_train_to_the_same_csv(tmp_path, monkeypatch) -> None:
    """Fresh training twice (separate weight caches): byte-identical results.csv."""
    args = [
        "--set",
        "model.train.epochs=2",
        "--set",
        "evasion.n_images=0",
        "--set",
        "gradcam.n_images=0",
    ]
    outs = []
    for name in ("a", "b"):
        monkeypatch.setattr("harness.runner.MODELS_DIR", tmp_path / f"models-{name}")
        out = tmp_path / name
        assert main(["run", "--out", str(out), *args]) == 0
        outs.append((out / "results.csv").read_bytes())
    assert outs[0] == outs[1]
    monkeypatch.setattr("harness.runner.MODELS_DIR", tmp_path / "models-a")
    assert main(["run", "--out", str(tmp_path / "c"), *args, "--set", "seed=1"]) == 0
    assert (tmp_path / "c" / "results.csv").read_bytes() != outs[0]


def test_transfer_worst_case_and_example_grids_in_a_run(digits_run, monkeypatch) -> None:
    root, _ = digits_run
    monkeypatch.setattr("harness.runner.MODELS_DIR", root / "models")
    out = root / "transfer"
    attacks = "attacks=[fgsm, {name: transfer, source: baseline, attack: fgsm}, {name: autoattack, apgd_iter: 5, fab_iter: 5, square_queries: 20}]"
    probes = "probes=[{name: noise, n_images: 200}, {name: minimal, n_samples: 20}]"
    assert main(["run", "--out", str(out), *FAST, "--set", attacks, "--set", probes]) == 0
    rows = read_rows(out / "results.csv")
    assert {r["model"] for r in rows if r["attack"] == "transfer"} == {
        "robust"
    }  # not on its own surrogate
    assert {r["model"] for r in rows if r["attack"] == "worst_case"} == {"baseline", "robust"}
    for eps in (0.05, 0.15, 0.3):
        worst = value(
            [r for r in rows if r["attack"] == "worst_case"], "robust", eps, "robust_accuracy"
        )
        for attack in ("fgsm", "transfer", "autoattack"):
            assert worst <= value(
                [r for r in rows if r["attack"] == attack], "robust", eps, "robust_accuracy"
            )
    assert (out / "examples_baseline_fgsm.png").is_file() and (
        out / "examples_robust_transfer.png"
    ).is_file()
