"""The interval maths against published values and an independent implementation (statsmodels),
McNemar against a hand-computed table, and the verdict's headline ε rules."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from harness import stats
from harness.results import rundir
from harness.verdict import headline_eps, upper_bound


def test_wilson_against_known_values() -> None:
    got = stats.wilson(50, 100)
    assert (round(got.low, 3), round(got.high, 3)) == (0.404, 0.596)
    for k, n in ((0, 20), (1, 200), (199, 200), (200, 200), (37, 359)):
        want = proportion_confint(k, n, alpha=0.05, method="wilson")
        assert (stats.wilson(k, n).low, stats.wilson(k, n).high) == pytest.approx(want, abs=1e-12)


def test_unpaired_difference_is_newcombes_hybrid_score_interval() -> None:
    got = stats.unpaired(56, 70, 48, 80)  # Newcombe 1998, Stat Med 17:873, example (a)
    assert (round(got.low, 4), round(got.high, 4)) == (0.0524, 0.3339)
    want = confint_proportions_2indep(30, 200, 41, 200, method="newcomb")
    assert (stats.unpaired(30, 200, 41, 200).low, stats.unpaired(30, 200, 41, 200).high) == (
        pytest.approx(want, abs=1e-12)
    )


def test_mcnemar_against_a_hand_computed_table() -> None:
    # 1 image right only by A, 4 only by B: P = 2 * P(X <= 1 | 5, 1/2) = 2 * 6 / 32
    assert stats.mcnemar(1, 4) == pytest.approx(0.375)
    table = [[90, 1], [4, 105]]
    assert stats.mcnemar(1, 4) == pytest.approx(sm_mcnemar(table, exact=True).pvalue)
    assert stats.mcnemar(0, 0) == 1.0


def test_paired_difference_is_signed_and_reduces_to_the_unpaired_one_when_uncorrelated() -> None:
    ab, ba = stats.paired(10, 5, 1, 4), stats.paired(10, 1, 5, 4)
    assert ab.difference.value == pytest.approx(0.2)
    assert (ab.difference.low, ab.difference.high) == pytest.approx(
        (-ba.difference.high, -ba.difference.low)
    )
    # a table with a*d == b*c has phi = 0: the paired limits are the unpaired ones
    flat = stats.paired(4, 2, 4, 2)
    assert (flat.difference.low, flat.difference.high) == pytest.approx(
        (stats.unpaired(6, 12, 8, 12).low, stats.unpaired(6, 12, 8, 12).high)
    )
    # pairing narrows: 200 images, the models agree on all but 4
    close = stats.paired(150, 3, 1, 46)
    assert close.difference.high - close.difference.low < (
        stats.unpaired(153, 200, 151, 200).high - stats.unpaired(153, 200, 151, 200).low
    )


def test_two_models_one_image_apart_on_200_are_tied() -> None:
    assert not stats.paired(150, 1, 0, 49).significant()
    assert not stats.unpaired(151, 200, 150, 200).excludes_zero()
    assert stats.paired(120, 30, 2, 48).significant()


def test_a_mean_over_correlated_conditions_is_bounded_by_its_two_extremes() -> None:
    """``mean_share``: images that are all right or all wrong under every corruption count once
    (Wilson at n); images whose conditions vary independently count once per condition (Wilson at
    n * cells); anything between lies between."""
    ones = np.array([1.0] * 50 + [0.0] * 50)
    got = stats.mean_share(ones, cells=10)
    assert (got.low, got.high) == pytest.approx(
        (stats.wilson(50, 100).low, stats.wilson(50, 100).high)
    )
    half = np.full(100, 0.5)  # every image right on 5 of its 10 conditions: no spread at all
    got = stats.mean_share(half, cells=10)
    assert (got.low, got.high) == pytest.approx(
        (stats.wilson(500, 1000).low, stats.wilson(500, 1000).high)
    )
    # 100 images, 4 conditions: 40 right on all, 40 right on two, 20 on none; mean 0.6
    # Var(scores) = (40 * .16 + 40 * .01 + 20 * .36) / 99 = 14 / 99; n_eff = .24 / (14 / 9900)
    mixed = np.array([1.0] * 40 + [0.5] * 40 + [0.0] * 20)
    got = stats.mean_share(mixed, cells=4)
    want = proportion_confint(60, 100, alpha=0.05, method="wilson")  # at n = 100, for scale
    n_eff = 0.24 / (14 / 9900)
    z = stats.Z95
    centre = (0.6 + z * z / (2 * n_eff)) / (1 + z * z / n_eff)
    half_width = z * np.sqrt(0.24 / n_eff + z * z / (4 * n_eff**2)) / (1 + z * z / n_eff)
    assert (got.low, got.high) == pytest.approx((centre - half_width, centre + half_width))
    assert want[0] < got.low and got.high < want[1]


def test_headline_eps_rules(digits_runs) -> None:
    result = rundir.read_run(digits_runs[0]).result
    assert headline_eps(result) == (
        0.15,
        "the training ε of defence `robust`, adversarial_training",
    )
    given = dataclasses.replace(result, spec=result.spec | {"headline": 0.1})
    assert headline_eps(given) == (0.1, "the spec's `headline:`")
    nothing = dataclasses.replace(
        result, models=[dataclasses.replace(m, defence=None) for m in result.models]
    )
    assert headline_eps(nothing) == (0.15, "the middle of the sweep")  # digits: no convention
    mnist = dataclasses.replace(nothing, data=dataclasses.replace(nothing.data, name="mnist"))
    assert headline_eps(mnist) == (0.3, "the conventional ε for mnist")
    assert "upper bounds" in upper_bound(result)  # FGSM only


def test_the_verdict_is_the_reports_first_screen(digits_runs) -> None:
    lines = (digits_runs[0] / "report.md").read_text().splitlines()
    first = "\n".join(lines[:40])
    assert "## Verdict" in first and "![robustness curve](robustness_curve.png)" in first
    assert "Robust accuracy at **ε = 0.15** (the training ε of defence `robust`" in first
    assert "| baseline | " in first and "[" in first.split("| baseline | ")[1].split("\n")[0]
    assert "**Upper bound:**" in first
    assert lines.index("# Appendix") > lines.index("## Robustness sweep")
    assert lines.index("## Spec") > lines.index("# Appendix")


def test_runs_keep_per_image_flags_that_add_up_to_results_csv(digits_runs) -> None:
    from harness.results.flags import CLEAN, find

    result = rundir.read_run(digits_runs[0]).result
    idx = {(m.model, m.attack, m.eps, m.metric): m.value for m in result.measurements}
    for role in ("baseline", "robust"):
        clean = find(result.flags, role, CLEAN)
        assert clean is not None and clean.mean() == idx[(role, "none", 0.0, "clean_accuracy")]
        for eps in (0.05, 0.15, 0.3):
            robust = find(result.flags, role, "fgsm", eps)
            assert robust.mean() == idx[(role, "fgsm", eps, "robust_accuracy")]
            assert not (robust & ~clean).any()  # never right under attack when wrong clean


def test_the_verdicts_change_is_paired_image_by_image(digits_runs) -> None:
    from harness.results.flags import find
    from harness.verdict import change

    result = rundir.read_run(digits_runs[0]).result
    c = change(result, "robust", result, "baseline", "fgsm", 0.15)
    a, b = find(result.flags, "robust", "fgsm", 0.15), find(result.flags, "baseline", "fgsm", 0.15)
    want = stats.paired_flags(a, b)
    assert c.paired and c.difference == want.difference and c.p_value == want.p_value
    wider = stats.unpaired(int(a.sum()), len(a), int(b.sum()), len(b))
    assert c.difference.high - c.difference.low < wider.high - wider.low  # pairing narrows
    report = (digits_runs[0] / "report.md").read_text()
    assert f"robust vs baseline, fgsm: {c.difference.pp_text()}" in report
    assert f"McNemar p = {c.p_value:.2g}" in report and "Changes are paired" in report
    older = dataclasses.replace(result, flags=[])  # a run written before flags were kept
    assert not change(older, "robust", older, "baseline", "fgsm", 0.15).paired


def test_every_accuracy_a_reader_sees_carries_its_interval(digits_runs, tmp_path) -> None:
    """Walk the answer sections of report.md and report.html, and compare.md's leaderboard: no
    table cell is a bare percentage."""
    import re

    from harness.cli import main

    bare = re.compile(r"^\d+\.\d+%$|^[-+]\d+\.\d+ pp$")  # a share or a change, no interval
    md = (digits_runs[0] / "report.md").read_text()
    sections = {"Verdict", "Robustness sweep", "Defence comparison", "Clean accuracy"}
    seen = set()
    for block in md.split("\n## ")[1:]:
        heading = block.splitlines()[0]
        if heading not in sections:
            continue
        seen.add(heading)
        cells = [
            c.strip()
            for line in block.splitlines()
            if line.startswith("|")
            for c in line.split("|")
        ]
        assert not [c for c in cells if bare.match(c)], heading
        assert any("% [" in c for c in cells), heading
    assert seen == sections
    page = (digits_runs[0] / "report.html").read_text()
    assert not re.search(r"<td>\d+\.\d+%</td>", page.split("<h2>Evaluation sanity checks")[0])
    out = tmp_path / "cmp"
    assert main(["compare", *map(str, digits_runs), "--out", str(out)]) == 0
    board = (out / "compare.md").read_text().split("## Leaderboard")[1].split("\n## ")[0]
    rows = [line for line in board.splitlines() if line.startswith("| ") and "%" in line]
    assert rows and all("% [" in r for r in rows)


def test_attack_confusion_counts_add_up_to_robust_accuracy(digits_runs) -> None:
    result = rundir.read_run(digits_runs[0]).result
    idx = {(m.model, m.attack, m.eps, m.metric): m.value for m in result.measurements}
    for c in result.attack_confusion:
        for e, counts in zip(c.eps, c.counts, strict=True):
            diagonal = sum(counts[i][i] for i in range(len(counts)))
            total = sum(map(sum, counts))
            assert total == result.data.n_test
            assert diagonal / total == idx[(c.model, c.attack, e, "robust_accuracy")]
        assert c.counts[0] == next(m.confusion for m in result.models if m.role == c.model)
    report = (digits_runs[0] / "report.md").read_text()
    assert "## Where the attack pushes" in report
    assert "![robust under fgsm](confusion_attacked_robust.png)" in report
    assert (digits_runs[0] / "confusion_attacked_robust.png").is_file()


def test_a_headline_the_spec_does_not_sweep_is_one_line() -> None:
    from harness.errors import HarnessError
    from harness.plan import validate
    from harness.spec import parse_spec

    with pytest.raises(HarnessError) as err:
        validate(parse_spec({"name": "t", "eps": [0, 0.1, 0.2], "headline": 0.12}))
    assert str(err.value) == "headline: 0.12 is not an ε the spec sweeps above 0 (eps: 0.1, 0.2)"
    validate(parse_spec({"name": "t", "eps": [0, 0.1, 0.2], "headline": "1/10"}))
