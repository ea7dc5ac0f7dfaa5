"""Render a ``RunResult`` to a report folder: results.csv, run.json, report.md and PNG figures.

Every ``render_*`` / section function is pure (returns a string or a figure); only
``write_report`` and the CSV helpers touch the disk. ``write_report`` builds the whole folder in a
temporary directory and renames it into place, so a failure never leaves a half-written report.
The Grad-CAM arrays are kept beside their figure in ``gradcam.npz`` (see ``rundir.gradcam_arrays``), so
``harness.compare`` can show the same images across runs long after they were made.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from matplotlib.figure import Figure

from harness import defence_report, plots
from harness.explain import cam_similarity
from harness.reading import (
    DASH,
    NORMS,
    PLOT_TITLES,
    WORST_CASE,
    Key,
    attack_names,
    attack_norms,
    attack_title,
    class_names,
    clean_accuracy,
    eps_values,
    index,
    num,
    params_text,
    pct,
    pp,
    roles,
    table,
)
from harness.reference import section_reference
from harness.results import (
    AttentionRow,
    Check,
    ExampleGrid,
    GradcamPanel,
    MinimalPerturbation,
    ModelResult,
    NoiseProbe,
    RunResult,
    rundir,
    summary,
)

# ---------------------------------------------------------------- the writer (the only I/O)


def write_report(result: RunResult, out_dir: str | Path, *, replace: bool = False) -> Path:
    """Write the report folder ``out_dir`` (``harness.results.rundir.write_run``): the run's
    files, its figures, then report.md. ``replace``: it holds an earlier report that may go
    (``harness.outputs.report_target`` decides), replaced only once the new one is complete."""
    made = figures(result)
    files: dict[str, rundir.Writer] = {
        name: (lambda path, make=make: plots.save(make(), path)) for name, make in made.items()
    }
    files["report.md"] = rundir.text_writer(lambda: render_markdown(result))
    return rundir.write_run(result, out_dir, files, replace=replace)


def figures(result: RunResult) -> dict[str, Callable[[], Figure]]:
    """File name -> figure builder; built one at a time so only one figure is alive."""
    names = class_names(result)
    clean = {role: clean_accuracy(result, role) for role in roles(result)}
    titles = {a: PLOT_TITLES[a] for a in attack_names(result) if a in PLOT_TITLES}
    out: dict[str, Callable[[], Figure]] = {
        "robustness_curve.png": lambda: plots.robustness_curve(
            result.measurements, clean, attack_norms(result), len(names) or None, titles
        )
    }
    for m in result.models:
        out[confusion_file(m.role)] = lambda m=m: plots.confusion(m, names)
    if result.gradcam is not None:
        out["gradcam.png"] = lambda: plots.gradcam_grid(result.gradcam)
    if result.attention:
        out[ATTENTION_PNG] = lambda: plots.attention_shift(result.attention)
    if result.noise:
        out[NOISE_PNG] = lambda: plots.noise_probe(result.noise)
    if result.minimal:
        out[MINIMAL_PNG] = lambda: plots.minimal_cdf(result.minimal)
    for grid, name in zip(result.examples, example_files(result.examples), strict=True):
        out[name] = lambda grid=grid: plots.example_grid(grid)
    for m in result.models:
        wa = m.weight_analysis
        if wa is not None and wa.epochs:
            title = f"{m.role}: weight and bias histograms per epoch"
            out[weights_file(m.role)] = lambda wa=wa, t=title: plots.weight_histograms(wa, t)
        if wa is not None and any(r.get("esd_counts") for r in wa.layers):
            title = f"{m.role}: empirical spectral density per layer"
            out[esd_file(m.role)] = lambda wa=wa, t=title: plots.esd_panels(wa, t)
    return out | defence_report.figures(result)


# ---------------------------------------------------------------- lookups


def confusion_file(role: str) -> str:
    return f"confusion_{_safe(role)}.png"


def weights_file(role: str) -> str:
    return f"weights_{_safe(role)}.png"


def esd_file(role: str) -> str:
    return f"esd_{_safe(role)}.png"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


NOISE_PNG = "noise_probe.png"
MINIMAL_PNG = "minimal_cdf.png"
ATTENTION_PNG = "attention_shift.png"


def example_files(grids: Sequence[ExampleGrid]) -> list[str]:
    """``examples_<model>_<attack>.png`` per grid; a second grid of the same pair adds its ε."""
    names: list[str] = []
    for g in grids:
        name = f"examples_{_safe(g.model)}_{_safe(g.attack)}.png"
        if name in names:
            name = name.replace(".png", f"_eps{g.eps:.4g}.png")
        names.append(name)
    return names


# ---------------------------------------------------------------- report.md


def render_markdown(result: RunResult) -> str:
    sections = [
        section_title(result),
        section_metrics(result.attacks),
        section_summary(result),
        section_spec(result.spec),
        section_data(result.data),
        section_models(result.models),
        section_training(result.models, result.spec),
        section_clean(result.models),
        section_attacks(result.attacks),
        section_sweep(result),
        section_reference(result),
        defence_report.section_defences(result),
        defence_report.section_naive(result),
        defence_report.section_certified(result),
        section_sanity(result.sanity),
        section_noise(result.noise),
        section_minimal(result.minimal),
        section_examples(result.examples),
        section_gradcam(result.gradcam, result.models),
        section_attention(result.attention),
        section_evasion(result),
        section_weights(result.models),
        section_provenance(result),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def section_title(result: RunResult) -> str:
    description = str(result.spec.get("description") or "").strip()
    return f"# Robustness report: {result.name}" + (f"\n\n{description}" if description else "")


def section_metrics(attacks: Sequence[dict[str, Any]]) -> str:
    norms = {NORMS.get(str(a.get("norm", "linf")), str(a.get("norm"))) for a in attacks} or {"L∞"}
    norm_text = (
        "L∞ bounds"
        if norms == {"L∞"}
        else f"bounds in each attack's norm ({', '.join(sorted(norms))})"
    )
    return (
        "**Metrics.** *Clean accuracy*: correct predictions on clean inputs over all test samples. "
        "*Robust accuracy*: correct predictions on attacked inputs over ALL test samples; "
        "samples misclassified clean count as failures (they are not attacked). "
        "*Attack success rate*: the fraction of the clean-correct samples whose prediction the "
        f"attack changed. Epsilons (ε) are {norm_text} in [0, 1] pixel units "
        "(8/255 ≈ 0.0314); ε = 0 is the clean input."
    )


def section_summary(result: RunResult) -> str:
    rs = roles(result)
    lines = [
        "Clean accuracy: " + ", ".join(f"{r} {pct(clean_accuracy(result, r))}" for r in rs) + "."
    ]
    idx = index(result.measurements)
    for attack in attack_names(result):
        eps = eps_values(result.measurements, attack)
        if not eps:
            continue
        e = eps[-1]
        accs = ", ".join(f"{r} {pct(idx.get((r, attack, e, 'robust_accuracy')))}" for r in rs)
        gain = _improvement(idx, attack, e, rs)
        extra = f" (improvement {pp(gain)})" if gain is not None else ""
        lines.append(
            f"Robust accuracy under {attack_title(attack)} at ε = {num(e)}: {accs}{extra}."
        )
    if result.sanity:
        lines.append(f"Evaluation sanity checks: {summary(result.sanity)} (details below).")
    return "## Summary\n\n" + "\n".join(f"- {line}" for line in lines)


class _SpecDumper(yaml.SafeDumper):
    """Block mappings, but lists of scalars on one line (``eps: [0.0, 0.05, 0.1]``)."""


def _represent_list(dumper: yaml.SafeDumper, value: list | tuple) -> yaml.Node:
    flat = all(not isinstance(v, dict | list | tuple) for v in value)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", list(value), flow_style=flat)


_SpecDumper.add_representer(list, _represent_list)
_SpecDumper.add_representer(tuple, _represent_list)


def section_spec(spec: dict[str, Any]) -> str:
    text = yaml.dump(spec, Dumper=_SpecDumper, sort_keys=False, allow_unicode=True)
    return f"## Spec\n\nThe resolved spec (defaults filled in):\n\n```yaml\n{text}```"


# the keys of ``RunResult.data`` rendered by name (see harness.runner); others are listed as is
DATA_KEYS = {"name", "source", "class_names", "input_shape", "test_class_counts"}
DATA_KEYS |= {"n_train", "n_val", "n_test"}


def section_data(data: dict[str, Any]) -> str:
    names = [str(c) for c in data.get("class_names", [])]
    shown = ", ".join(names[:20]) + (", …" if len(names) > 20 else "")
    sizes = [data.get(k) for k in ("n_train", "n_val", "n_test")]
    shape = data.get("input_shape")
    rows = [
        ("dataset", data.get("name", DASH)),
        ("source", f"`{data['source']}`" if data.get("source") else DASH),
        ("classes", f"{len(names)}: {shown}"),
        ("train / val / test", " / ".join(DASH if s is None else f"{s:,}" for s in sizes)),
        ("input shape (C × H × W)", " × ".join(map(str, shape)) if shape else DASH),
    ]
    counts = data.get("test_class_counts")
    if counts:
        rows.append(
            (
                "test samples per class",
                ", ".join(f"{n}: {c}" for n, c in zip(names, counts, strict=False)),
            )
        )
    rows += [(k, v) for k, v in data.items() if k not in DATA_KEYS]  # anything else, as is
    return "## Data\n\n" + table(["", "value"], rows)


def section_models(models: Sequence[ModelResult]) -> str:
    header = [
        "role",
        "architecture",
        "parameters",
        "obtained",
        "weights",
        "defence",
        "Grad-CAM layer",
    ]
    rows = [
        (
            m.role,
            f"`{m.arch}`",
            f"{m.n_params:,}",
            m.training or DASH,
            f"`{m.weights}`" if m.weights else DASH,
            params_text(m.defence) or DASH,
            f"`{m.gradcam_layer}`" if m.gradcam_layer else DASH,
        )
        for m in models
    ]
    return "## Models\n\n" + table(header, rows)


def section_training(models: Sequence[ModelResult], spec: Mapping[str, Any] | None = None) -> str:
    parts = ["## Training"]
    for m in models:
        parts.append(f"### {m.role}")
        if not m.history:
            parts.append(f"No training in this run ({m.training or 'weights given'}).")
            continue
        train = m.defence.get("train") if m.defence else (spec or {}).get("model", {}).get("train")
        if train:
            parts.append(recipe_text(train))
        header = ["epoch", "train loss", "train acc", "val loss", "val acc", "seconds"]
        rows = [
            (
                f"{e.epoch} (kept)" if e.kept else e.epoch,
                f"{e.train_loss:.4f}",
                pct(e.train_acc),
                f"{e.val_loss:.4f}",
                pct(e.val_acc),
                f"{e.seconds:.1f}",
            )
            for e in m.history
        ]
        parts.append(table(header, rows))
    return "\n\n".join(parts)


def recipe_text(train: Mapping[str, Any]) -> str:
    """One line naming a training recipe (``TrainSpec`` as a dict; older runs lack the recipe)."""
    opt = str(train.get("optimizer", "adam"))
    if opt == "sgd":
        nesterov = ", Nesterov" if train.get("nesterov") else ""
        opt += f" (momentum {train.get('momentum')}{nesterov})"
    schedule = str(train.get("schedule", "none"))
    if schedule == "step":
        schedule += f" (x{train.get('gamma')} every {train.get('step_size')} epochs)"
    elif schedule == "onecycle":
        schedule += f" (warm-up {train.get('pct_start')} of the steps)"
    return (
        f"Recipe: {opt}, lr {train.get('lr')}, weight decay {train.get('weight_decay', 0.0)}, "
        f"schedule {schedule}, batch {train.get('batch_size')}, {train.get('epochs')} epochs, "
        f"augmentation {train.get('augment', 'none')}, kept epoch: {train.get('keep', 'last')}."
    )


def section_clean(models: Sequence[ModelResult]) -> str:
    summary = table(
        ["model", "clean accuracy", "correct / test samples"],
        [(m.role, pct(m.clean_accuracy), _correct_text(m.confusion)) for m in models],
    )
    parts = ["## Clean accuracy", summary]
    for m in models:
        parts += [f"### {m.role}: per class", _per_class_table(m)]
        parts.append(f"![Confusion matrix of {m.role}]({confusion_file(m.role)})")
    return "\n\n".join(parts)


def _correct_text(confusion: list[list[int]]) -> str:
    total = sum(map(sum, confusion))
    correct = sum(row[i] for i, row in enumerate(confusion))
    return f"{correct:,} / {total:,}" if total else DASH


def _per_class_table(m: ModelResult) -> str:
    rows = [
        (c.name, f"{c.precision:.4f}", f"{c.recall:.4f}", f"{c.f1:.4f}", f"{c.support:,}")
        for c in m.per_class
    ]
    if m.per_class:
        n = len(m.per_class)
        mean = [sum(getattr(c, k) for c in m.per_class) / n for k in ("precision", "recall", "f1")]
        support = sum(c.support for c in m.per_class)
        rows.append(("*macro average*", *(f"{v:.4f}" for v in mean), f"{support:,}"))
    return table(["class", "precision", "recall", "F1", "support"], rows)


SWEEP_TEXT = {
    "one_step": "one gradient per sample, one forward pass per ε (identical to ART's FGSM run once per ε)",
    "nested": "ε increasing; a sample broken at a smaller ε stays broken, only survivors are attacked at the next ε",
    "project_once": "minimal perturbation found once, projected onto each ε ball",
    "independent": "every clean-correct sample attacked afresh at every ε",
}


def section_sanity(found: Sequence[Check]) -> str:
    if not found:
        return ""
    rows = [(c.model, c.name, c.status, c.why) for c in found]
    head = (
        f'## Evaluation sanity checks\n\n{summary(found)} (Carlini et al. 2019, "On Evaluating '
        'Adversarial Robustness"): a WARN or FAIL means the numbers above may overstate robustness.\n\n'
    )
    return head + table(("model", "check", "status", "why"), rows)


def section_attacks(attacks: Sequence[dict[str, Any]]) -> str:
    lines = []
    for a in attacks:
        norm = NORMS.get(str(a.get("norm")), str(a.get("norm", DASH)))
        extra = {
            k: v
            for k, v in a.items()
            if k not in ("name", "norm", "params", "sweep", "composition", "attack")
        }
        params = params_text({**a.get("params", {}), **extra}) or "defaults"
        base = f" (attack `{a['attack']}`)" if a.get("attack") not in (None, a.get("name")) else ""
        lines.append(f"- **{a.get('name')}**{base} ({norm}): {params}")
        if a.get("sweep") in SWEEP_TEXT:
            lines.append(f"  - sweep: {SWEEP_TEXT[a['sweep']]}")
        lines += [f"  - {part}" for part in a.get("composition", [])]
    return "## Attacks\n\n" + ("\n".join(lines) if lines else "No attacks.")


def section_sweep(result: RunResult) -> str:
    parts = ["## Robustness sweep"]
    rs, idx = roles(result), index(result.measurements)
    for attack in attack_names(result):
        parts += [
            f"### {attack_title(attack)}",
            _sweep_table(idx, attack, eps_values(result.measurements, attack), rs),
        ]
        if attack == WORST_CASE:
            parts.append(WORST_CASE_NOTE)
    notes = []
    if {"baseline", "robust"} <= set(rs):
        notes.append(
            "*improvement*: the robust model's robust accuracy minus the baseline's, in "
            "percentage points (pp)."
        )
    notes.append(
        "Mean L∞ / L2: average perturbation size over the attacked (clean-correct) samples, "
        "pixel units."
    )
    if any(k[3] == "targeted_success_rate" for k in idx):
        notes.append(TARGETED_NOTE)
    parts += [" ".join(notes), "![Robust accuracy vs ε](robustness_curve.png)"]
    return "\n\n".join(parts)


WORST_CASE_NOTE = (
    "A sample counts as robust at ε only if every untargeted attack above failed on it at that "
    "ε (the per-sample minimum over attacks, never above any single attack's robust accuracy); "
    "success rate over the samples any of them attacked. No perturbation sizes: the worst "
    "sample comes from different attacks."
)
TARGETED_NOTE = (
    "*targeted success*: for targeted attacks, the fraction of the attacked samples (clean-"
    "correct and not already of the target class) predicted as the target class; the success "
    "rate counts any change of prediction."
)
COLUMN_NAMES = {
    "robust_accuracy": "robust acc",
    "attack_success_rate": "success rate",
    "targeted_success_rate": "targeted success",
    "mean_linf": "mean L∞",
    "mean_l2": "mean L2",
}
# column groups, each repeated per model; the improvement follows the first group. The first
# group is always shown, the others only for the metrics the attack has (worst case: no sizes)
COLUMN_GROUPS = (
    ("robust_accuracy", "attack_success_rate"),
    ("targeted_success_rate",),
    ("mean_linf", "mean_l2"),
)


def _sweep_table(
    idx: dict[Key, float], attack: str, eps: Sequence[float], rs: Sequence[str]
) -> str:
    present = {k[3] for k in idx if k[1] == attack}
    first, *others = COLUMN_GROUPS
    groups = [first, *(tuple(m for m in g if m in present) for g in others)]
    cols = [[(r, m) for r in rs for m in g] for g in groups if g]  # per group: (model, metric)
    with_gain = {"baseline", "robust"} <= set(rs)
    header = ["ε", *(f"{COLUMN_NAMES[m]} ({r})" for r, m in cols[0])]
    header += ["improvement"] if with_gain else []
    header += [f"{COLUMN_NAMES[m]} ({r})" for g in cols[1:] for r, m in g]
    rows = []
    for e in eps:
        cell = lambda r, m, e=e: _cell(idx.get((r, attack, e, m)), m)  # noqa: E731
        row = [num(e), *(cell(r, m) for r, m in cols[0])]
        row += [pp(_improvement(idx, attack, e, rs))] if with_gain else []
        row += [cell(r, m) for g in cols[1:] for r, m in g]
        rows.append(row)
    return table(header, rows)


def _cell(v: float | None, metric: str) -> str:
    return _norm_text(v) if metric.startswith("mean_") else pct(v)


def _improvement(idx: dict[Key, float], attack: str, eps: float, rs: Sequence[str]) -> float | None:
    """Robust model's robust accuracy minus the baseline's (fractions); None if either is missing."""
    if not {"baseline", "robust"} <= set(rs):
        return None
    base = idx.get(("baseline", attack, eps, "robust_accuracy"))
    robust = idx.get(("robust", attack, eps, "robust_accuracy"))
    return None if base is None or robust is None else robust - base


def _norm_text(v: float | None) -> str:
    return DASH if v is None else f"{v:.4f}"


def section_noise(probes: Sequence[NoiseProbe]) -> str:
    if not probes:
        return ""
    rows = [
        (
            p.model,
            f"{p.n_images:,}",
            f"{p.threshold:g}",
            f"{pct(p.overconfident_fraction)} ({round(p.overconfident_fraction * p.n_images):,})",
            pct(p.mean_confidence),
            _counts_text(p.class_counts),
        )
        for p in probes
    ]
    header = [
        "model",
        "noise images",
        "threshold",
        "overconfident",
        "mean confidence",
        "overconfident predicted as",
    ]
    intro = (
        "Images of uniform noise in [0, 1] (the model's input shape, the same images for every "
        "model) belong to no class, yet a model may be sure about them. *overconfident*: "
        "noise images whose largest softmax probability is ≥ the threshold; *mean confidence*: "
        "the largest softmax probability averaged over all noise images; the last column counts "
        "the predicted classes of the overconfident images (share of them in brackets)."
    )
    image = f"![Noise overconfidence]({NOISE_PNG})"
    return "\n\n".join(["## Noise overconfidence probe", intro, table(header, rows), image])


def _counts_text(counts: dict[str, int]) -> str:
    total = sum(counts.values())
    return ", ".join(
        f"{name} {n:,}" + (f" ({n / total:.1%})" if total else "") for name, n in counts.items()
    )


def section_minimal(probes: Sequence[MinimalPerturbation]) -> str:
    if not probes:
        return ""
    rows = []
    for p in probes:
        found = sum(math.isfinite(v) for v in p.norms)
        rows.append(
            (
                p.model,
                p.method,
                NORMS.get(p.norm, p.norm),
                f"{p.n_samples:,}",
                f"{p.median:.4f}" if math.isfinite(p.median) else "∞ (half or more not found)",
                f"{found:,} / {p.n_samples:,} ({pct(found / p.n_samples) if p.n_samples else DASH})",
                f"{p.empirical_robustness:.4f}",
            )
        )
    header = [
        "model",
        "method",
        "norm",
        "samples",
        "median minimal norm",
        "found",
        "ART empirical robustness",
    ]
    intro = (
        "The attack is run once without a bound on clean-correct test samples (classes in "
        "turn); a sample's *minimal norm* is the size of the perturbation that changed its "
        "prediction, in the method's norm and pixel units (∞ where the attack did not change "
        "it; *found*: the samples it changed). The CDF shows, for each size x, the fraction of "
        "samples broken by a perturbation of at most x. *ART empirical robustness*: ART's "
        "`empirical_robustness` on the same samples, the mean of ‖δ‖ / ‖x‖ (same norm) over the "
        "samples an FGSM step flips, δ the smallest step on an even grid of the probe's "
        "`fgsm_steps` (default 255: one grey level per step in L∞) up to the whole [0, 1] "
        "cube. ART 1.20.1 computes it with FGSM, HopSkipJump or AutoAttack only, not with "
        "DeepFool or C&W, so this column is FGSM-based whatever the method."
    )
    image = f"![Minimal perturbation CDF]({MINIMAL_PNG})"
    return "\n\n".join(["## Minimal perturbations", intro, table(header, rows), image])


def section_examples(grids: Sequence[ExampleGrid]) -> str:
    if not grids:
        return ""
    parts = [
        "## Adversarial examples",
        "Rows: test images. Columns: the clean input (true label, clean prediction), the "
        "perturbation magnified for display (grey = unchanged; each is scaled so its largest "
        "change reaches black or white, the magnification ×k is in its title), the adversarial "
        "input (its prediction, red when it differs from the true label).",
    ]
    for grid, name in zip(grids, example_files(grids), strict=True):
        changed = sum(a != c for a, c in zip(grid.adv_preds, grid.clean_preds, strict=True))
        parts += [
            f"### {grid.model}: {attack_title(grid.attack)} at ε = {num(grid.eps)}",
            f"Test images {', '.join(map(str, grid.indices))}; predictions changed: "
            f"{changed} / {len(grid.indices)}.",
            f"![{grid.attack} examples on {grid.model}]({name})",
        ]
    return "\n\n".join(parts)


def section_gradcam(panel: GradcamPanel | None, models: Sequence[ModelResult]) -> str:
    if panel is None:
        return ""
    layers = {m.role: m.gradcam_layer for m in models}
    rows = []
    for role in panel.cams_clean:
        sim = cam_similarity(panel.cams_clean[role], panel.cams_adv[role])
        changed = sum(
            a != c for a, c in zip(panel.preds_adv[role], panel.preds_clean[role], strict=True)
        )
        mean_sim = f"{sim.mean():.3f}" if len(sim) else DASH
        rows.append((role, f"`{layers.get(role) or DASH}`", mean_sim, f"{changed} / {len(sim)}"))
    header = ["model", "layer", "CAM similarity clean vs adversarial", "predictions changed"]
    intro = (
        f"{len(panel.indices)} test images (indices {', '.join(map(str, panel.indices))}); "
        f"{panel.attack} at ε = {num(panel.eps)}. Heatmaps of each model's predicted class, "
        "blended 60/40 over the image. CAM similarity: mean cosine similarity of the clean and "
        "adversarial heatmaps (1 = unchanged). The images, heatmaps and predictions are in "
        f"`{rundir.GRADCAM_NPZ}`."
    )
    return "\n\n".join(["## Grad-CAM", intro, table(header, rows), "![Grad-CAM grid](gradcam.png)"])


def section_attention(rows: Sequence[AttentionRow]) -> str:
    if not rows:
        return ""
    table_rows = [
        (
            r.model,
            num(r.eps),
            f"{r.similarity:.3f}",
            f"{r.clean_mass:.4g}",
            f"{r.adv_mass:.4g}",
            DASH if math.isnan(r.mass_ratio) else f"{r.mass_ratio:.3f}",
            f"{pct(r.blank_fraction)} ({round(r.blank_fraction * r.n)} / {r.n})",
        )
        for r in rows
    ]
    header = ["model", "ε", "CAM similarity", "clean mass", "adversarial mass", "ratio", "blank"]
    attacks = ", ".join(dict.fromkeys(r.attack for r in rows))
    intro = (
        f"The Grad-CAM images, attacked with {attacks} at each ε; each heatmap is of the class the "
        "model predicts on that input. *CAM similarity*: mean cosine similarity of the clean and "
        "adversarial heatmaps (min-max scaled, as in the Grad-CAM grid; 1 = unchanged). *Mass*: "
        "mean value of the unscaled heatmap ReLU(Σ_k w_k A_k) over the layer's cells, in "
        "logit-gradient × activation units, so compare it within a model, not across models. "
        "*Ratio*: adversarial / clean mass per image, averaged (below 1: the attention fades). "
        "*Blank*: adversarial heatmaps whose peak is ≤ 1e-6 or below 5% of the clean peak."
    )
    image = f"![Attention shift]({ATTENTION_PNG})"
    return "\n\n".join(["## Attention shift (Grad-CAM)", intro, table(header, table_rows), image])


def section_evasion(result: RunResult) -> str:
    if not result.evasion:
        return ""
    ev = result.spec.get("evasion", {}) if isinstance(result.spec.get("evasion"), dict) else {}
    eps_max, step = ev.get("eps_max"), ev.get("eps_step")
    grid = (
        f"ε = {num(step)}, {num(2 * step)}, … ≤ {num(eps_max)}"
        if step and eps_max
        else "a grid of ε"
    )
    never = f"not flipped ≤ {num(eps_max)}" if eps_max is not None else "not flipped"
    rows = [
        (
            r.model,
            r.index,
            r.true_label,
            f"{r.clean_pred} ({pct(r.clean_conf)})",
            never if r.flip_eps is None else num(r.flip_eps),
            f"{r.adv_pred} ({pct(r.adv_conf)})",
        )
        for r in result.evasion
    ]
    header = [
        "model",
        "index",
        "true label",
        "clean prediction",
        "smallest flipping ε",
        "adversarial prediction",
    ]
    intro = (
        f"FGSM on single test images at {grid}: the smallest ε that changes the prediction "
        "(confidence: softmax probability; the adversarial prediction is at that ε, or at the "
        "largest ε when never flipped)."
    )
    return "\n\n".join(["## Single-image evasion", intro, table(header, rows)])


WEIGHTS_INTRO = (
    "Per Conv2d / Linear layer. *spectral norm*: the largest singular value of the weight "
    "matrix; for a Conv2d, of the weight reshaped to (out, in·kh·kw), not the operator norm of "
    "the convolution on images (*operator norm*, by power iteration, when given). "
    "*α*: WeightWatcher's power-law exponent (Martin & Mahoney 2019, 2021) of the empirical "
    "spectral density (ESD) of X = WᵀW / N (W with N ≥ M; a Conv2d's kh·kw slices of shape "
    "(out, in) pooled into one ESD), fitted by maximum likelihood on the tail λ ≥ xmin with xmin "
    "minimising the Kolmogorov-Smirnov distance *D* (Clauset et al. 2009); *tail*: eigenvalues "
    "in the tail / all. Rule of thumb: 2 < α < 6 is typical of well-trained layers, α > 6 of "
    "under-trained ones (close to random), α < 2 of very heavy-tailed, possibly over-fitted ones; "
    "a large D means the tail is not much of a power law."
)


def section_weights(models: Sequence[ModelResult]) -> str:
    analysed = [m for m in models if m.weight_analysis is not None]
    if not analysed:
        return ""
    parts = ["## Weight analysis (seed 003)", WEIGHTS_INTRO]
    for m in analysed:
        wa = m.weight_analysis
        assert wa is not None
        parts += [f"### {m.role}", _weights_table(wa.layers), *_fitted_by(wa.layers)]
        if wa.epochs:
            epochs = [e["epoch"] for e in wa.epochs]
            parts.append(
                f"Histograms ({wa.bins} bins) after epochs {', '.join(map(str, epochs))}: "
                f"![{m.role} weight histograms]({weights_file(m.role)})"
            )
        else:
            parts.append("No per-epoch histograms (the model was not trained in this run).")
        if any(r.get("esd_counts") for r in wa.layers):
            parts.append(f"![{m.role} ESD]({esd_file(m.role)})")
    return "\n\n".join(parts)


def _weights_table(rows: Sequence[dict[str, Any]]) -> str:
    with_op = any("operator_norm" in r for r in rows)
    header = ["layer", "shape", "spectral norm", *(["operator norm"] if with_op else [])]
    header += ["α", "xmin", "D", "tail", "reading"]
    out = []
    for r in rows:
        fit = r.get("alpha") is not None
        op = [_g(r.get("operator_norm"))] if with_op else []
        out.append(
            [
                f"`{r['name']}`",
                " × ".join(map(str, r.get("shape", []))),
                _g(r.get("spectral_norm")),
                *op,
                f"{r['alpha']:.2f}" if fit else DASH,
                _g(r.get("xmin")),
                f"{r['D']:.3f}" if fit else DASH,
                f"{r.get('n_tail', 0)} / {r.get('n_evals', 0)}",
                alpha_reading(r.get("alpha")) if fit else r.get("note") or DASH,
            ]
        )
    return table(header, out)


def _fitted_by(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Which implementation fitted α, xmin and D (none in runs older than the ``fit`` field)."""
    fits = sorted({r["fit"] for r in rows if r.get("fit")})
    names = [FIT_NAMES.get(f, f"`{f}`") for f in fits]
    return [f"α, xmin and D fitted by {' and '.join(names)}."] if names else []


