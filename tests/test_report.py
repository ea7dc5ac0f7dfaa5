"""The report writer: files, CSV round trip and stability, Markdown content, atomicity."""

from __future__ import annotations

import dataclasses
import importlib
import json
import re
import textwrap

import numpy as np
import pytest

from harness import plots, reading, report
from harness.errors import HarnessError
from harness.outputs import MARKER
from harness.perturbation import magnified
from harness.report import run as run_report
from harness.results import (
    CSV_COLUMNS,
    AttackRecord,
    ClassStats,
    DataSummary,
    DefenceRecord,
    EpochStats,
    EvasionRow,
    ExampleGrid,
    GradcamPanel,
    Measurement,
    MinimalPerturbation,
    ModelResult,
    NoiseProbe,
    RunResult,
    rundir,
)

CLASSES = ["cat", "dog", "bird"]
EPS = (0.0, 0.03137254901960784, 0.1)  # 0, 8/255, 0.1
# robust accuracy at each eps: baseline collapses, the hardened model holds up
ROBUST_ACC = {"baseline": (0.9499, 0.4392, 0.0958), "robust": (0.9366, 0.8055, 0.3784)}
# (0.8055 - 0.4392) * 100 with Newcombe's unpaired interval on 244/303 - 133/303 (the fixture
# keeps no per-image flags), as statsmodels' confint_proportions_2indep(method="newcomb") gives
IMPROVEMENT_AT_8_255 = "+36.63 pp [+29.22, +43.45]"
IMPROVEMENT_AT_0_1 = "+28.26 pp [+21.86, +34.64]"  # (0.3784 - 0.0958) * 100; 115/303 - 29/303


def _measurements() -> list[Measurement]:
    rows = []
    for model, accs in ROBUST_ACC.items():
        rows.append(Measurement(model, "none", 0.0, "clean_accuracy", accs[0]))
        for eps, acc in zip(EPS, accs, strict=True):
            rows += [
                Measurement(model, "fgsm", eps, "robust_accuracy", acc),
                Measurement(model, "fgsm", eps, "attack_success_rate", 1 - acc / accs[0]),
                Measurement(model, "fgsm", eps, "mean_linf", eps),
                Measurement(model, "fgsm", eps, "mean_l2", eps * 7.3),
            ]
    return rows


def _model(role: str, acc: float, defence: DefenceRecord | None) -> ModelResult:
    per_class = [
        ClassStats(name, 0.9 + 0.01 * i, 0.92 - 0.02 * i, 0.91 - 0.005 * i, 100 + i)
        for i, name in enumerate(CLASSES)
    ]
    history = [
        EpochStats(e, 0.5 / e, 0.8 + 0.03 * e, 0.6 / e, 0.78 + 0.03 * e, 1.25 * e)
        for e in (1, 2, 3)
    ]
    return ModelResult(
        role=role,
        arch="small_cnn",
        n_params=45_123,
        clean_accuracy=acc,
        per_class=per_class,
        confusion=[[95, 3, 2], [4, 90, 7], [1, 5, 96]],
        history=history,
        training="trained",
        weights=f"models/demo/{role}-abc.pt",
        gradcam_layer="net.features.3",
        defence=defence,
    )


def _panel(rng: np.random.Generator) -> GradcamPanel:
    k, roles = 2, ("baseline", "robust")
    clean = rng.random((k, 3, 8, 8), dtype=np.float32)
    return GradcamPanel(
        eps=0.1,
        attack="fgsm",
        indices=[4, 17],
        labels=["cat", "bird"],
        clean=clean,
        adversarial={
            r: np.clip(clean + 0.1 * rng.standard_normal(clean.shape), 0, 1) for r in roles
        },
        cams_clean={r: rng.random((k, 8, 8), dtype=np.float32) for r in roles},
        cams_adv={r: rng.random((k, 8, 8), dtype=np.float32) for r in roles},
        preds_clean={r: ["cat", "bird"] for r in roles},
        preds_adv={"baseline": ["dog", "dog"], "robust": ["cat", "bird"]},
    )


