"""``harness compare``: real run folders (embedded digits, 2 epochs) read back and compared."""

from __future__ import annotations

import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness import compare
from harness.cli import main
from harness.results import Measurement, rundir


@pytest.fixture(scope="module")
def runs(digits_runs) -> list[Path]:
    """Two default digits runs (seeds 0 and 1; conftest)."""
    return digits_runs


@pytest.fixture(scope="module")
def compared(runs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cmp-out") / "cmp"
    assert main(["compare", *map(str, runs), "--out", str(out)]) == 0
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_report_writes_gradcam_npz_that_loads(runs) -> None:
    for run in runs:
        with np.load(run / "gradcam.npz", allow_pickle=False) as arrays:
            panel = rundir.gradcam_from_arrays(arrays)
        assert list(panel.cams_clean) == ["baseline", "robust"]
        assert len(panel.indices) == 2 and panel.clean.shape == (2, 1, 8, 8)
        assert panel.cams_adv["robust"].shape == (2, 8, 8)
        assert len(panel.preds_adv["baseline"]) == 2 and panel.attack == "fgsm"


def test_compare_writes_every_file(compared) -> None:
    names = {p.name for p in compared.iterdir()}
    assert names == {
        "leaderboard.csv",
        "compare.md",
        "compare.html",
        "comparison.json",  # the mark: the files above are this comparison's (--overwrite)
        "curves.png",
        "confusion.png",
        "gradcam.png",
    }
    for png in compared.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in compared.parent.iterdir()] == ["cmp"]  # no temp folder left


def test_leaderboard_reads_clean_accuracy_from_results_csv(runs, compared) -> None:
    rows = _rows(compared / "leaderboard.csv")
    assert len(rows) == 4
    assert {r["entry"] for r in rows} == {
        f"digits_fgsm[seed{s}]/{role}" for s in (0, 1) for role in ("baseline", "robust")
    }
    for row in rows:
        run = Path(row["folder"])
        clean = next(
            m.value
            for m in rundir.read_csv(run / "results.csv")
            if (m.model, m.metric) == (row["role"], "clean_accuracy")
        )
        assert float(row["clean_accuracy"]) == clean  # exact: repr round trip
        history = json.loads((run / "run.json").read_text())["models"]
        model = next(m for m in history if m["role"] == row["role"])
        assert float(row["train_seconds"]) == pytest.approx(
            sum(e["seconds"] for e in model["history"])
        )
        assert row["epochs"] == "2"
    aucs = [float(r["auc:worst_case"]) for r in rows]
    assert aucs == sorted(aucs, reverse=True)  # same ε grid everywhere: ranked by worst-case AUC


def test_markdown_states_formula_ranking_and_grid(compared) -> None:
    md = (compared / "compare.md").read_text()
    assert md.startswith("# Robustness comparison: 4 models from 2 runs")
    assert "AUC = (1 / ε_max) · Σᵢ (εᵢ₊₁ − εᵢ) · (aᵢ + aᵢ₊₁) / 2" in md
    assert "ranked by worst-case AUC" in md and "min over attacks" in md
    for image in ("curves.png", "confusion.png", "gradcam.png"):
        assert f"]({image})" in md
    assert "Skipped" not in md


def test_auc_by_hand() -> None:
    # points (0, 0.9), (0.1, 0.5), (0.3, 0.1): areas 0.1 * 0.7 + 0.2 * 0.3 = 0.13, / 0.3
    assert compare.auc({0.1: 0.5, 0.3: 0.1}, 0.9) == pytest.approx(0.13 / 0.3)
    assert compare.auc({0.0: 0.2, 0.1: 0.5, 0.3: 0.1}, 0.9) == pytest.approx(0.13 / 0.3)
    assert compare.auc({0.2: 0.8}, 0.8) == pytest.approx(0.8)  # flat curve: its level
    assert math.isnan(compare.auc({}, 0.9))