FIT_NAMES = {"harness": "the harness (WeightWatcher's method, WeightWatcher not installed)"}


def alpha_reading(alpha: float | None) -> str:
    """WeightWatcher's rule of thumb (the same as ``harness.weights.reading``)."""
    if alpha is None or not math.isfinite(alpha):
        return "no fit"
    if alpha < 2:
        return "very heavy-tailed (possibly over-fitted)"
    if alpha <= 6:
        return "typical of a well-trained layer"
    return "under-trained (close to random)"


def _g(v: float | None) -> str:
    return DASH if v is None else f"{v:.4g}"


def section_provenance(result: RunResult) -> str:
    prov = dict(result.provenance)
    prov.setdefault("seed", result.seed)
    scalars = [
        (k.replace("_", " "), _prov_value(v)) for k, v in prov.items() if not isinstance(v, dict)
    ]
    parts = ["## Provenance", table(["", "value"], scalars)]
    for key, sub in prov.items():
        if isinstance(sub, dict):
            title, header = PROVENANCE_TABLES.get(
                key, (key.replace("_", " ").capitalize(), ("", "value"))
            )
            rows = [
                (k, f"{v:.2f}" if key == "timings_seconds" and isinstance(v, float | int) else v)
                for k, v in sub.items()
            ]
            parts += [f"### {title}", table(header, rows)]
    return "\n\n".join(parts)


PROVENANCE_TABLES = {  # key -> (heading, table header)
    "versions": ("Versions", ("package", "version")),
    "timings_seconds": ("Timings", ("phase", "seconds")),
    "weights_sha256": ("Weights files (SHA-256)", ("model", "SHA-256")),
}


def _prov_value(v: Any) -> str:
    return f"`{v}`" if isinstance(v, str) else DASH if v is None else str(v)
