"""Benchmark grids: expansion and cell identity, resumable local runs (including kill -9), the
same numbers as a plain run, the Ray executor, and failing cells retried then reported."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.errors import HarnessError
from harness.grid import run_grid, write_grid_report
from harness.grid.cells import expand
from harness.grid.report import GRID_COLUMNS, grid_rows
from harness.grid.store import CellStore
from harness.report.sections.grid.stats import gain_text as _gain_text
from harness.runner import run
from harness.spec import TrainSpec, parse_spec

REPO = Path(__file__).resolve().parents[1]
FAST_TRAIN = {"epochs": 3, "batch_size": 64, "lr": 0.003}
GRID = {
    "name": "grid_test",
    "threads": 1,
    "dataset": {"name": "digits", "n_test": 120},
    "model": {"arch": "small_cnn", "train": FAST_TRAIN},
    "grid": {"seeds": [0, 1], "models": ["small_cnn", "mlp"]},
    "attacks": ["fgsm", {"name": "pgd", "steps": 5}],
    "eps": [0, 0.1, 0.2],
    "defences": ["jpeg"],
}


def grid_spec(**changes) -> dict:
    return json.loads(json.dumps(GRID)) | changes  # a deep copy


def cells_by_identity(raw: dict) -> dict[tuple, str]:
    return {(c.model, c.seed, c.role, c.attack): c.key for c in expand(parse_spec(raw)).cells}


# ---------------------------------------------------------------- expansion and identity


def test_expansion_counts_units_cells_and_their_dependencies() -> None:
    raw = grid_spec(
        defences=[{"name": "adversarial_training", "label": "at", "eps": 0.1}, "jpeg"],
        attacks=["fgsm", {"name": "transfer", "source": "at", "label": "from_at"}],
    )
    found = expand(parse_spec(raw))
    # 2 models x 2 seeds x 3 roles x 2 attacks, less the transfer onto its own source (4 cells)
    assert len(found.cells) == 2 * 2 * 3 * 2 - 4
    assert len({c.key for c in found.cells}) == len(found.cells)
    # units: a baseline and the adversarially trained model per model and seed; JPEG trains nothing
    assert sorted((u.model, u.seed, u.role) for u in found.units) == sorted(
        (m, s, r) for m in ("small_cnn", "mlp") for s in (0, 1) for r in ("baseline", "at")
    )
    units = {(u.model, u.seed, u.role): u.key for u in found.units}
    for c in found.cells:
        base, at = units[(c.model, c.seed, "baseline")], units[(c.model, c.seed, "at")]
        needs_at = c.role == "at" or c.attack == "from_at"
        assert c.units == ((base, at) if needs_at else (base,)), (c.role, c.attack)
        needed = {c.role, "at" if needs_at else "baseline"} - {"baseline"}
        assert [d.key for d in c.spec.defences] == [k for k in ("at", "jpeg") if k in needed]
    at_unit = next(u for u in found.units if u.role == "at")
    assert at_unit.units == (units[(at_unit.model, at_unit.seed, "baseline")],)


def test_same_cell_same_key_wherever_it_sits() -> None:
    small = cells_by_identity(grid_spec())
    bigger = grid_spec(attacks=[*GRID["attacks"], "square"])
    bigger["grid"] = {"seeds": [2, 0, 1], "models": ["mlp", "small_cnn"]}
    bigger |= {"name": "renamed", "description": "x", "evasion": {"n_images": 3}}
    large = cells_by_identity(bigger)
    assert small.items() <= large.items()  # every cell of the small grid, with the same key
    assert len(large) == len(small) // 2 * 3 * 3 // 2  # 3 seeds, 3 attacks
    moved = cells_by_identity(grid_spec(eps=[0, 0.1, 0.3]))  # the numbers would change
    assert not set(moved.values()) & set(small.values())
    retrained = cells_by_identity(grid_spec(model={"arch": "small_cnn", "train": {"epochs": 4}}))
    assert retrained[("mlp", 0, "jpeg", "fgsm")] != small[("mlp", 0, "jpeg", "fgsm")]


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ({"seeds": [0, 0]}, "grid.seeds: each seed once"),
        ({"seeds": []}, "grid.seeds: expected a non-empty list"),
        ({"models": ["mlp", "mlp"]}, "grid.models[1]: label 'mlp' is taken"),
        ({"models": ["mlp", {"arch": "resnet"}]}, "grid.models[1] (resnet): model.arch"),
        ({"models": [{"arch": "mlp", "label": "a b"}]}, "grid.models[0].label: expected letters"),
        ({"model": ["mlp"]}, "grid.model: unknown field"),
    ],
)
def test_bad_grid_sections_name_their_field(grid: dict, message: str) -> None:
    with pytest.raises(HarnessError) as info:
        expand(parse_spec(grid_spec(grid=grid)))
    assert message in str(info.value) and "\n" not in str(info.value)


def test_a_grid_model_overrides_the_model_section() -> None:
    raw = grid_spec(model={"arch": "small_cnn", "mean": [0.3], "std": [0.2], "train": FAST_TRAIN})
    raw["grid"]["models"] = [{"label": "short", "train": {"epochs": 1}}, "mlp"]
    short, mlp = parse_spec(raw).grid.models
    assert (short.model.arch, short.model.mean, short.model.train.epochs) == (
        "small_cnn",
        (0.3,),
        1,
    )
    # a model that names its own network keeps only the training settings of `model:`
    assert (mlp.model.arch, mlp.model.mean, mlp.model.train) == (
        "mlp",
        None,
        TrainSpec(**FAST_TRAIN),
    )


# ---------------------------------------------------------------- a local grid


@pytest.fixture(scope="module")
def local_grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid")
    spec = parse_spec(grid_spec())
    result = run_grid(spec, root / "out", models_dir=root / "models")
    write_grid_report(result, root / "out")
    return root, spec, result


def test_every_cell_finishes_and_the_csv_has_one_clean_row_per_model(local_grid) -> None:
    root, _spec, result = local_grid
    assert [s.status for s in result.cells] == ["ran"] * 16
    lines = (root / "out" / "results.csv").read_text().splitlines()
    assert tuple(lines[0].split(",")) == GRID_COLUMNS
    rows = grid_rows(result)
    clean = [(r.model, r.seed, r.defence) for r in rows if r.metric == "clean_accuracy"]
    assert len(clean) == len(set(clean)) == 2 * 2 * 2  # models x seeds x (baseline, jpeg)
    worst = {(r.model, r.seed, r.defence) for r in rows if r.attack == "worst_case"}
    assert worst == set(clean)
    for s in result.cells:  # naive twins are measured on the defence in front of the baseline
        naive = {m.attack for m in s.value.rows if m.attack.endswith("_naive")}
        assert naive == ({f"{s.item.attack}_naive"} if s.item.role == "jpeg" else set())
    assert len(list((root / "out" / "cells").glob("*.json"))) == 16


def test_a_cell_gives_the_numbers_of_a_plain_run(local_grid) -> None:
    """Seed 1's small_cnn and its JPEG defence, run the ordinary way: the same measurements."""
    root, spec, result = local_grid
    plain = dataclasses.replace(
        spec, grid=None, seed=1, evasion=dataclasses.replace(spec.evasion, n_images=0)
    )
    plain = dataclasses.replace(plain, gradcam=dataclasses.replace(spec.gradcam, n_images=0))
    single = run(plain, models_dir=root / "models")
    expected = {
        (m.model, m.attack, m.eps, m.metric): m.value
        for m in single.measurements
        if m.metric in ("clean_accuracy", "robust_accuracy", "attack_success_rate", "mean_linf")
    }
    got = {
        ("baseline" if r.defence == "none" else r.defence, r.attack, r.eps, r.metric): r.value
        for r in grid_rows(result)
        if (r.model, r.seed) == ("small_cnn", 1) and (r.metric != "mean_l2")
    }
    assert got == expected


