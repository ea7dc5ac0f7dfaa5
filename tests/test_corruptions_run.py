"""A tiny digits run with two corruptions: records, results.csv rows, the report section."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from bad_inputs import TINY_RUN, run_args  # tests/ is on sys.path (rootdir conftest)

from harness import compare, stats
from harness.cli import main
from harness.corruptions import backend
from harness.results import rundir
from harness.results.corruption import corruption_means
from harness.results.paired import paired_changes

if importlib.util.find_spec("imagecorruptions") is None:  # the optional extra "corruptions"
    pytest.skip("imagecorruptions is not installed", allow_module_level=True)

CORRUPTIONS = """corruptions:
  names: [gaussian_noise, fog]
  severities: [1, 5]
  n_images: 30
"""
DEFENCE = "defence: {name: adversarial_training, attack: fgsm, eps: 0.1}\n"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("corrupt-run")
    table = tmp / "alexnet.csv"  # a named reference: fog at every severity, noise averaged
    table.write_text(
        "corruption,severity,error\nfog,1,0.5\nfog,5,0.9\ngaussian_noise,all,0.8\n", "utf-8"
    )
    named = f"  reference: {{name: AlexNet, errors: {table}}}\n"
    text = TINY_RUN.replace("defence: null\n", "").replace(
        "gradcam: {n_images: 0}", "gradcam: {n_images: 2}"
    )
    text += CORRUPTIONS + named + DEFENCE
    (tmp / "spec.yaml").write_text(text, encoding="utf-8")
    assert main(run_args(tmp, tmp / "spec.yaml")) == 0
    return tmp / "out"


def test_the_run_records_every_model_corruption_and_severity(run_dir: Path) -> None:
    record = json.loads((run_dir / "run.json").read_text())
    got = {(c["model"], c["corruption"], c["severity"]) for c in record["corruptions"]}
    assert got == {
        (m, c, s) for m in ("baseline", "robust") for c in ("gaussian_noise", "fog") for s in (1, 5)
    }
    assert all(c["n"] == 30 and 0 <= c["accuracy"] <= 1 for c in record["corruptions"])
    assert record["provenance"]["corruptions"] == f"imagecorruptions {backend.version()}"
    # 8-px digits: auto picks CIFAR-10-C's parameters, recorded for the run and on every row
    assert record["provenance"]["corruption_parameters"] == "cifar"
    assert {c["parameters"] for c in record["corruptions"]} == {"cifar"}
    assert "parameters" not in record["spec"]["corruptions"]  # auto, the default: left out


def test_results_csv_appends_corruption_rows_and_reading_back_keeps_attacks(run_dir) -> None:
    lines = (run_dir / "results.csv").read_text().splitlines()
    rows = [line for line in lines if ",corruption:" in line]
    assert len(rows) == 8 and lines[-8:] == rows  # after every attack row
    assert rows[0].startswith("baseline,corruption:gaussian_noise,1.0,corruption_accuracy,")
    run = rundir.read_run(run_dir)
    assert not any(m.attack.startswith("corruption:") for m in run.result.measurements)
    assert len(run.result.corruptions) == 8


def test_the_report_names_the_parameters_and_where_they_depart_from_the_script(run_dir) -> None:
    text = (run_dir / "report.md").read_text()
    section = text[text.index("## Common corruptions") :]
    assert "Severity parameters: **CIFAR-10-C's (32 px)**" in section
    assert "`make_cifar_c.py`" in section and "- motion_blur: approximated: ImageMagick" in section


def test_the_report_has_the_section_with_the_baseline_at_mce_100(run_dir: Path) -> None:
    md = (run_dir / "report.md").read_text()
    section = md.split("## Common corruptions", 1)[1].split("\n## ", 1)[0]
    assert "| baseline |" in section and "| 100.0 | 100.0 |" in section
    assert "### robust: accuracy per corruption and severity" in section
    assert "robust − baseline" in section
    summary = next(line for line in section.splitlines() if line.startswith("| robust |"))
    rows = rundir.read_run(run_dir).result.corruptions
    mean = stats.mean_share(
        np.mean([r.correct_mask() for r in rows if r.model == "robust"], axis=0), cells=4
    )
    assert (
        summary.split(" | ")[2] == f"{mean.value:.2%} [{100 * mean.low:.1f}, {100 * mean.high:.1f}]"
    )
    fog = next(line for line in section.splitlines() if line.startswith("| fog |"))
    change = next(c for c in paired_changes(rows, "baseline", "robust") if c.corruption == "fog")
    assert f"| {change.difference.pp_text()} (+{change.fixed} / −{change.broken}, p " in fog
    for name in ("corruptions_baseline.png", "corruptions_robust.png", "corruption_families.png"):
        assert (run_dir / name).is_file() and name in section


def test_a_missing_extra_is_one_line_naming_it(tmp_path, monkeypatch, capsys) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "imagecorruptions" else real(n, *a)
    )
    backend._imported.cache_clear()
    (tmp_path / "spec.yaml").write_text(TINY_RUN + CORRUPTIONS, encoding="utf-8")
    try:
        assert main(run_args(tmp_path, tmp_path / "spec.yaml")) == 2
    finally:
        backend._imported.cache_clear()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "robustness-harness[corruptions]" in err[0]
    assert not (tmp_path / "out").exists()


def test_compare_carries_mean_corruption_accuracy_and_mce(run_dir: Path) -> None:
    board = compare.leaderboard([compare.load_run(run_dir)])
    lines = compare.leaderboard_csv(board).splitlines()
    header = lines[0].split(",")
    assert header[-2:] == ["mean_corruption_accuracy", "mce"]
    rows = {line.split(",")[4]: line.split(",") for line in lines[1:]}
    assert float(rows["baseline"][-1]) == pytest.approx(100.0)
    record = json.loads((run_dir / "run.json").read_text())
    accs = [c["accuracy"] for c in record["corruptions"] if c["model"] == "robust"]
    assert float(rows["robust"][-2]) == pytest.approx(sum(accs) / len(accs))


def test_the_report_pairs_images_and_names_the_published_reference(run_dir: Path) -> None:
    run = rundir.read_run(run_dir).result
    assert run.corruption_reference is not None and run.corruption_reference.name == "AlexNet"
    assert run.corruption_reference.errors["gaussian_noise"] == {"all": 0.8}
    masks = {(c.model, c.corruption, c.severity): c.correct_mask() for c in run.corruptions}
    assert all(m is not None and m.size == 30 for m in masks.values())
    for c in run.corruptions:  # the kept images give back the recorded accuracy
        assert masks[c.model, c.corruption, c.severity].mean() == pytest.approx(c.accuracy)
    md = (run_dir / "report.md").read_text()
    section = md.split("## Common corruptions", 1)[1].split("\n## ", 1)[0]
    assert "| mCE vs AlexNet | relative mCE vs AlexNet |" in section
    assert "no clean error given, so no relative mCE" in section
    (fog,) = paired_changes(run.corruptions, "baseline", "robust")[1:]
    assert f"(+{fog.fixed} / −{fog.broken}, p " in section
    # CE against the table: the baseline's fog errors over the table's (0.5 + 0.9)
    base = [c for c in run.corruptions if (c.model, c.corruption) == ("baseline", "fog")]
    ce = 100 * sum(1 - c.accuracy for c in base) / 1.4
    noise = [
        c for c in run.corruptions if (c.model, c.corruption) == ("baseline", "gaussian_noise")
    ]
    ce_noise = 100 * sum(1 - c.accuracy for c in noise) / 1.6
    row = next(line for line in section.splitlines() if line.startswith("| baseline |"))
    assert row.split("|")[6].strip() == f"{(ce + ce_noise) / 2:.1f}"


def test_gradcam_under_the_worst_corruption_sits_beside_clean_and_adversarial(run_dir) -> None:
    run = rundir.read_run(run_dir).result
    means = corruption_means(run.corruptions, "baseline")
    worst = min(means, key=means.get)
    md = (run_dir / "report.md").read_text()
    section = md.split("## Common corruptions", 1)[1].split("\n## ", 1)[0]
    assert f"**{worst}** at severity 5" in section  # the middle of severities [1, 5]
    assert "(corruption_gradcam.png)" in section and (run_dir / "corruption_gradcam.png").is_file()