def test_worst_case_prefers_the_runs_own_rows() -> None:
    robust = {"fgsm": {0.1: 0.5, 0.2: 0.3}, "pgd": {0.1: 0.4, 0.3: 0.2}}
    assert compare.worst_case(robust) == ({0.1: 0.4, 0.2: 0.3, 0.3: 0.2}, compare.FROM_MIN)
    robust["worst_case"] = {0.1: 0.35}
    assert compare.worst_case(robust) == ({0.1: 0.35}, compare.FROM_ROWS)


def test_measurements_come_from_results_csv(runs, tmp_path) -> None:
    folder = tmp_path / "edited"
    shutil.copytree(runs[0], folder)
    rows = rundir.read_csv(folder / "results.csv")
    edited = [
        Measurement(m.model, m.attack, m.eps, m.metric, 0.5)
        if (m.model, m.metric) == ("baseline", "clean_accuracy")
        else m
        for m in rows
    ]
    rundir.write_csv(edited, folder / "results.csv")
    run = compare.load_run(folder)
    assert run.result.measurements == edited
    row = compare.make_row(compare.entries([run])[0])
    assert row.clean_accuracy == 0.5


def test_other_eps_grids_rank_by_the_largest_common_eps(runs, tmp_path) -> None:
    folder = tmp_path / "fewer-eps"
    shutil.copytree(runs[1], folder)
    kept = [m for m in rundir.read_csv(folder / "results.csv") if m.eps <= 0.15]
    rundir.write_csv(kept, folder / "results.csv")
    board = compare.leaderboard(compare.load_runs([runs[0], folder]))
    assert board.sorted_by.startswith("worst-case robust accuracy at ε = 0.15")
    at = [r.worst[0.15] for r in board.rows]
    assert at == sorted(at, reverse=True)
    text = compare.leaderboard_csv(board)
    assert ",,," in text  # blanks where the shorter run has no ε = 0.2, 0.3


def _one_error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    return err


def test_refuses_another_dataset(runs, tmp_path, capsys) -> None:
    folder = tmp_path / "other-data"
    shutil.copytree(runs[0], folder)
    d = json.loads((folder / "run.json").read_text())
    d["data"]["name"] = "cifake"
    (folder / "run.json").write_text(json.dumps(d))
    out = tmp_path / "cmp"
    assert main(["compare", str(runs[0]), str(folder), "--out", str(out)]) == 2
    err = _one_error_line(capsys)
    assert str(folder) in err and "'cifake'" in err and "dataset" in err
    assert not out.exists()


def test_refuses_an_attack_in_another_norm(runs, tmp_path, capsys) -> None:
    folder = tmp_path / "l2"
    shutil.copytree(runs[0], folder)
    d = json.loads((folder / "run.json").read_text())
    d["attacks"][0]["norm"] = "l2"
    (folder / "run.json").write_text(json.dumps(d))
    assert main(["compare", str(runs[0]), str(folder), "--out", str(tmp_path / "c")]) == 2
    err = _one_error_line(capsys)
    assert str(folder) in err and "'fgsm'" in err and "L2" in err


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("results.csv", "incomplete run folder (no results.csv)"),
        ("run.json", "incomplete run folder (no run.json)"),
        ("garbage", "run.json is unreadable"),
        ("folder", "no such folder"),
    ],
)
def test_refuses_a_broken_folder(runs, tmp_path, capsys, damage, message) -> None:
    folder = tmp_path / "broken"
    shutil.copytree(runs[1], folder)
    if damage == "garbage":
        (folder / "run.json").write_text("{not json")
    elif damage == "folder":
        shutil.rmtree(folder)
    else:
        (folder / damage).unlink()
    assert main(["compare", str(runs[0]), str(folder), "--out", str(tmp_path / "c")]) == 2
    err = _one_error_line(capsys)
    assert str(folder) in err and message in err