def test_a_rerun_reuses_every_cell_and_writes_the_same_bytes(local_grid) -> None:
    root, spec, _result = local_grid
    before = (root / "out" / "results.csv").read_bytes()
    again = run_grid(spec, root / "out", models_dir=root / "models")
    assert [s.status for s in again.cells] == ["reused"] * 16 and again.units == []
    write_grid_report(again, root / "out")
    assert (root / "out" / "results.csv").read_bytes() == before
    report = (root / "out" / "report.md").read_text()
    assert "16 cell(s) reused from an earlier run" in report
    page = (root / "out" / "report.html").read_text()  # the same report, browser-ready
    assert "16 cell(s) reused from an earlier run" in page and "<table>" in page
    for heading in (
        "## Clean accuracy",
        "## What hardening bought (defence − baseline, paired by seed)",
        "### Robust accuracy",
        "### Attack success rate",
    ):
        assert heading in report
    rows = grid_rows(again)
    clean = {(r.defence, r.seed): r.value for r in rows if r.model == "mlp" and r.attack == "none"}
    gains = [clean[("jpeg", s)] - clean[("none", s)] for s in (0, 1)]
    assert f"| mlp | jpeg | {_gain_text(gains)} |" in report
    assert "same_model_in_every_cell | PASS" in report


