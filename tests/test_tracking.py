"""The ``tracking:`` section and what a run folder gives a store, without any tracking library:
bad values are one line naming the field, the section changes no hash, and the names are legal
for every MLflow store (harness.spec.tracking, harness.tracking.content)."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from harness.cli import main
from harness.results import Check
from harness.results.corruption import CorruptionAccuracy
from harness.spec import load_spec, parse_spec
from harness.tracking import content

URI = "--set tracking.mlflow.uri=http://127.0.0.1:5000"
EXPERIMENT = "--set tracking.mlflow.experiment=robustness"
LEGAL = re.compile(r"^[A-Za-z0-9_./-]+$")  # what every store takes (no colon: Windows)


def _sets(*pairs: str) -> list[str]:
    return [part for pair in pairs for part in pair.split(" ", 1)]


def test_the_section_is_read_and_changes_no_hash_key_or_run_json() -> None:
    plain = load_spec("digits_fgsm")
    raw = {"tracking": {"mlflow": {"uri": "sqlite:///m.db", "experiment": "e", "run_name": "r"}}}
    tracked = parse_spec({"name": "digits_fgsm", **raw})
    assert tracked.tracking.mlflow.uri == "sqlite:///m.db" and tracked.tracking.mlflow.run_name
    untracked = parse_spec({"name": "digits_fgsm"})
    assert untracked.tracking is None and tracked.digest() == untracked.digest()
    assert "tracking" not in tracked.to_dict() and "tracking" not in plain.to_dict()


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        ((URI,), "tracking.mlflow.experiment: expected a non-empty string"),
        (("--set tracking.mlflow.url=x", EXPERIMENT), "tracking.mlflow.url: unknown field"),
        (("--set tracking.mlflow.uri=a b", EXPERIMENT), "tracking.mlflow.uri: expected a URI"),
        (("--set tracking={}",), "tracking: expected a tracking store, e.g. mlflow:"),
        (("--set tracking.wandb.uri=x",), "tracking.wandb: unknown field"),
        ((URI, "--set tracking.mlflow.experiment=" + "e" * 501), "expected at most 500"),
        ((URI, EXPERIMENT, "--set tracking.mlflow.run_name=[1]"), "tracking.mlflow.run_name:"),
    ],
)
def test_a_bad_value_is_one_line_naming_the_field(capsys, sets, expected: str) -> None:
    code = main(["validate", "digits_fgsm", *_sets(*sets)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and expected in err and len(err.splitlines()) == 1


def test_a_grid_with_tracking_is_refused(capsys) -> None:
    code = main(["validate", "digits_fgsm", *_sets(URI, EXPERIMENT, "--set grid.seeds=[0,1]")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "tracking: a grid's cells are not logged" in err


def test_validate_imports_no_tracking_library_and_a_missing_mlflow_is_one_line(
    tmp_path: Path,
) -> None:
    """``validate`` reads the section without mlflow; ``run`` without the package says how to
    install it, before anything heavy (mlflow hidden from this process only)."""
    argv = ["digits_fgsm", *_sets(URI, EXPERIMENT)]
    probe = (
        "import sys\nfrom harness.cli import main\n"
        f"assert main(['validate', *{argv!r}]) == 0\n"
        "assert 'mlflow' not in sys.modules and 'torch' not in sys.modules\n"
        "sys.modules['mlflow'] = None  # as if it were not installed: import fails\n"
        f"sys.exit(main(['run', *{argv!r}, '--out', {str(tmp_path / 'out')!r}]))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    err = done.stderr.strip()
    assert done.returncode == 2, err
    assert err.splitlines() == [
        "error: tracking.mlflow: the mlflow package is not installed; "
        "pip install 'robustness-harness[mlflow]'"
    ]
    assert not (tmp_path / "out").exists()


def test_params_are_the_spec_flattened_and_cut_to_the_limit() -> None:
    spec = {
        "model": {"train": {"lr": 0.001}, "mean": None},
        "attacks": [{"name": "pgd", "params": {"steps": 10}}],
        "eps": [0.0, 0.05],
        "description": "x" * 7000,
        "probes": [],
    }
    found = content.params(spec)
    assert found["model.train.lr"] == "0.001" and found["model.mean"] == "null"
    assert found["attacks.0.name"] == "pgd" and found["attacks.0.params.steps"] == "10"
    assert found["eps"] == "[0.0, 0.05]" and found["probes"] == "[]"
    cut = found["description"]
    assert len(cut) == content.MAX_PARAM_VALUE and cut.endswith(content.CUT)


def test_names_are_legal_distinct_and_never_a_prefix_of_another() -> None:
    assert content.name("robust_accuracy", "my model", "corruption:fog", "..") == (
        "robust_accuracy/my_model/corruption_fog/__"
    )
    assert len(content.name("m", "x" * 400)) == content.MAX_KEY


def test_every_csv_figure_gets_its_interval_and_sanity_its_tags(digits_runs) -> None:
    from harness.results import rundir

    run = rundir.read_run(digits_runs[0])
    result = run.result
    points = {p.name: p.value for p in content.figures(result)}
    for m in result.measurements:
        where = content.name(m.metric, m.model, m.attack, f"eps_{m.eps!r}")
        assert points[f"{where}/value"] == m.value
        interval = result.interval(m)
        if m.metric.startswith("mean_"):
            assert interval is None and f"{where}/low" not in points
        else:
            assert points[f"{where}/low"] <= m.value <= points[f"{where}/high"]
    corrupted = CorruptionAccuracy("baseline", "gaussian_noise", "noise", 3, 0.5, 100)
    more = {p.name: p.value for p in content.figures(replace(result, corruptions=[corrupted]))}
    where = "corruption_accuracy/baseline/gaussian_noise/severity_3"
    assert more[f"{where}/value"] == 0.5 and more[f"{where}/low"] < 0.5 < more[f"{where}/high"]
    names = sorted(more)
    assert all(LEGAL.match(n) for n in names)
    assert not any(b.startswith(a + "/") for a, b in itertools.pairwise(names))
    epochs = [p for p in content.epoch_metrics(result) if p.name == "training/baseline/val_acc"]
    assert [p.step for p in epochs] == [1, 2]  # tests/conftest.py: 2 epochs
    tags = content.collect(run).tags
    check = result.sanity[0]
    assert tags[f"sanity/{check.model}/{check.name}"] == check.status
    assert tags[content.WORST_TAG] in ("PASS", "WARN", "FAIL", "SKIP")


def test_the_worst_verdict_leads_and_each_model_has_its_tally() -> None:
    checks = [Check("a", "PASS", "m", ""), Check("b", "FAIL", "m", ""), Check("c", "SKIP", "n", "")]
    tags = content.sanity_tags(checks)
    assert tags[content.WORST_TAG] == "FAIL" and tags["sanity/m/b"] == "FAIL"
    assert tags["sanity_tally/m"] == "1 PASS, 0 WARN, 1 FAIL"
    assert content.sanity_tags([])[content.WORST_TAG] == ""
