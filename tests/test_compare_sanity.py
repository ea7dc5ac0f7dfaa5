"""compare.md, leaderboard.csv and the run report on what the sanity checks found or did not run:
a FAILed model flagged and ranked last, probes switched off said plainly, a reused model's
training time not shown as this run's. Small run folders written through ``rundir``."""

from __future__ import annotations

import csv
from pathlib import Path

from harness import compare
from harness.cli import main
from harness.probe_checks import PROBED, TRAINED
from harness.report.sections import verdict
from harness.report.sections.sanity import applies
from harness.results import (
    FAIL,
    PASS,
    AttackRecord,
    Check,
    ClassStats,
    DataSummary,
    EpochStats,
    Measurement,
    ModelResult,
    RunResult,
    rundir,
)

EPS = (0.1, 0.3)
NAMES = [str(i) for i in range(10)]


def _result(name: str, clean: float, robust: float, **extra: object) -> RunResult:
    """One baseline on 10 classes, FGSM at EPS leaving ``robust``."""
    model = ModelResult("baseline", "small_cnn", 10, clean, [ClassStats("0", 1, 1, 1, 1)], [[1]])
    model.training = str(extra.pop("training", "trained"))
    model.history = [EpochStats(1, 0.5, clean, 0.5, clean, 24.2)] if model.training else []
    ms = [Measurement("baseline", "none", 0.0, "clean_accuracy", clean)]
    ms += [Measurement("baseline", "fgsm", e, "robust_accuracy", robust) for e in EPS]
    spec = {"name": name, "version": 1, "seed": 0, "eps": list(EPS)} | extra.pop("spec", {})
    attacks = [AttackRecord(name="fgsm", attack="fgsm", norm="linf", params={}, sweep="one_step")]
    data = DataSummary("digits", class_names=NAMES, input_shape=[1, 8, 8])
    return RunResult(name, spec, 0, data, [model], ms, attacks, **extra)


def _folders(tmp_path: Path) -> list[Path]:
    untrained = Check(TRAINED, FAIL, "baseline", "clean accuracy 20.0%: the model looks untrained")
    results = [
        _result("flat", 0.2, 0.2, sanity=[untrained]),  # worst-case AUC 0.2: best of all
        _result("good", 0.755, 0.0),  # AUC 0.126
        _result(
            "off",
            0.7,
            0.0,
            spec={"sanity": {"enabled": False, "n_samples": 256}},
            sanity=[Check("monotone_in_eps", PASS, "baseline", "never rises")],
            training="reused models/x.pt",
        ),
    ]
    return [rundir.write_run(r, tmp_path / r.name, {}) for r in results]


def test_a_failed_model_is_flagged_and_ranked_last(tmp_path, capsys) -> None:
    folders = _folders(tmp_path)
    runs = compare.load_runs(folders)
    board = compare.leaderboard(runs)
    assert [r.entry for r in board.rows] == ["good/baseline", "off/baseline", "flat/baseline"]
    assert board.rows[-1].sanity_fail == (TRAINED,)
    md = compare.render_markdown(runs, board)
    row = next(line for line in md.splitlines() if line.startswith("| 3 | flat/baseline"))
    assert f"**FAIL**: {TRAINED}" in row
    assert "ranks after every entry without one" in md
    assert main(["compare", *map(str, folders), "--out", str(tmp_path / "cmp")]) == 0
    printed = capsys.readouterr().out
    assert "3. flat/baseline" in printed and f"[sanity FAIL: {TRAINED}]" in printed
    with (tmp_path / "cmp" / "leaderboard.csv").open(newline="") as f:
        rows = {r["entry"]: r for r in csv.DictReader(f)}
    assert rows["flat/baseline"]["sanity_fail"] == TRAINED and rows["flat/baseline"]["rank"] == "3"


def test_probes_off_is_said_in_compare(tmp_path) -> None:
    runs = compare.load_runs(_folders(tmp_path))
    md = compare.render_markdown(runs, compare.leaderboard(runs))
    tally = next(line for line in md.splitlines() if line.startswith("| off/baseline | 1 PASS"))
    assert "**probes off**" in tally and all(name in tally for name in PROBED)
    row = next(line for line in md.splitlines() if line.startswith("| 2 | off/baseline"))
    assert row.rstrip(" |").endswith("probes off")
    assert "**Sanity probes off** for off/baseline" in md


def test_reused_model_shows_no_training_time(tmp_path) -> None:
    runs = compare.load_runs(_folders(tmp_path))
    board = compare.leaderboard(runs)
    reused = next(r for r in board.rows if r.run == "off")
    assert reused.train_seconds is None
    md = compare.render_markdown(runs, board)
    row = next(line for line in md.splitlines() if line.startswith("| 2 | off/baseline"))
    assert "— (reused models/x.pt)" in row and "24.2 s" not in row
    csv_row = compare.leaderboard_csv(board).splitlines()[2].split(",")
    assert csv_row[-4:-1] == ["", "", "reused models/x.pt"]  # train_seconds, epochs, training


def test_report_says_the_probes_were_off() -> None:
    result = _result(
        "off",
        0.7,
        0.0,
        spec={"sanity": {"enabled": False}},
        sanity=[Check("monotone_in_eps", PASS, "baseline", "never rises")],
    )
    text = verdict.markdown(result)
    assert "1 PASS, 0 WARN, 0 FAIL; **the sanity probes were off**" in text
    assert all(name in text for name in PROBED)
    nothing = _result("none", 0.7, 0.0, spec={"sanity": {"enabled": False}})
    assert applies(nothing) and "none ran" in verdict.markdown(nothing)
    assert "probes were off" not in verdict.markdown(_result("on", 0.7, 0.0))


def test_one_model_is_singular(tmp_path, capsys) -> None:
    folder = rundir.write_run(_result("one", 0.7, 0.0), tmp_path / "one", {})
    assert main(["compare", str(folder), "--out", str(tmp_path / "cmp")]) == 0
    assert "(1 model, ranked" in capsys.readouterr().out
    md = (tmp_path / "cmp" / "compare.md").read_text(encoding="utf-8")
    assert md.startswith("# Robustness comparison: 1 model from 1 run\n")
