"""AutoAttack's two implementations (the harness's loops, and fra31's own code) on
a tiny digits model; FAB-T itself; the per-part breakdown and its round trip through run.json."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from harness.architectures import ARCHITECTURES, wrap
from harness.attacks import ATTACKS, generate
from harness.attacks import autoattack_reference as reference
from harness.attacks.autoattack_parts import recording
from harness.attacks.fab import fab_targeted, project_linf_box
from harness.attacks.planned import PlannedAttack
from harness.breakdown import autoattack_breakdown, worst_case_breakdown
from harness.errors import HarnessError
from harness.estimator import build_classifier
from harness.results import EnsembleBreakdown, RunResult, rundir
from harness.spec import AttackSpec
from harness.sweep import AttackOutcome, attack_sweep, clean_eval

CHEAP = {"apgd_iter": 10, "fab_iter": 10, "square_queries": 100}
EPS = 0.1  # digits pixels in [0, 1]
# Robust accuracies of the two implementations may differ by this much on 40 images: their
# random draws, FAB and Square code differ in detail (see harness.attacks.autoattack; the parts
# alone are compared more tightly in test_autoattack_loops).
TOLERANCE = 0.05

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    """small_cnn fitted for 80 full-batch steps on 1,000 digits; 40 other digits to attack."""
    torch.manual_seed(0)
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[:, None]  # (N, 1, 8, 8) in [0, 1]
    y = data.target.astype(np.int64)
    model = wrap(ARCHITECTURES.get("small_cnn").build((1, 8, 8), 10), (0.5,), (0.5,), 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(80):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            model(torch.from_numpy(x[:1000])), torch.from_numpy(y[:1000])
        )
        loss.backward()
        opt.step()
    model.eval()
    return model, build_classifier(model, (1, 8, 8), 10), x[1000:1040], y[1000:1040]


def held_out_correct(clf, n: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Up to n of the digits after the ``digits`` fixture's (1040 on) that ``clf`` classifies
    correctly: inputs an attack starts on with every sample clean-correct."""
    data = load_digits()
    x = (data.images / 16.0).astype(np.float32)[1040:1150, None]
    y = data.target.astype(np.int64)[1040:1150]
    keep = clf.predict(x).argmax(1) == y
    return x[keep][:n], y[keep][:n]


def params(**overrides) -> dict:
    return ATTACKS.get("autoattack").resolve(AttackSpec("autoattack", {**CHEAP, **overrides}))


def run(clf, x, y, implementation: str):
    """Robust accuracy and the one noted part run of an implementation at EPS."""
    p = params(implementation=implementation)
    with recording() as log:
        x_adv = generate(clf, ATTACKS.get("autoattack"), p, x, y, EPS)
    assert np.abs(x_adv - x).max() <= EPS + 1e-6
    return float(np.mean(clf.predict(x_adv).argmax(1) == y)), log


# ---------------------------------------------------------------- the two implementations


@pytest.mark.slow
def test_art_and_reference_agree_and_count_what_they_broke(digits) -> None:
    pytest.importorskip("autoattack")
    _, clf, x, y = digits
    correct = int(np.sum(clf.predict(x).argmax(1) == y))
    for impl in ("art", "reference"):
        accuracy, log = run(clf, x, y, impl)
        (noted,) = log
        owner = "harness" if impl == "art" else impl  # art: the harness's loops on ART's estimator
        assert {p.implementation for p in noted.parts} == {owner}
        assert [p.black_box for p in noted.parts] == [False, False, False, True]
        # every clean-correct sample either survived or was broken first by exactly one part
        assert noted.attacked == correct
        assert sum(noted.broke) == correct - round(accuracy * len(y))
        if impl == "art":
            art_accuracy = accuracy
    assert accuracy < correct / len(y)  # the reference does break samples
    assert abs(art_accuracy - accuracy) <= TOLERANCE


def test_reference_missing_is_one_line_naming_the_extra(monkeypatch) -> None:
    monkeypatch.setattr(reference, "available", lambda: False)
    spec = AttackSpec("autoattack", {"implementation": "reference"})
    with pytest.raises(HarnessError, match=r"^attacks\[0\]\.implementation: .*\[reference\]"):
        ATTACKS.get("autoattack").resolve(spec, "attacks[0]")