def test_grid_skipped_when_a_run_has_no_arrays(runs, tmp_path) -> None:
    folder = tmp_path / "old"
    shutil.copytree(runs[1], folder)
    (folder / "gradcam.npz").unlink()
    out = compare.write_comparison(compare.load_runs([runs[0], folder]), tmp_path / "c")
    assert not (out / "gradcam.png").exists()
    md = (out / "compare.md").read_text()
    assert f"Skipped: {folder} (no gradcam.npz)" in md


def test_grid_skipped_when_indices_differ(runs, tmp_path) -> None:
    loaded = compare.load_runs(runs)
    panel = loaded[1].gradcam
    assert panel is not None
    panel.indices = [i + 1 for i in panel.indices]
    plan = compare.gradcam_plan(loaded)
    assert not plan.columns and "different test images" in plan.note


def test_worst_case_rows_are_used_when_a_run_has_them(runs, tmp_path) -> None:
    folder = tmp_path / "with-worst"
    shutil.copytree(runs[0], folder)
    rows = rundir.read_csv(folder / "results.csv")
    worst = [
        Measurement(m.model, "worst_case", m.eps, m.metric, m.value / 2)
        for m in rows
        if (m.attack, m.metric) == ("fgsm", "robust_accuracy")
    ]
    rundir.write_csv(rows + worst, folder / "results.csv")
    out = compare.write_comparison(compare.load_runs([folder, runs[1]]), tmp_path / "c")
    board = {r["entry"]: r for r in _rows(out / "leaderboard.csv")}
    mine = board["digits_fgsm[with-worst]/baseline"]
    fgsm = next(m.value for m in rows if (m.model, m.attack, m.eps) == ("baseline", "fgsm", 0.3)
                and m.metric == "robust_accuracy")  # fmt: skip
    assert mine["worst_case_source"] == compare.FROM_ROWS
    assert float(mine["worst_case@0.3"]) == fgsm / 2
    assert board["digits_fgsm[seed1]/baseline"]["worst_case_source"] == compare.FROM_MIN
    assert "see the column *worst case from*" in (out / "compare.md").read_text()


def test_a_run_against_a_copy_of_itself_ranks_nothing(runs, tmp_path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(runs[0], twin)
    board = compare.leaderboard(compare.load_runs([runs[0], twin]))
    for role in ("baseline", "robust"):
        ranks = [k for k, r in zip(board.ranks, board.rows, strict=True) if r.role == role]
        assert len(ranks) == 2 and ranks[1] == "=" + ranks[0].lstrip("=")  # twins share a rank
    assert "paired image by image" in board.ties


def test_runs_on_other_images_are_said_to_be_unpaired(runs, tmp_path) -> None:
    other = tmp_path / "subset"
    shutil.copytree(runs[1], other)
    record = json.loads((other / "run.json").read_text())
    record["spec"]["dataset"]["n_test"] = 359  # as if drawn as a seeded subset
    (other / "run.json").write_text(json.dumps(record))
    board = compare.leaderboard(compare.load_runs([runs[0], other]))
    assert "not paired: the runs evaluated different test images" in board.ties
    assert "same test images" in compare.leaderboard(compare.load_runs(runs)).ties  # all 359


def test_two_models_one_image_apart_on_200_are_tied() -> None:
    from harness.report.leaderboard import Row, tied_ranks

    def row(name: str, k: int, fail: tuple = ()) -> Row:
        acc = k / 200
        return Row(
            name, "", "r", name, acc, {}, {0.1: acc}, "", {}, acc, None, 0, "", fail, n_test=200
        )

    ranks, _ = tied_ranks([row("a", 101), row("b", 100), row("c", 40), row("d", 39, ("x",))])
    assert ranks == ["1", "=1", "3", "4"]  # a FAIL is never tied with a trusted entry


def test_compare_html_leads_with_the_leaderboard(compared) -> None:
    page = (compared / "compare.html").read_text()
    headings = [h for h in page.split("<h2>")[1:]]
    assert headings[0].startswith("Leaderboard</h2>")
    assert 'src="data:image/png;base64,' in page and "% [" in page
