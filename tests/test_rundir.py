"""The run folder (harness.results.rundir): one writer, one reader, shared by compare and the app."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.app.runs import load_app_run
from harness.compare import load_run
from harness.errors import HarnessError
from harness.outputs import MARKER
from harness.results import (
    AttackRecord,
    ClassStats,
    DataSummary,
    DefenceRecord,
    Measurement,
    ModelResult,
    RunResult,
    rundir,
)

HEAVY = ("torch", "torchvision", "art", "sklearn")


def _result() -> RunResult:
    model = ModelResult(
        role="baseline",
        arch="small_cnn",
        n_params=10,
        clean_accuracy=0.75,
        per_class=[ClassStats("a", 1.0, 0.5, 0.667, 2), ClassStats("b", 0.667, 1.0, 0.8, 2)],
        confusion=[[1, 1], [0, 2]],
        weights="models/x.pt",
    )
    measurements = [
        Measurement("baseline", "none", 0.0, "clean_accuracy", 0.75),
        Measurement("baseline", "fgsm", 0.1, "robust_accuracy", 0.1 + 0.2),  # 0.30000000000000004
    ]
    attacks = [AttackRecord(name="fgsm", attack="fgsm", norm="linf", params={}, sweep="one_step")]
    spec = {"name": "t", "version": 1, "seed": 0, "eps": [0.1]}
    data = DataSummary("digits", class_names=["a", "b"], input_shape=[1, 8, 8])
    return RunResult("t", spec, 0, data, [model], measurements, attacks)


@pytest.fixture
def folder(tmp_path) -> Path:
    notes = {"notes.md": rundir.text_writer(lambda: "hello\n")}
    return rundir.write_run(_result(), tmp_path / "run", notes)


def test_write_run_lists_every_file_it_wrote(folder) -> None:
    record = json.loads((folder / rundir.RUN_JSON).read_text())
    written = sorted(p.name for p in folder.iterdir())
    assert record[MARKER] == {"kind": "run", "files": written}
    assert written == ["notes.md", "results.csv", "run.json"]
    assert (folder / "notes.md").read_bytes() == b"hello\n"


def test_attack_records_round_trip_typed_and_keep_old_run_json(folder) -> None:
    record = json.loads((folder / rundir.RUN_JSON).read_text())["attacks"][0]
    assert record == {
        "name": "fgsm",
        "attack": "fgsm",
        "norm": "linf",
        "params": {},
        "sweep": "one_step",
    }
    (attack,) = rundir.read_run(folder).result.attacks
    assert attack == _result().attacks[0] and not attack.targeted
    early = AttackRecord.from_dict({"name": "pgd", "norm": "l2", "params": {"targeted": True}})
    assert (early.attack, early.sweep, early.targeted) == ("pgd", "", True)
    twin = AttackRecord("pgd_naive", "transfer", naive_of="pgd")
    assert AttackRecord.from_dict(twin.to_dict()) == twin


def test_defence_and_data_records_keep_run_json_flat_and_read_older_forms() -> None:
    defence = DefenceRecord("trades", "robust", "small_cnn", {"beta": 6.0}, {"epochs": 2})
    assert defence.to_dict() == {
        "name": "trades",
        "label": "robust",
        "arch": "small_cnn",
        "params": {"beta": 6.0},
        "train": {"epochs": 2},
    }
    assert DefenceRecord.from_dict(defence.to_dict()) == defence
    assert "train" not in DefenceRecord("jpeg", "jpeg", None).to_dict()
    assert DefenceRecord.from_dict({}) is None  # an undefended model in older runs
    data = {"name": "toy", "class_names": ["a"], "n_test": 3, "augmented_by": "a plugin"}
    summary = DataSummary.from_dict(data)
    assert (summary.n_test, summary.extra) == (3, {"augmented_by": "a plugin"})
    assert summary.to_dict() == DataSummary().to_dict() | data  # extra keys written back flat


def test_read_run_round_trips_exact_floats(folder) -> None:
    run = rundir.read_run(folder)
    assert run.result.measurements == _result().measurements
    assert run.result.measurements[1].value == 0.30000000000000004
    assert run.gradcam is None and run.gradcam_note == "no gradcam.npz"
    assert run.result.name == "t"


def test_reading_and_reporting_a_run_need_neither_torch_nor_art(folder) -> None:
    """compare, the report engine and the app's run reader import no torch, ART or sklearn."""
    code = (
        "import sys; import harness.compare, harness.report, harness.app.runs; "
        "from harness.results import rundir; "
        f"run = rundir.read_run({str(folder)!r}); "
        f"print(run.result.models[0].clean_accuracy, sorted(m for m in sys.modules "
        f"if m.split('.')[0] in {HEAVY!r}))"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=True
    ).stdout
    assert out.split(maxsplit=1) == ["0.75", "[]\n"]


def test_is_run_folder(folder, tmp_path) -> None:
    grid = tmp_path / "grid"
    grid.mkdir()
    (grid / rundir.RUN_JSON).write_text(json.dumps({"kind": rundir.GRID_KIND}))
    unreadable = tmp_path / "broken"
    unreadable.mkdir()
    (unreadable / rundir.RUN_JSON).write_text("{not json")
    assert rundir.is_run_folder(folder)
    assert not rundir.is_run_folder(grid)
    assert not rundir.is_run_folder(tmp_path)  # no run.json
    assert rundir.is_run_folder(unreadable)  # chosen, it says why it cannot be read


@pytest.mark.parametrize("damage", ["results.csv", "run.json", "garbage", "grid", "list"])
def test_compare_and_the_app_refuse_a_broken_folder_alike(folder, damage) -> None:
    path = folder / "run.json"
    if damage == "garbage":
        path.write_text("{not json")
    elif damage == "grid":
        path.write_text(json.dumps({"kind": "grid"}))
    elif damage == "list":
        path.write_text("[]")
    else:
        (folder / damage).unlink()
    messages = []
    for read in (load_run, load_app_run):
        with pytest.raises(HarnessError) as exc:
            read(folder)
        messages.append(str(exc.value))
    assert messages[0] == messages[1]
    assert messages[0].startswith(f"{folder}: ")
    assert "\n" not in messages[0]


def test_an_empty_results_csv_is_refused(folder) -> None:
    (folder / "results.csv").write_text(",".join(rundir.CSV_COLUMNS) + "\n")
    with pytest.raises(HarnessError, match=r"results\.csv has no measurements"):
        rundir.read_run(folder)
