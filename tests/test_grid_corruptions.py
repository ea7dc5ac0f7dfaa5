"""A grid with ``corruptions:``: one corruption cell per model, its rows in results.csv after the
attacks', the same numbers as a plain run, and the grid report's section (issue 17)."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest

from harness.grid import run_grid, write_grid_report
from harness.grid.cells import CORRUPTIONS_CELL, expand
from harness.runner import run
from harness.spec import parse_spec

if importlib.util.find_spec("imagecorruptions") is None:  # the optional extra "corruptions"
    pytest.skip("imagecorruptions is not installed", allow_module_level=True)

GRID = {
    "name": "grid_corruptions",
    "threads": 1,
    "dataset": {"name": "digits", "n_test": 90},
    "model": {"arch": "small_cnn", "train": {"epochs": 2, "batch_size": 64, "lr": 0.003}},
    "grid": {"seeds": [0, 1]},
    "attacks": ["fgsm"],
    "eps": [0, 0.1],
    "defences": ["jpeg"],
    "corruptions": {"names": ["gaussian_noise", "fog"], "severities": [1, 5], "n_images": 30},
}


@pytest.fixture(scope="module")
def grid(tmp_path_factory):
    root = tmp_path_factory.mktemp("grid-corrupt")
    spec = parse_spec(GRID)
    result = run_grid(spec, root / "out", models_dir=root / "models")
    write_grid_report(result, root / "out")
    return root, spec, result


def test_one_corruption_cell_per_model_and_only_it_corrupts() -> None:
    cells = expand(parse_spec(GRID)).cells
    corrupting = [c for c in cells if c.attack == CORRUPTIONS_CELL]
    assert len(cells) == 8 and len(corrupting) == 4  # 2 seeds x (baseline, jpeg) x (fgsm, corr.)
    assert all(c.spec.corruptions is not None and not c.spec.attacks for c in corrupting)
    assert all(c.spec.corruptions is None for c in cells if c.attack != CORRUPTIONS_CELL)
    # attack cells keep the keys of the same grid without corruptions
    plain = {c.key for c in expand(parse_spec({**GRID, "corruptions": None})).cells}
    assert {c.key for c in cells if c.attack != CORRUPTIONS_CELL} == plain


def test_results_csv_puts_corruption_rows_after_the_attacks(grid) -> None:
    root, _spec, result = grid
    assert [s.status for s in result.cells] == ["ran"] * 8
    lines = (root / "out" / "results.csv").read_text().splitlines()[1:]
    corr = [line for line in lines if ",corruption:" in line]
    assert len(corr) == 2 * 2 * 4 and lines[-len(corr) :] == corr
    assert corr[0].startswith("small_cnn,none,0,corruption:gaussian_noise,1.0,corruption_accuracy,")


def test_a_corruption_cell_gives_the_numbers_of_a_plain_run(grid) -> None:
    root, spec, _result = grid
    plain = dataclasses.replace(spec, grid=None, seed=1)
    plain = dataclasses.replace(plain, evasion=dataclasses.replace(spec.evasion, n_images=0))
    plain = dataclasses.replace(plain, gradcam=dataclasses.replace(spec.gradcam, n_images=0))
    single = run(plain, models_dir=root / "models")
    expected = {("none" if c.model == "baseline" else c.model, c.corruption, c.severity): c.accuracy
                for c in single.corruptions}  # fmt: skip
    got = {}
    for line in (root / "out" / "results.csv").read_text().splitlines()[1:]:
        _model, defence, seed, attack, eps, _metric, value = line.split(",")
        if attack.startswith("corruption:") and seed == "1":
            got[(defence, attack.removeprefix("corruption:"), int(float(eps)))] = float(value)
    assert got == expected


def test_the_grid_report_has_the_section_and_the_attack_tables_do_not(grid) -> None:
    root, *_ = grid
    md = (root / "out" / "report.md").read_text()
    section = md.split("## Common corruptions", 1)[1].split("\n## ", 1)[0]
    baseline = next(
        line for line in section.splitlines() if line.startswith("| small_cnn | none |")
    )
    assert baseline.rstrip(" |").endswith("100.0 ± 0.0 (2)")  # mCE of the baseline vs itself
    jpeg = next(line for line in section.splitlines() if line.startswith("| small_cnn | jpeg |"))
    assert " pp " in jpeg  # the change vs baseline, paired by seed
    assert "| model | defence | noise | weather |" in section
    assert "corruption:" not in md.split("## Common corruptions", 1)[0]
