"""Per-sample masking evidence: a black-box attack breaking what every white-box one left."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import SHAPE
from torch import nn

from harness.attacks import ATTACKS
from harness.attacks.planned import PlannedAttack
from harness.estimator import build_classifier
from harness.masking import NAME, broken_first, grade, part_breaks
from harness.report.leaderboard import Comparison
from harness.report.sections.comparison import sanity
from harness.results import (
    FAIL,
    PASS,
    WARN,
    Check,
    EnsembleBreakdown,
    ModelResult,
    RunResult,
    rundir,
)
from harness.results.breakdowns import tally
from harness.results.rundir import Run
from harness.sanity import checks
from harness.spec import AttackSpec
from harness.sweep import clean_eval, sweep

pytestmark = pytest.mark.usefixtures("one_thread")
EPS = (0.0, 0.1, 0.2)


class Quantize(nn.Module):
    """Rounds pixels to 5 grey levels: zero input gradients, but scores still move."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(x * 4) / 4


def planned(name: str, **params) -> PlannedAttack:
    d = ATTACKS.get(name)
    return PlannedAttack(d, d.resolve(AttackSpec(name, params)))


def breaks_of(model: nn.Module, x: np.ndarray, y: np.ndarray) -> list[EnsembleBreakdown]:
    """Square listed first: the ordering puts the white-box PGD before it anyway."""
    clf = build_classifier(model, SHAPE, 3)
    attacks = [planned("square", max_queries=100), planned("pgd", steps=10)]
    _, outcomes = sweep("m", clf, x, y, clean_eval(clf, x, 256), attacks, EPS, 256)
    return part_breaks("m", outcomes, {p.name: p for p in attacks})


def test_broken_first_counts_what_no_earlier_part_broke() -> None:
    already = np.array([1, 0, 0, 0, 0], bool)
    masks = [np.array([1, 1, 0, 0, 0], bool), np.array([0, 1, 1, 0, 0], bool)]
    assert broken_first(masks, already) == [1, 1]
    assert already.tolist() == [1, 0, 0, 0, 0]  # not modified


def test_a_healthy_model_passes(held_out) -> None:
    model, _, x, y = held_out
    found = breaks_of(model, x, y)
    assert [b.eps for b in found] == [0.1, 0.2]
    assert all([p.name for p in b.parts] == ["pgd", "square"] for b in found)
    assert all(b.reordered and b.ensemble == "attacks (linf)" for b in found)
    (check,) = grade(found)
    assert check.status == PASS, check.why
    assert check.name == NAME and "of 200 samples" in check.why


def test_only_the_black_box_attack_succeeding_on_a_masked_model_fails(held_out) -> None:
    model, _, x, y = held_out
    found = breaks_of(nn.Sequential(Quantize(), model).eval(), x, y)
    assert max(b.black_box_only for b in found) > 0.05 * len(y)
    (check,) = grade(found)
    assert check.status == FAIL, check.why
    assert "square broke" in check.why and "gradient masking" in check.why
    # through the run's grading too, alongside the curve-level checks
    assert any(c.name == NAME and c.status == FAIL for c in checks([], [], {}, 3, found))


AA_PARTS = [("apgd-ce", "art", False), ("apgd-t", "art", False), ("fab-t", "art", False)]


def test_an_ensemble_in_the_reference_order_is_graded_by_its_last_black_box_part() -> None:
    def aa(square: int) -> EnsembleBreakdown:
        parts = [*AA_PARTS, ("square", "art", True)]
        return tally("robust", "autoattack", 0.3, [300, 20, 0, square], parts, 1000, 900)

    assert [c.status for c in grade([aa(2)])] == [PASS]  # 0.2%: the reference's alpha
    assert [c.status for c in grade([aa(5)])] == [WARN]
    (fail,) = grade([aa(2), aa(40)])
    assert fail.status == FAIL and "40 of 1000" in fail.why
    assert "apgd-ce/apgd-t/fab-t" in fail.why


def test_the_worst_case_in_spec_order_is_not_graded() -> None:
    """The same attacks white-box first are; Square first in spec order breaks the most."""
    parts = [("square", "art", True), ("pgd", "art", False)]
    assert grade([tally("m", "worst_case", 0.1, [50, 10], parts, 100, 100)]) == []


def test_a_black_box_part_before_a_white_box_one_is_no_evidence() -> None:
    parts = [("square", "art", True), ("pgd", "art", False)]
    assert tally("m", "x", 0.1, [50, 10], parts, 100, 100).black_box_only == 0


def test_tally_gives_the_robust_accuracy_after_each_part() -> None:
    b = tally(
        "m", "autoattack", 0.3, [300, 20, 0, 5], [*AA_PARTS, ("square", "art", True)], 1000, 900
    )
    assert [p.robust_accuracy_after for p in b.parts] == [0.6, 0.58, 0.58, 0.575]
    assert b.robust_accuracy == 0.575 and b.black_box_only == 5


def test_an_old_run_jsons_part_breaks_load_as_reordered_breakdowns() -> None:
    """run.json before the records were unified: ``part_breaks`` next to ``breakdowns``."""
    old = {"model": "m", "ensemble": "attacks (linf)", "eps": 0.1, "n": 10, "clean_wrong": 2}
    old["parts"] = [{"name": "pgd", "black_box": False, "broken_first": 3}]
    d = json.loads(rundir.render_run_json(RunResult("r", {}, 0, {}, [], [], [])))
    (b,) = RunResult.from_dict(d | {"part_breaks": [old]}).breakdowns
    assert b.reordered and (b.n_samples, b.clean_correct) == (10, 8)
    assert b.parts[0].broke_first == 3 and b.parts[0].robust_accuracy_after == 0.5


def test_a_breakdown_round_trips_through_run_json() -> None:
    b = tally("m", "attacks (linf)", 0.1, [3], [("pgd", "art", False)], 10, 8, reordered=True)
    d = json.loads(rundir.render_run_json(RunResult("r", {}, 0, {}, [], [], [], breakdowns=[b])))
    assert "part_breaks" not in d
    assert RunResult.from_dict(d).breakdowns == [b]


def test_compare_lists_each_entrys_tally_and_its_flagged_checks(tmp_path) -> None:
    def run(name: str, status: str) -> Run:
        models = [ModelResult("robust", "small_cnn", 1, 0.9, [], [])]
        found = [Check(NAME, status, "robust", f"{name} line"), Check("x", PASS, "robust", "ok")]
        result = RunResult(name, {}, 0, {}, models, [], [], sanity=found)
        return Run(tmp_path / name, result)

    text = sanity.markdown(Comparison([run("a", PASS), run("b", FAIL)], None))
    assert "| a/robust | 2 PASS, 0 WARN, 0 FAIL |" in text
    assert "| b/robust | 1 PASS, 0 WARN, 1 FAIL |" in text
    assert f"| b/robust | {NAME} | FAIL | b line |" in text and "a line" not in text