def test_gain_text() -> None:
    # mean ± sd (seeds) [95% t-interval of the mean: 15 ± 12.71 * 7.07 / sqrt(2)]
    assert _gain_text([0.1, 0.2]) == "+15.00 pp ± 7.07 (2) [-48.5, +78.5]"
    assert _gain_text([-0.01]) == "-1.00 pp (1)" and _gain_text([]) == "—"


def test_a_larger_grid_only_runs_its_new_cells(local_grid, tmp_path) -> None:
    root, _spec, _ = local_grid
    raw = grid_spec()
    raw["grid"]["seeds"] = [0, 1, 2]
    out = tmp_path / "out"
    (out / "cells").mkdir(parents=True)
    for f in (root / "out" / "cells").glob("*.json"):
        (out / "cells" / f.name).write_bytes(f.read_bytes())
    (out / "cells" / ".abc.json.tmp").write_text("half a write")  # left by a killed run
    (out / "cells" / "0000.json").write_text("{")  # not a cell of this grid: ignored
    bigger = run_grid(parse_spec(raw), out, models_dir=root / "models")
    statuses = {(s.item.seed, s.status) for s in bigger.cells}
    assert statuses == {(0, "reused"), (1, "reused"), (2, "ran")}
    assert not list((out / "cells").glob(".*.tmp"))


def test_an_unreadable_cell_file_runs_again(local_grid, tmp_path) -> None:
    _root, _spec, result = local_grid
    cell = result.cells[0].item
    store = CellStore(tmp_path)
    store.folder.mkdir()
    store.path(cell).write_text('{"format": 1, "key": "other"}')
    assert store.load(cell) is None
    store.save(cell, result.cells[0].value)
    assert store.load(cell) == result.cells[0].value


# ---------------------------------------------------------------- kill -9 and resume


def _cli(spec: Path, out: Path, models: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "harness.cli", "run", str(spec), "--out", str(out),
            "--models-dir", str(models), *extra]  # fmt: skip


def _env() -> dict[str, str]:
    return os.environ | {"PYTHONPATH": str(REPO), "TQDM_DISABLE": "1"}


def _kill_when(cmd: list[str], cells: Path, at_least: int) -> None:
    """Start ``cmd``; SIGKILL it once ``cells`` holds ``at_least`` finished cell files."""
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and proc.poll() is None:
        if len(list(cells.glob("*.json"))) >= at_least:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the grid finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()


