"""A check that cannot speak says so (SKIP) instead of crying wolf: ``n_test: 1`` with its one
sample right was a FAIL "the model looks untrained"."""

from __future__ import annotations

import json
from pathlib import Path

from bad_inputs import TINY_RUN

from harness.cli import main
from harness.probe_checks import TRAINED, probe_checks
from harness.results import FAIL, PASS, SEVERITY, SKIP, Check, ModelProbe, summary


def _probe(n: int, clean: float, majority: float) -> ModelProbe:
    return ModelProbe(
        n=n, zero_grad_share=0.0, nonfinite_grad_share=0.0, outputs_probabilities=False,
        min_output=-3.0, max_row_sum_error=2.0, deterministic=True, max_output_diff=0.0,
        unbounded_eps=1.0, unbounded_steps=20, unbounded_accuracy=0.0, num_classes=10,
        clean_accuracy=clean, majority_share=majority,
    )  # fmt: skip


def _trained(n: int, clean: float, majority: float) -> Check:
    (check,) = probe_checks("baseline", _probe(n, clean, majority), 10, TRAINED)
    return check


def test_too_few_samples_to_clear_the_bar_is_a_skip_not_a_fail() -> None:
    one = _trained(1, clean=1.0, majority=1.0)  # the one sample right: its class is all there is
    assert one.status == SKIP and "could not judge, too few samples" in one.why
    two = _trained(2, clean=1.0, majority=0.5)  # bar 0.5 + 3 * 0.35 = 156%: unreachable
    assert two.status == SKIP
    # enough samples for a perfect score to clear the bar: the check speaks, both ways
    assert _trained(10, clean=1.0, majority=0.1).status == PASS  # bar 38.5%
    assert _trained(10, clean=0.1, majority=0.1).status == FAIL


def test_a_skip_is_tallied_only_when_there_is_one_and_sorts_below_a_pass() -> None:
    passed = Check(TRAINED, PASS, "baseline", "")
    assert summary([passed]) == "1 PASS, 0 WARN, 0 FAIL"
    assert summary([passed, Check(TRAINED, SKIP, "robust", "")]) == "1 PASS, 0 WARN, 0 FAIL, 1 SKIP"
    assert SEVERITY.index(SKIP) < SEVERITY.index(PASS) < SEVERITY.index(FAIL)


def test_a_run_on_one_test_sample_says_it_could_not_judge(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(TINY_RUN.replace("n_test: 60", "n_test: 1"), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(spec), "--out", str(out), "--models-dir", str(tmp_path / "m")]) == 0
    run = json.loads((out / "run.json").read_text())
    (trained,) = [c for c in run["sanity"] if c["name"] == TRAINED]
    assert trained["status"] == SKIP
    assert not [c for c in run["sanity"] if c["status"] == FAIL]
    report = (out / "report.md").read_text()
    assert "1 SKIP" in report and "looks untrained" not in report