@pytest.fixture
def result() -> RunResult:
    defence = DefenceRecord(
        "adversarial_training",
        "robust",
        "small_cnn",
        {"attack": "fgsm", "eps_train": 0.1, "ratio": 0.5},
        {"epochs": 3, "batch_size": 64, "lr": 0.001},
    )
    return RunResult(
        name="demo",
        spec={
            "name": "demo",
            "version": 1,
            "description": "A hand-made result.",
            "seed": 3,
            "eps": list(EPS),
            "evasion": {"n_images": 1, "eps_max": 0.1, "eps_step": 0.0025},
        },
        seed=3,
        data=DataSummary(
            name="toy",
            source="/data/toy",
            class_names=CLASSES,
            input_shape=[3, 8, 8],
            n_train=900,
            n_val=100,
            n_test=303,
            test_class_counts=[100, 101, 102],
        ),
        models=[_model("baseline", 0.9499, None), _model("robust", 0.9366, defence)],
        measurements=_measurements(),
        attacks=[AttackRecord(name="fgsm", attack="fgsm", norm="linf", params={"batch_size": 256})],
        evasion=[
            EvasionRow("baseline", 4, "cat", "cat", 0.98, 0.0125, "dog", 0.61),
            EvasionRow("robust", 4, "cat", "cat", 0.95, None, "cat", 0.72),
        ],
        gradcam=_panel(np.random.default_rng(0)),
        provenance={
            "spec_hash": "0123456789ab",
            "git_commit": "deadbeef+dirty",
            "seed": 3,
            "versions": {"python": "3.11", "torch": "2.14.1"},
            "timings_seconds": {"build": 1.5, "break": 2.25, "total": 4.0},
        },
    )


def test_writes_every_file(result, tmp_path) -> None:
    out = report.write_report(result, tmp_path / "rep")
    assert out == tmp_path / "rep"
    names = {p.name for p in out.iterdir()}
    assert names == {
        "results.csv",
        "run.json",
        "report.md",
        "report.html",
        "card.json",
        "card.md",
        "robustness_curve.png",
        "confusion_baseline.png",
        "confusion_robust.png",
        "gradcam.png",
        "gradcam.npz",
    }
    for png in out.glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]  # no temp folder left behind


def test_gradcam_npz_round_trips(result, tmp_path) -> None:
    out = report.write_report(result, tmp_path / "rep")
    with np.load(out / "gradcam.npz", allow_pickle=False) as arrays:  # plain dtypes only
        back = rundir.gradcam_from_arrays(arrays)
    panel = result.gradcam
    assert (back.eps, back.attack, back.indices, back.labels) == (
        panel.eps,
        panel.attack,
        panel.indices,
        panel.labels,
    )
    np.testing.assert_array_equal(back.clean, panel.clean)
    assert list(back.cams_clean) == list(panel.cams_clean)
    for role in panel.cams_clean:
        np.testing.assert_array_equal(back.adversarial[role], panel.adversarial[role])
        np.testing.assert_array_equal(back.cams_clean[role], panel.cams_clean[role])
        np.testing.assert_array_equal(back.cams_adv[role], panel.cams_adv[role])
        assert back.preds_clean[role] == panel.preds_clean[role]
        assert back.preds_adv[role] == panel.preds_adv[role]


def test_no_gradcam_png_without_panel(result, tmp_path) -> None:
    result.gradcam = None
    out = report.write_report(result, tmp_path / "rep")
    assert not (out / "gradcam.png").exists()
    assert not (out / "gradcam.npz").exists()
    assert "gradcam.png" not in (out / "report.md").read_text()


def test_csv_header_round_trip_and_stability(result, tmp_path) -> None:
    a = report.write_report(result, tmp_path / "a")
    b = report.write_report(result, tmp_path / "b")
    text = (a / "results.csv").read_text()
    assert text.splitlines()[0] == "model,attack,eps,metric,value" == ",".join(CSV_COLUMNS)
    assert len(text.splitlines()) == 1 + len(result.measurements)
    assert rundir.read_csv(a / "results.csv") == result.measurements  # exact floats, same order
    assert (a / "results.csv").read_bytes() == (b / "results.csv").read_bytes()
    assert "baseline,fgsm,0.03137254901960784,robust_accuracy,0.4392\n" in text
    assert "baseline,none,0.0,clean_accuracy,0.9499\n" in text