@pytest.mark.slow
def test_kill_9_and_rerun_gives_the_uninterrupted_csv(tmp_path) -> None:
    raw = grid_spec()
    raw["grid"]["models"] = ["small_cnn"]  # 2 seeds x (baseline, jpeg) x (fgsm, pgd) = 8 cells
    spec = tmp_path / "grid.yaml"
    spec.write_text(yaml.safe_dump(raw))
    whole = tmp_path / "whole"
    done = subprocess.run(
        _cli(spec, whole, tmp_path / "models-a"), env=_env(), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]

    out, models = tmp_path / "killed", tmp_path / "models-b"
    _kill_when(_cli(spec, out, models), out / "cells", 2)
    _kill_when(_cli(spec, out, models), out / "cells", 5)  # killed again, further on
    finished = len(list((out / "cells").glob("*.json")))
    assert 5 <= finished < 8 and not (out / "results.csv").exists()
    resumed = subprocess.run(_cli(spec, out, models), env=_env(), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert (out / "results.csv").read_bytes() == (whole / "results.csv").read_bytes()
    record = json.loads((out / "run.json").read_text())
    statuses = [c["status"] for c in record["cells"]]
    assert statuses.count("reused") == finished and statuses.count("ran") == 8 - finished
    assert not list((out / "cells").glob(".*.tmp"))


# ---------------------------------------------------------------- failures and Ray

FLAKY = '''\
"""A model whose attack gradients fail the first FAILURES times (counted in COUNTER): the task
raises ERROR, or with CRASH its process dies, as a lost Ray worker would."""
import os
from torch import nn

COUNTER = {counter!r}
FAILURES = {failures}
CRASH = {crash}
ERROR = {error}


class Flaky(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        if x.requires_grad:  # an attack's gradient; training and clean predictions never are
            fd = os.open(COUNTER, os.O_CREAT | os.O_WRONLY | os.O_APPEND)
            os.write(fd, b"x")
            os.close(fd)
            if os.path.getsize(COUNTER) <= FAILURES:
                if CRASH:
                    os._exit(1)
                raise ERROR
        return self.net(x)


def build(input_shape, num_classes):
    c, h, w = input_shape
    return Flaky(nn.Sequential(nn.Flatten(), nn.Linear(c * h * w, 32), nn.ReLU(), nn.Linear(32, num_classes)))
'''


OOM = 'MemoryError("injected out of memory")'  # may not recur: retried
FAULT = 'RuntimeError("injected fault")'  # recurs: reported at once


def failing_grid(tmp_path: Path, crash: bool = False) -> dict:
    """mlp (fine), flaky (its first attack runs out of memory once), broken (every attack
    raises); with ``crash``, lost (the process running its first attack dies)."""
    models = [{"arch": "mlp", "label": "mlp"}]
    faults = [("flaky", 1, False, OOM), ("broken", 10**9, False, FAULT)]
    faults += [("lost", 1, True, FAULT)] * crash
    for label, failures, dies, error in faults:
        path = tmp_path / f"{label}.py"
        counter = str(tmp_path / f"{label}.count")
        path.write_text(FLAKY.format(counter=counter, failures=failures, crash=dies, error=error))
        models.append({"builder": f"{path}:build", "label": label})
    raw = grid_spec(defences=[])
    raw["grid"] = {"seeds": [0], "models": models}
    return raw


def check_failures_reported(result, out: Path, lost: bool = False) -> None:
    by_model: dict[str, list] = {}
    for s in result.cells:
        by_model.setdefault(s.item.model, []).append(s)
    assert [(s.status, s.attempts) for s in by_model["mlp"]] == [("ran", 1), ("ran", 1)]
    flaky = by_model["flaky"]
    assert [s.status for s in flaky] == ["ran", "ran"] and sum(s.attempts for s in flaky) == 3
    broken = by_model["broken"]  # the same error again: tried once, though 2 retries are allowed
    assert [(s.status, s.attempts) for s in broken] == [("failed", 1), ("failed", 1)]
    assert all(s.error == "RuntimeError: injected fault" for s in broken)
    assert (out.parent / "broken.count").read_bytes() == b"xx"  # one attempt per cell
    report = (out / "report.md").read_text()
    assert "## Failed (2 raised, 0 blocked)" in report
    assert "| cell broken, seed 0, baseline, fgsm | 1 | RuntimeError: injected fault |" in report
    models = {r.split(",")[0] for r in (out / "results.csv").read_text().splitlines()[1:]}
    assert models == {"mlp", "flaky"} | ({"lost"} if lost else set())
    if lost:  # the worker died mid-cell: Ray reports it, the cell runs again elsewhere
        lost_cells = by_model["lost"]
        assert [s.status for s in lost_cells] == ["ran", "ran"]
        assert sum(s.attempts for s in lost_cells) == 3


def test_a_failing_cell_is_retried_then_reported_and_the_grid_finishes(tmp_path) -> None:
    raw = failing_grid(tmp_path)
    out = tmp_path / "out"
    result = run_grid(parse_spec(raw), out, models_dir=tmp_path / "models", retries=2)
    write_grid_report(result, out)
    check_failures_reported(result, out)
    # the command line says so, and exits with 1; the rerun keeps the finished cells
    spec = tmp_path / "grid.yaml"
    spec.write_text(yaml.safe_dump(raw))
    assert (
        main(
            [
                "run",
                str(spec),
                "--out",
                str(out),
                "--models-dir",
                str(tmp_path / "models"),
                "--retries",
                "0",
            ]
        )
        == 1
    )
    record = json.loads((out / "run.json").read_text())
    assert {(c["model"], c["status"], c["attempts"]) for c in record["cells"]} == {
        ("mlp", "reused", 0),
        ("flaky", "reused", 0),
        ("broken", "failed", 1),
    }


def test_a_model_that_cannot_be_built_blocks_its_cells_only(tmp_path) -> None:
    raw = grid_spec(defences=["jpeg"])
    raw["grid"] = {
        "seeds": [0],
        "models": ["mlp", {"label": "bad", "weights": str(tmp_path / "none.pt")}],
    }
    out = tmp_path / "out"
    result = run_grid(parse_spec(raw), out, models_dir=tmp_path / "models", retries=1)
    write_grid_report(result, out)
    assert {s.item.model for s in result.cells if s.status == "ran"} == {"mlp"}
    (unit,) = result.failed()
    assert (  # the user's input (a missing file) fails the same way again: not retried
        unit.item.role == "baseline"
        and unit.attempts == 1
        and "none.pt does not exist" in unit.error
    )
    assert {s.item.model for s in result.blocked()} == {"bad"} and len(result.blocked()) == 4
    assert (
        "needs model bad seed 0 baseline, which failed (HarnessError" in result.blocked()[0].error
    )
    assert "## Failed (1 raised, 4 blocked)" in (out / "report.md").read_text()


def ray_or_skip() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail(
                "ray is not installed; CI must run the Ray executor tests (pip install -e '.[ray]')"
            )
        pytest.skip("ray is not installed (pip install -e '.[ray]')")


@pytest.mark.slow
def test_ray_executor_gives_the_local_results(local_grid, tmp_path, monkeypatch) -> None:
    ray_or_skip()
    root, spec, _ = local_grid
    monkeypatch.chdir(tmp_path)  # workers resolve the spec's relative paths from the driver's
    out = tmp_path / "ray"
    result = run_grid(spec, out, executor="ray", num_cpus=2, models_dir=tmp_path / "models")
    write_grid_report(result, out)
    assert result.executor.startswith("ray: a local Ray instance, 2 CPUs")
    assert [s.status for s in result.cells] == ["ran"] * 16
    assert {s.value.pid for s in result.cells} - {os.getpid()}  # computed in Ray workers
    assert (out / "results.csv").read_bytes() == (root / "out" / "results.csv").read_bytes()
    # the weights trained by the workers came back to the driver's cache
    assert len(list((tmp_path / "models" / "digits").glob("*.pt"))) == 4


@pytest.mark.slow
def test_ray_retries_then_reports_a_failing_cell(tmp_path) -> None:
    ray_or_skip()
    raw = failing_grid(tmp_path, crash=True)
    out = tmp_path / "out"
    result = run_grid(
        parse_spec(raw), out, executor="ray", num_cpus=2, models_dir=tmp_path / "models"
    )
    write_grid_report(result, out)
    check_failures_reported(result, out, lost=True)


def test_compare_and_the_app_leave_a_grid_folder_alone(local_grid, tmp_path) -> None:
    from harness import compare
    from harness.app.runs import load_app_run, newest_runs

    root, _, _ = local_grid
    with pytest.raises(HarnessError, match="a benchmark grid's folder, not a single run"):
        compare.load_run(root / "out")
    with pytest.raises(HarnessError, match="a benchmark grid's folder, not a single run"):
        load_app_run(root / "out")
    reports = tmp_path / "reports" / "grid_test"
    reports.mkdir(parents=True)
    (reports / "grid").symlink_to(root / "out")
    assert newest_runs(tmp_path / "reports") == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"retries": -1}, "--retries: expected an integer >= 0"),
        ({"executor": "dask"}, "--executor"),
    ],
)
def test_bad_run_options_are_one_line_errors(tmp_path, options: dict, message: str) -> None:
    with pytest.raises(HarnessError) as info:
        run_grid(parse_spec(grid_spec()), tmp_path, **options)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert not (tmp_path / "cells").exists()


def test_ray_workers_get_the_drivers_data_folder(tmp_path, monkeypatch) -> None:
    from harness.grid.executors import _worker_env

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HARNESS_DATA", raising=False)
    assert _worker_env() == {"TQDM_DISABLE": "1"}
    monkeypatch.setenv("HARNESS_DATA", "sets")  # relative: the driver's, as a relative root is
    assert _worker_env()["HARNESS_DATA"] == str(tmp_path.resolve() / "sets")