def test_unknown_implementation_is_refused() -> None:
    spec = AttackSpec("autoattack", {"implementation": "torchattacks"})
    with pytest.raises(HarnessError, match=r"^attacks\[0\]\.implementation: expected 'art' or"):
        ATTACKS.get("autoattack").resolve(spec, "attacks[0]")


def test_reference_refuses_fewer_than_four_classes(setup) -> None:
    pytest.importorskip("autoattack")
    _, clf, _, _ = setup  # conftest's 3-class model
    with pytest.raises(HarnessError, match=">= 4 classes"):
        ATTACKS.get("autoattack").make(clf, EPS, params(implementation="reference"))


# ---------------------------------------------------------------- FAB-T


def test_projection_reaches_the_hyperplane_inside_the_box() -> None:
    gen = torch.Generator().manual_seed(0)
    p, w = torch.rand(6, 30, generator=gen), torch.randn(6, 30, generator=gen)
    b = (w * p).sum(1) + 0.5 * torch.randn(6, generator=gen)
    d = project_linf_box(p, w, b)
    assert torch.allclose((w * (p + d)).sum(1), b, atol=1e-4)
    assert (p + d).min() >= -1e-6 and (p + d).max() <= 1 + 1e-6
    # minimal: moving every coordinate by a bit less than the largest move cannot close the gap
    lam = d.abs().amax(1, keepdim=True) * 0.99
    room = torch.where(torch.sign(w) * torch.sign(d.sum(1, keepdim=True)) > 0, 1 - p, p)
    shrunk = torch.sign(d) * torch.minimum(lam, d.abs().clamp_max(room))
    assert ((w * (p + shrunk)).sum(1) - b).abs().min() > 0


def test_fab_t_breaks_samples_inside_the_ball(digits) -> None:
    model, clf, x, y = digits
    logits = clf.predict(x)
    target = np.argsort(-logits, axis=1)[:, 1]  # the runner-up class
    x_adv = fab_targeted(model, x, y, target, 0.2, 20)
    fooled = clf.predict(x_adv).argmax(1) != y
    assert fooled.sum() > 0
    assert np.abs(x_adv - x).max() <= 0.2 + 1e-6
    assert np.array_equal(x_adv[~fooled], x[~fooled])  # a failure returns the image itself


# ---------------------------------------------------------------- the breakdown records


def test_sweep_breakdown_ends_at_the_outcome_robust_accuracy(digits) -> None:
    _, clf, x, y = digits
    planned = PlannedAttack(ATTACKS.get("autoattack"), params())
    with recording() as log:
        outcome = attack_sweep(clf, planned, x, y, clean_eval(clf, x, 256), [0, 0.05, 0.1], 256)
    records = autoattack_breakdown("baseline", "autoattack", outcome, log)
    assert [r.eps for r in records] == [0, 0.05, 0.1]
    for e, r in enumerate(records):
        assert r.robust_accuracy == pytest.approx(outcome.robust[e].mean())
        assert [p.name for p in r.parts] == ["APGD-CE", "APGD-T", "FAB-T", "Square"]
    assert sum(p.broke_first for p in records[0].parts) == 0
    broke = [sum(p.broke_first for p in r.parts) for r in records]
    assert broke == sorted(broke) and broke[-1] > 0  # nested: counts only grow with eps


def outcome(name: str, robust: list[list[bool]]) -> AttackOutcome:
    r = np.array(robust)
    nan = np.full(r.shape, np.nan)
    return AttackOutcome(name, (0.1,), r, np.array([True, True, True, True, False]), nan, nan)


def test_worst_case_gives_each_attack_what_it_broke_first() -> None:
    square = PlannedAttack(ATTACKS.get("square"), {}, "sq")
    pgd = PlannedAttack(ATTACKS.get("pgd"), {})
    a = outcome("pgd", [[False, True, True, True, False]])
    b = outcome("sq", [[False, False, True, True, False]])
    (record,) = worst_case_breakdown("baseline", [(pgd, a), (square, b)])
    assert [(p.name, p.black_box, p.broke_first) for p in record.parts] == [
        ("pgd", False, 1),
        ("sq", True, 1),
    ]
    assert record.clean_correct == 4 and record.robust_accuracy == pytest.approx(2 / 5)