def test_read_csv_rejects_a_wrong_header(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("model,attack,epsilon,metric,value\n")
    with pytest.raises(ValueError, match="expected the header model,attack,eps,metric,value"):
        rundir.read_csv(path)


def test_run_json_round_trips(result, tmp_path) -> None:
    out = report.write_report(result, tmp_path / "rep")
    text = (out / "run.json").read_text()
    back = RunResult.from_dict(json.loads(text))
    expected = RunResult(**{**vars(result), "gradcam": None})  # arrays are not in run.json
    assert back == expected
    files = sorted(p.name for p in out.iterdir())  # the writer's mark: what it wrote
    record = result.to_dict() | {MARKER: {"kind": "run", "files": files}}
    assert text == json.dumps(record, sort_keys=True, indent=2) + "\n"


def test_markdown_content(result, tmp_path) -> None:
    md = (report.write_report(result, tmp_path / "rep") / "report.md").read_text()
    assert md.startswith("# Robustness report: demo\n")
    for term in ("Clean accuracy", "Robust accuracy", "Attack success rate"):
        assert term in md
    assert "over ALL test samples" in md and "misclassified clean count as failures" in md
    for heading in (
        "## Spec",
        "## Data",
        "## Models",
        "## Training",
        "## Clean accuracy",
        "## Attacks",
        "## Robustness sweep",
        "## Grad-CAM",
        "## Single-image evasion",
        "## Provenance",
    ):
        assert heading in md, heading
    assert "```yaml\nname: demo\n" in md
    assert "94.99%" in md and "93.66%" in md
    for image in (
        "robustness_curve.png",
        "confusion_baseline.png",
        "confusion_robust.png",
        "gradcam.png",
    ):
        assert f"]({image})" in md


def test_sweep_table_and_improvement(result) -> None:
    md = report.render_markdown(result)
    header = next(line for line in md.splitlines() if line.startswith("| ε |"))
    assert "robust acc (baseline)" in header and "success rate (robust)" in header
    assert (
        "improvement" in header and "mean L∞ (baseline)" in header and "mean L2 (robust)" in header
    )
    row = next(line for line in md.splitlines() if line.startswith("| 0.03137 (8/255) |"))
    assert "| 43.92% [38.4, 49.5] |" in row and "| 80.55% [75.7, 84.6] |" in row  # 95% Wilson
    assert f"| {IMPROVEMENT_AT_8_255} |" in row
    row = next(line for line in md.splitlines() if line.startswith("| 0.1 |"))
    assert f"| {IMPROVEMENT_AT_0_1} |" in row


def test_sweep_without_a_robust_model_has_no_improvement(result) -> None:
    result.models = result.models[:1]
    result.measurements = [m for m in result.measurements if m.model == "baseline"]
    result.gradcam = None
    md = report.render_markdown(result)
    assert "improvement" not in md and "| ε | robust acc (baseline) |" in md


def _bare(line: str) -> str:
    """A table row without its cells' intervals ("87.74% [83.9, 90.7]" -> "87.74%")."""
    return re.sub(r" \[[-+0-9.]+, [-+0-9.]+\]", "", line)


def _relabel(result: RunResult, old: str, new: str) -> None:
    for m in result.models:
        m.role = new if m.role == old else m.role
    result.measurements = [
        dataclasses.replace(m, model=new if m.model == old else m.model)
        for m in result.measurements
    ]


def test_improvement_is_shown_whatever_the_defence_is_labelled(result) -> None:
    """The hardened model is the one a defence produced (its record), not the label "robust"."""
    _relabel(result, "robust", "fgsm_at")
    result.gradcam = None
    md = report.render_markdown(result)
    header = next(line for line in md.splitlines() if line.startswith("| ε |"))
    assert "| success rate (fgsm_at) | improvement |" in header
    row = next(line for line in md.splitlines() if line.startswith("| 0.03137 (8/255) |"))
    assert f"| {IMPROVEMENT_AT_8_255} |" in row
    verdict = md[: md.index("![robustness curve]")]
    assert "| fgsm_at |" in verdict and "- fgsm_at vs baseline, fgsm: " in verdict
    assert "*improvement*: the fgsm_at model's robust accuracy minus the baseline's" in md


def test_each_hardened_model_gets_its_own_improvement(result) -> None:
    second = dataclasses.replace(
        result.models[1], role="trades", defence=DefenceRecord("trades", "trades", None)
    )
    result.models.append(second)
    result.measurements += [
        dataclasses.replace(m, model="trades", value=m.value / 2)
        for m in result.measurements
        if m.model == "robust"
    ]
    result.gradcam = None
    md = report.render_markdown(result)
    header = next(line for line in md.splitlines() if line.startswith("| ε |"))
    assert "| improvement (robust) | improvement (trades) |" in header
    row = next(line for line in md.splitlines() if line.startswith("| 0.1 |"))
    # (0.3784 / 2 - 0.0958) * 100 = +9.34 pp; interval on 57/303 - 29/303 (Newcombe, unpaired)
    assert f"| {IMPROVEMENT_AT_0_1} | +9.34 pp [+3.70, +14.79] |" in row
    verdict = md[: md.index("![robustness curve]")]
    assert "- robust vs baseline, fgsm: " in verdict and "- trades vs baseline, fgsm: " in verdict


def test_a_new_section_is_one_module_and_one_line_in_the_list(
    result, tmp_path, monkeypatch
) -> None:
    """A section module (applies, markdown, figures) written to a new file and added to the run
    report's list shows up in report.md, and its figure is written beside it."""
    (tmp_path / "calibration_section.py").write_text(
        textwrap.dedent(
            """
            from matplotlib.figure import Figure

            def applies(result):
                return bool(result.models)

            def markdown(result):
                return "## Calibration\\n\\n" + ", ".join(m.role for m in result.models)

            def figures(result):
                return {"calibration.png": Figure}
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    section = importlib.import_module("calibration_section")
    monkeypatch.setattr(run_report, "RUN_REPORT", [*run_report.RUN_REPORT, section])
    out = report.write_report(result, tmp_path / "rep")
    md = (out / "report.md").read_text()
    assert md.endswith("## Calibration\n\nbaseline, robust\n")
    assert (out / "calibration.png").read_bytes()[:4] == b"\x89PNG"
    assert "calibration.png" in json.loads((out / "run.json").read_text())[MARKER]["files"]
    result.models = []
    assert "## Calibration" not in run_report.render_markdown(result)  # applies() said no


def test_evasion_table(result) -> None:
    md = report.render_markdown(result)
    assert "| baseline | 4 | cat | cat (98.00%) | 0.0125 | dog (61.00%) |" in md
    assert "| robust | 4 | cat | cat (95.00%) | not flipped ≤ 0.1 | cat (72.00%) |" in md


def test_provenance_section(result) -> None:
    md = report.render_markdown(result)
    section = md[md.index("## Provenance") :]
    for text in ("0123456789ab", "deadbeef+dirty", "| torch | 2.14.1 |", "| break | 2.25 |"):
        assert text in section


def test_failure_leaves_no_report_and_no_temp_folder(result, tmp_path, monkeypatch) -> None:
    def boom(*args, **kwargs):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr("harness.plots.confusion", boom)
    with pytest.raises(RuntimeError, match="plotting failed"):
        report.write_report(result, tmp_path / "rep")
    assert list(tmp_path.iterdir()) == []


def test_failure_keeps_an_existing_report_intact(result, tmp_path, monkeypatch) -> None:
    out = report.write_report(result, tmp_path / "rep")
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    monkeypatch.setattr("harness.plots.gradcam_grid", lambda panel: 1 / 0)
    result.name = "changed"
    with pytest.raises(ZeroDivisionError):
        report.write_report(result, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_rewrite_replaces_the_old_report_only_when_asked(result, tmp_path) -> None:
    out = report.write_report(result, tmp_path / "rep")
    (out / "stale.png").write_text("from an older run")
    with pytest.raises(HarnessError, match="not empty"):
        report.write_report(result, out)  # harness.outputs decides whether it may go
    assert (out / "stale.png").exists()
    report.write_report(result, out, replace=True)
    assert not (out / "stale.png").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["rep"]


def test_percent_and_points_formatting() -> None:
    assert reading.pct(0.9499) == "94.99%"
    assert reading.pp(0.8055 - 0.4392) == "+36.63 pp"
    assert reading.pp(-0.0133) == "-1.33 pp"
    assert reading.num(8 / 255) == "0.03137 (8/255)" and reading.num(0.2) == "0.2"


def test_extra_model_roles_are_reported(result) -> None:
    extra = [
        Measurement("other", m.attack, m.eps, m.metric, m.value)
        for m in result.measurements
        if m.model == "robust"
    ]
    result.measurements += extra
    md = report.render_markdown(result)
    assert "robust acc (other)" in md and "improvement" in md


# ---------------------------------------------------------------- targeted, worst case, probes

# worst case over the untargeted attacks: (robust accuracy, success rate) per eps
WORST = {
    "baseline": ((0.9499, 0.0), (0.40, 0.5789), (0.05, 0.9474)),
    "robust": ((0.9366, 0.0), (0.78, 0.1672), (0.35, 0.6263)),
}
TARGETED = {"baseline": (0.0, 0.3311, 0.6123), "robust": (0.0, 0.0542, 0.2001)}


def _grid(model: str, rng: np.random.Generator) -> ExampleGrid:
    clean = rng.random((2, 3, 8, 8), dtype=np.float32)
    delta = np.float32(0.1) * np.sign(rng.standard_normal(clean.shape, dtype=np.float32))
    return ExampleGrid(
        attack="fgsm",
        eps=0.1,
        model=model,
        indices=[4, 17],
        clean=clean,
        adversarial=np.clip(clean + delta, 0, 1),
        true_labels=["cat", "bird"],
        clean_preds=["cat", "bird"],
        adv_preds=["dog", "bird"] if model == "baseline" else ["cat", "bird"],
    )


@pytest.fixture
def full(result) -> RunResult:
    """The hand-made result plus a targeted attack, the worst case, probes and example grids."""
    for model in ROBUST_ACC:
        for e, eps in enumerate(EPS):
            acc, rate = WORST[model][e]
            result.measurements += [
                Measurement(model, "worst_case", eps, "robust_accuracy", acc),
                Measurement(model, "worst_case", eps, "attack_success_rate", rate),
            ]
            for metric, value in (
                ("robust_accuracy", 0.9),
                ("attack_success_rate", TARGETED[model][e] + 0.01),
                ("targeted_success_rate", TARGETED[model][e]),
                ("mean_linf", eps),
                ("mean_l2", eps * 7.3),
            ):
                result.measurements.append(Measurement(model, "fgsm_to_cat", eps, metric, value))
    params = {"batch_size": 256, "targeted": True, "target": 0, "seed": 0}
    result.attacks.append(
        AttackRecord(name="fgsm_to_cat", attack="fgsm_to_cat", norm="linf", params=params)
    )
    result.noise = [
        NoiseProbe("baseline", 1000, 0.9, 0.703, 0.812, {"cat": 498, "dog": 0, "bird": 205}),
        NoiseProbe("robust", 1000, 0.9, 0.0, 0.412, {"cat": 0, "dog": 0, "bird": 0}),
    ]
    inf = float("inf")
    result.minimal = [
        MinimalPerturbation("baseline", "deepfool", "l2", 4, 0.25, [0.1, 0.2, 0.3, inf], 0.0123),
        MinimalPerturbation("robust", "deepfool", "l2", 4, inf, [0.5, inf, inf, inf], 0.0456),
    ]
    rng = np.random.default_rng(1)
    result.examples = [_grid("baseline", rng), _grid("robust", rng)]
    return result


def _lines_after(md: str, heading: str) -> list[str]:
    return md[md.index(heading) :].splitlines()


def test_full_report_writes_the_new_figures(full, tmp_path) -> None:
    out = report.write_report(full, tmp_path / "rep")
    new = {"noise_probe.png", "minimal_cdf.png"}
    new |= {"examples_baseline_fgsm.png", "examples_robust_fgsm.png"}
    assert new <= {p.name for p in out.iterdir()}
    md = (out / "report.md").read_text()
    for name in new:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"]({name})" in md
    back = RunResult.from_dict(json.loads((out / "run.json").read_text()))
    assert back == RunResult(**{**vars(full), "gradcam": None, "examples": []})


def test_worst_case_table_has_no_perturbation_columns(full) -> None:
    md = report.render_markdown(full)
    lines = _lines_after(md, "### worst case over all untargeted attacks (per sample)")
    header = lines[2]
    assert header == (
        "| ε | robust acc (baseline) | success rate (baseline) | robust acc (robust) "
        "| success rate (robust) | improvement |"
    )
    assert "| 0.1 | 5.00% | 94.74% | 35.00% | 62.63% | +30.00 pp |" in map(_bare, lines[:8])
    assert "every untargeted attack above failed on it" in md
    verdict = md[: md.index("![robustness curve]")]
    assert "worst case (per sample) |" in verdict.splitlines()[8]  # the verdict table's header
    assert reading.attack_norms(full)["worst_case"] == "L∞"
    full.attacks.append(AttackRecord(name="deepfool", attack="deepfool", norm="l2", params={}))
    assert reading.attack_norms(full)["worst_case"] == "each attack's norm"


def test_targeted_success_column(full) -> None:
    md = report.render_markdown(full)
    lines = _lines_after(md, "### fgsm_to_cat")
    assert (
        "| improvement | targeted success (baseline) | targeted success (robust) | mean L∞"
        in lines[2]
    )
    row = next(line for line in lines if line.startswith("| 0.1 |"))
    assert "| +0.00 pp | 61.23% | 20.01% | 0.1000 |" in _bare(row)
    assert "predicted as the target class" in md
    fgsm = _lines_after(md, "### fgsm")[2]
    assert "targeted success" not in fgsm  # only for the attacks that have it


def test_noise_section(full) -> None:
    md = report.render_markdown(full)
    assert "## Noise overconfidence probe" in md
    assert (
        "| baseline | 1,000 | 0.9 | 70.30% (703) | 81.20% "
        "| cat 498 (70.8%), dog 0 (0.0%), bird 205 (29.2%) |"
    ) in md
    assert "| robust | 1,000 | 0.9 | 0.00% (0) | 41.20% | cat 0, dog 0, bird 0 |" in md


def test_minimal_section(full) -> None:
    md = report.render_markdown(full)
    assert "## Minimal perturbations" in md
    assert "| baseline | deepfool | L2 | 4 | 0.2500 | 3 / 4 (75.00%) | 0.0123 |" in md
    assert (
        "| robust | deepfool | L2 | 4 | ∞ (half or more not found) | 1 / 4 (25.00%) | 0.0456 |"
        in md
    )
    assert "FGSM-based" in md


def test_examples_section(full) -> None:
    md = report.render_markdown(full)
    assert "### baseline: fgsm at ε = 0.1" in md
    assert "Test images 4, 17; predictions changed: 1 / 2." in md
    assert "Test images 4, 17; predictions changed: 0 / 2." in md
    assert "magnification" in md


def test_no_probe_sections_without_probes(result) -> None:
    md = report.render_markdown(result)
    for heading in ("## Noise", "## Minimal", "## Adversarial examples", "worst case"):
        assert heading not in md
    assert set(report.figures(result)) == {
        "robustness_curve.png",
        "confusion_baseline.png",
        "confusion_robust.png",
        "gradcam.png",
    }


def test_cdf_points_and_magnification() -> None:
    x, y = plots.cdf_points([0.3, float("inf"), 0.1, 0.2])
    np.testing.assert_array_equal(x, [0.0, 0.1, 0.2, 0.3])
    np.testing.assert_array_equal(y, [0.0, 0.25, 0.5, 0.75])  # the not-found sample never counts
    shown, k = magnified(np.array([[[-0.1, 0.05], [0.0, 0.1]]]))
    assert k == pytest.approx(5.0)
    np.testing.assert_allclose(shown, [[[0.0, 0.75], [0.5, 1.0]]])
    assert magnified(np.zeros((1, 2, 2)))[1] == 0.0


def test_a_second_grid_of_the_same_pair_gets_its_eps(full) -> None:
    full.examples.append(dataclasses.replace(full.examples[0], eps=0.2))
    assert report.example_files(full.examples)[-1] == "examples_baseline_fgsm_eps0.2.png"