def test_breakdown_round_trips_through_run_json(tmp_path) -> None:
    a = outcome("pgd", [[False, True, True, True, False]])
    records = worst_case_breakdown("baseline", [(PlannedAttack(ATTACKS.get("pgd"), {}), a)] * 2)
    result = RunResult("r", {}, 0, {}, [], [], [], breakdowns=records)
    record = json.loads(rundir.render_run_json(result))
    assert RunResult.from_dict(record).breakdowns == records
    assert isinstance(RunResult.from_dict(record).breakdowns[0], EnsembleBreakdown)
    del record["breakdowns"]  # a run.json written before breakdowns existed still loads
    assert RunResult.from_dict(record).breakdowns == []


# ---------------------------------------------------------------- the rand version


def test_randomized_models_get_the_rand_version() -> None:
    from harness.evaluate import _rand_version

    planned = PlannedAttack(ATTACKS.get("autoattack"), params())
    assert _rand_version(planned).params["version"] == "rand"
    assert planned.params["version"] == "standard"  # the plan's own stays as it was
    pgd = PlannedAttack(ATTACKS.get("pgd"), ATTACKS.get("pgd").resolve(AttackSpec("pgd", {})))
    assert _rand_version(pgd) is pgd  # not an ensemble with versions


@pytest.mark.parametrize("implementation", ["art", "reference"])
def test_rand_version_runs_apgd_ce_and_dlr(digits, implementation: str) -> None:
    if implementation == "reference":
        pytest.importorskip("autoattack")
    _, clf, x, y = digits
    p = params(version="rand", apgd_iter=5, implementation=implementation)
    assert "EoT 20" in ATTACKS.get("autoattack").composition(p, 10)[0]
    with recording() as log:
        x_adv = generate(clf, ATTACKS.get("autoattack"), p, x[:12], y[:12], EPS)
    (noted,) = log
    assert [part.name for part in noted.parts] == ["APGD-CE", "APGD-DLR"]
    survivors = int(np.sum(clf.predict(x_adv).argmax(1) == y[:12]))
    assert sum(noted.broke) == noted.attacked - survivors


def test_report_section_shows_each_part_and_who_ran_it() -> None:
    from harness.report.sections import breakdown

    square = PlannedAttack(ATTACKS.get("square"), {}, "sq")
    pgd = PlannedAttack(ATTACKS.get("pgd"), {})
    a = outcome("pgd", [[False, True, True, True, False]])
    b = outcome("sq", [[False, False, True, True, False]])
    records = worst_case_breakdown("robust", [(pgd, a), (square, b)])
    result = RunResult("r", {}, 0, {}, [], [], [], breakdowns=records)
    assert breakdown.applies(result)
    text = breakdown.markdown(result)
    assert "**worst_case** on **robust**" in text
    assert "| sq | art | black-box | 1 → 40.00% [11.8, 76.9] |" in text  # 2 of 5, Wilson
    assert "| clean-correct |  |  | 4 of 5 |" in text
    assert not breakdown.applies(RunResult("r", {}, 0, {}, [], [], []))
    # the masking check's white-box-first reordering is graded, not tabled
    masking = [dataclasses.replace(r, ensemble="attacks (linf)", reordered=True) for r in records]
    both = RunResult("r", {}, 0, {}, [], [], [], breakdowns=records + masking)
    assert breakdown.markdown(both) == text
    assert not breakdown.applies(RunResult("r", {}, 0, {}, [], [], [], breakdowns=masking))


def test_cli_refuses_reference_without_the_package(monkeypatch, tmp_path, capsys) -> None:
    from harness.cli import main

    monkeypatch.setattr(reference, "available", lambda: False)
    spec = tmp_path / "s.yaml"
    spec.write_text(
        "version: 1\ndataset: {name: digits}\nmodel: {arch: small_cnn}\n"
        "attacks: [{name: autoattack, implementation: reference}]\neps: [0, 0.1]\n"
    )
    assert main(["run", str(spec), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "robustness-harness[reference]" in err[0], err
    assert "Traceback" not in err[0]
