"""Compare finished runs side by side, read back from their report folders.

A run folder is read only through what ``harness.report.write_report`` left in it:
``results.csv`` (the measurements, exact floats), ``run.json`` (data, models, attacks,
provenance) and, when present, ``gradcam.npz``; nothing from the process that made it, so a folder
can be compared long after it was written. ``load_run`` reads and ``write_comparison`` writes;
everything between (validation, the leaderboard, Markdown, CSV, figures) is pure.

Every (run, model role) is one *entry*, labelled ``<run name>/<role>``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from harness import plots, reading
from harness.errors import HarnessError
from harness.io import atomic_dir
from harness.results import GradcamPanel, RunResult, rundir
from harness.results.rundir import Run

LEADERBOARD_CSV = "leaderboard.csv"
COMPARE_MD = "compare.md"
CURVES_PNG = "curves.png"
CONFUSION_PNG = "confusion.png"
GRADCAM_PNG = "gradcam.png"
WORST = reading.WORST_CASE
FROM_ROWS = "per sample"  # the run's own ``worst_case`` rows (harness.sweep)
FROM_MIN = "min over attacks"  # the smallest robust accuracy of the run's attacks at each eps
DASH = reading.DASH


# ---------------------------------------------------------------- loading (reads only)


def load_run(path: str | Path) -> Run:
    """Read one run folder (``rundir.read_run``); a bad folder is a ``HarnessError``."""
    return rundir.read_run(path, "compare")


def load_runs(paths: Iterable[str | Path]) -> list[Run]:
    """Read the folders and check they can be compared (``validate``)."""
    runs = [load_run(p) for p in paths]
    validate(runs)
    return runs


# ---------------------------------------------------------------- validation


def _dataset(r: RunResult) -> object:
    return r.data.get("name")


def _input_shape(r: RunResult) -> object:
    return [int(n) for n in r.data.get("input_shape") or []]


CHECKS: tuple[tuple[str, Callable[[RunResult], object]], ...] = (
    ("dataset (run.json data.name)", _dataset),
    ("class names", reading.class_names),
    ("input shape (run.json data.input_shape)", _input_shape),
)


def validate(runs: Sequence[Run]) -> None:
    """Refuse runs that cannot share a table: another dataset, classes, input shape, or an
    attack of the same name in another norm (its ε would be in other units)."""
    if not runs:
        raise HarnessError("compare: no run folders given")
    seen: dict[Path, Path] = {}
    for run in runs:
        key = run.path.resolve()
        if key in seen:
            raise HarnessError(f"{run.path}: given twice (also as {seen[key]})")
        seen[key] = run.path
    first = runs[0]
    for run in runs[1:]:
        for what, get in CHECKS:
            if get(run.result) != get(first.result):
                raise HarnessError(
                    f"{run.path}: {what} {get(run.result)!r} differs from {get(first.result)!r} "
                    f"in {first.path}; only runs on the same data can be compared"
                )
    _check_norms(runs)


def _check_norms(runs: Sequence[Run]) -> None:
    norms: dict[str, tuple[str, Path]] = {}  # attack -> (norm label, first folder with it)
    for run in runs:
        for attack, norm in reading.attack_norms(run.result).items():
            other, where = norms.setdefault(attack, (norm, run.path))
            if norm != other:
                raise HarnessError(
                    f"{run.path}: attack {attack!r} is in the {norm} norm here but {other} in "
                    f"{where}; its ε would not mean the same perturbation"
                )


# ---------------------------------------------------------------- entries and the leaderboard


@dataclass(frozen=True)
class Entry:
    label: str  # "<run name>/<role>"
    run: Run
    role: str


def entries(runs: Sequence[Run]) -> list[Entry]:
    """One entry per (run, model role), in the order given."""
    names = run_labels(runs)
    return [
        Entry(f"{name}/{role}", run, role)
        for name, run in zip(names, runs, strict=True)
        for role in reading.roles(run.result)
    ]


def run_labels(runs: Sequence[Run]) -> list[str]:
    """The run names; a name shared by several runs gets the shortest distinguishing end of
    its folder path: ``digits_fgsm[seed1]``."""
    names = [r.result.name for r in runs]
    out = []
    for name, run in zip(names, runs, strict=True):
        if names.count(name) == 1:
            out.append(name)
            continue
        twins = [r.path for r, n in zip(runs, names, strict=True) if n == name]
        out.append(f"{name}[{_distinct_tail(run.path, twins)}]")
    return out


def _distinct_tail(path: Path, paths: Sequence[Path]) -> str:
    parts = path.resolve().parts
    for k in range(1, len(parts) + 1):
        tail = parts[-k:]
        if sum(p.resolve().parts[-k:] == tail for p in paths) == 1:
            return "/".join(tail)
    return str(path)


@dataclass(frozen=True)
class Row:
    """One leaderboard line. Accuracies are fractions; ε in pixel units."""

    entry: str
    folder: str  # the run folder as given
    run: str  # the run's name
    role: str
    clean_accuracy: float
    robust: dict[str, dict[float, float]]  # attack -> ε (> 0) -> robust accuracy
    worst: dict[float, float]  # ε (> 0) -> worst-case robust accuracy
    worst_source: str  # FROM_ROWS or FROM_MIN
    auc: dict[str, float]  # attack -> normalised area under its robustness curve
    worst_auc: float  # the same for the worst case
    train_seconds: float | None  # sum of the per-epoch seconds; None: not trained in that run
    epochs: int
    training: str  # how the run obtained the model ("trained", "reused <path>", ...)


@dataclass(frozen=True)
class Leaderboard:
    rows: list[Row]  # best first
    sorted_by: str  # the ranking key, in words
    attacks: dict[str, str]  # attack -> norm label, in column order (the worst case apart)
    eps: dict[str, list[float]]  # attack (and WORST) -> every ε > 0 of any entry


def auc(curve: dict[float, float], clean: float) -> float:
    """Normalised area under robust accuracy vs ε (trapezoid rule; the ε = 0 point is ``clean``):

    AUC = (1 / ε_max) · Σ_i (ε_{i+1} − ε_i) · (a_i + a_{i+1}) / 2, over 0 = ε_0 < … < ε_max.

    The mean robust accuracy over [0, ε_max]; nan without a positive ε.
    """
    points = {0.0: clean, **{e: a for e, a in curve.items() if e > 0}}
    eps = sorted(points)
    if len(eps) < 2:
        return math.nan
    area = sum((e1 - e0) * (points[e0] + points[e1]) / 2 for e0, e1 in pairwise(eps))
    return area / eps[-1]


def worst_case(robust: dict[str, dict[float, float]]) -> tuple[dict[float, float], str]:
    """The run's per-sample worst-case rows when it has them, else the minimum over attacks."""
    if robust.get(WORST):
        return dict(robust[WORST]), FROM_ROWS
    eps = sorted({e for curve in robust.values() for e in curve})
    return {e: min(c[e] for c in robust.values() if e in c) for e in eps}, FROM_MIN


def robust_curves(result: RunResult, role: str) -> dict[str, dict[float, float]]:
    """attack -> ε (> 0) -> robust accuracy of ``role``, attacks in the run's order."""
    out: dict[str, dict[float, float]] = {a: {} for a in reading.attack_names(result)}
    for m in result.measurements:
        if m.model == role and m.metric == "robust_accuracy" and m.attack != "none" and m.eps > 0:
            out.setdefault(m.attack, {})[m.eps] = m.value
    return {a: dict(sorted(c.items())) for a, c in out.items() if c}


def make_row(entry: Entry) -> Row:
    result = entry.run.result
    clean = reading.clean_accuracy(result, entry.role)
    robust = robust_curves(result, entry.role)
    worst, source = worst_case(robust)
    model = next((m for m in result.models if m.role == entry.role), None)
    history = model.history if model else []
    return Row(
        entry=entry.label,
        folder=str(entry.run.path),
        run=result.name,
        role=entry.role,
        clean_accuracy=clean,
        robust={a: c for a, c in robust.items() if a != WORST},
        worst=worst,
        worst_source=source,
        auc={a: auc(c, clean) for a, c in robust.items() if a != WORST},
        worst_auc=auc(worst, clean),
        train_seconds=sum(e.seconds for e in history) if history else None,
        epochs=len(history),
        training=model.training if model else "",
    )


def leaderboard(runs: Sequence[Run]) -> Leaderboard:
    rows = [make_row(e) for e in entries(runs)]
    key, sorted_by = ranking(rows)
    norms: dict[str, str] = {}
    for run in runs:
        norms |= {a: n for a, n in reading.attack_norms(run.result).items() if a != WORST}
    attacks = {a: norms[a] for r in rows for a in r.robust}  # only attacks with measurements
    eps = {a: sorted({e for r in rows for e in r.robust.get(a, {})}) for a in attacks}
    eps[WORST] = sorted({e for r in rows for e in r.worst})
    return Leaderboard(sorted(rows, key=key), sorted_by, attacks, eps)


def ranking(rows: Sequence[Row]) -> tuple[Callable[[Row], float], str]:
    """Best first by worst-case AUC when every entry has the same worst-case ε grid (AUCs over
    different grids are not comparable), else by worst-case robust accuracy at the largest ε
    every entry has, else by clean accuracy. Returns (sort key, the rule in words)."""
    grids = {tuple(r.worst) for r in rows}
    if len(grids) == 1 and next(iter(grids)):
        return (lambda r: _desc(r.worst_auc)), "worst-case AUC (every entry has the same ε grid)"
    common = set.intersection(*(set(r.worst) for r in rows)) if rows else set()
    if common:
        e = max(common)
        return (
            (lambda r: _desc(r.worst[e])),
            f"worst-case robust accuracy at ε = {reading.num(e)}, the largest ε every entry has "
            "(the ε grids differ, so their AUCs are not comparable)",
        )
    return (lambda r: _desc(r.clean_accuracy)), "clean accuracy (no ε is common to all entries)"


def _desc(v: float) -> float:
    """Sort key: larger first, nan last."""
    return math.inf if math.isnan(v) else -v


# ---------------------------------------------------------------- leaderboard.csv


def leaderboard_csv(board: Leaderboard) -> str:
    """One line per entry, best first; floats as ``repr``; blank where an entry lacks a value.

    Columns: rank, entry, folder, run, role, clean_accuracy, ``robust:<attack>@<eps>`` per
    attack and ε, ``worst_case@<eps>``, worst_case_source, ``auc:<attack>``, ``auc:worst_case``,
    train_seconds, epochs, training.
    """
    robust_cols = [(a, e) for a in board.attacks for e in board.eps[a]]
    header = ["rank", "entry", "folder", "run", "role", "clean_accuracy"]
    header += [f"robust:{a}@{e!r}" for a, e in robust_cols]
    header += [f"{WORST}@{e!r}" for e in board.eps[WORST]] + ["worst_case_source"]
    header += [f"auc:{a}" for a in board.attacks] + [f"auc:{WORST}"]
    header += ["train_seconds", "epochs", "training"]
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for rank, r in enumerate(board.rows, start=1):
        line = [rank, r.entry, r.folder, r.run, r.role, _f(r.clean_accuracy)]
        line += [_f(r.robust.get(a, {}).get(e)) for a, e in robust_cols]
        line += [_f(r.worst.get(e)) for e in board.eps[WORST]] + [r.worst_source]
        line += [_f(r.auc.get(a)) for a in board.attacks] + [_f(r.worst_auc)]
        line += [_f(r.train_seconds), r.epochs if r.train_seconds is not None else "", r.training]
        writer.writerow(line)
    return buf.getvalue()


def _f(v: float | None) -> str:
    return "" if v is None or math.isnan(v) else repr(float(v))


# ---------------------------------------------------------------- compare.md


def render_markdown(runs: Sequence[Run], board: Leaderboard) -> str:
    sections = [
        section_title(runs, board),
        section_runs(runs),
        section_metrics(board),
        section_leaderboard(board),
        section_attacks(board),
        section_confusion(),
        section_gradcam(gradcam_plan(runs)),
    ]
    return "\n\n".join(s for s in sections if s) + "\n"


def section_title(runs: Sequence[Run], board: Leaderboard) -> str:
    data = runs[0].result.data
    names = reading.class_names(runs[0].result)
    shape = " × ".join(map(str, data.get("input_shape") or [])) or DASH
    attacks = ", ".join(f"{a} ({n})" for a, n in board.attacks.items()) or "none"
    return (
        f"# Robustness comparison: {len(board.rows)} models from {len(runs)} runs\n\n"
        f"Dataset **{data.get('name', DASH)}** ({len(names)} classes: {', '.join(names)}; "
        f"input {shape}). Attacks: {attacks}. Everything below is read from each run folder's "
        f"`{rundir.RESULTS_CSV}` and `{rundir.RUN_JSON}`."
    )


def section_runs(runs: Sequence[Run]) -> str:
    rows = []
    for label, run in zip(run_labels(runs), runs, strict=True):
        prov = run.result.provenance
        rows.append(
            (
                label,
                f"`{run.path}`",
                run.result.seed,
                f"`{prov.get('spec_hash', DASH)}`",
                f"`{prov.get('git_commit', DASH)}`",
                ", ".join(f"{m.role}: `{m.arch}`" for m in run.result.models) or DASH,
            )
        )
    header = ["run", "folder", "seed", "spec hash", "git commit", "models"]
    return "## Runs\n\n" + reading.table(header, rows)


def section_metrics(board: Leaderboard) -> str:
    sources = {r.worst_source for r in board.rows}
    worst = {
        frozenset({FROM_ROWS}): "every run's own per-sample worst case over its untargeted "
        "attacks (a sample counts as robust only if all of them failed on it)",
        frozenset({FROM_MIN}): "the smallest robust accuracy over the run's attacks at each ε "
        "(no run has per-sample worst-case rows; this is an upper bound on the per-sample "
        "worst case)",
    }.get(
        frozenset(sources),
        f"*{FROM_ROWS}*: the run's per-sample worst case over its untargeted attacks; "
        f"*{FROM_MIN}*: the smallest robust accuracy over the run's attacks at each ε (an upper "
        "bound on the per-sample worst case), see the column *worst case from*",
    )
    return (
        "## Metrics\n\n"
        "*Clean accuracy* and *robust accuracy* are fractions of all test samples (misclassified "
        "clean samples count as failures); ε in [0, 1] pixel units, in each attack's norm. "
        f"*Worst case*: {worst}.\n\n"
        "*AUC* (area under the robustness curve), per attack and for the worst case, over the "
        "entry's own ε grid 0 = ε₀ < ε₁ < … < ε_max with a₀ = clean accuracy and aᵢ the robust "
        "accuracy at εᵢ:\n\n"
        "    AUC = (1 / ε_max) · Σᵢ (εᵢ₊₁ − εᵢ) · (aᵢ + aᵢ₊₁) / 2\n\n"
        "(trapezoid rule, normalised by the ε range: the mean robust accuracy over [0, ε_max]; "
        "1 = never fooled). AUCs are comparable between entries with the same ε grid only.\n\n"
        "*Training*: the sum of the per-epoch seconds in `run.json` (models[].history) and the "
        "number of epochs; a dash where the run loaded or reused the weights."
    )


def section_leaderboard(board: Leaderboard) -> str:
    worst_eps = board.eps[WORST]
    header = ["rank", "entry", "clean acc"]
    header += [f"worst case ε={reading.num(e)}" for e in worst_eps]
    header += ["worst case from", "worst-case AUC"]
    header += [f"AUC {a}" for a in board.attacks] + ["training"]
    rows = []
    for rank, r in enumerate(board.rows, start=1):
        line = [rank, r.entry, reading.pct(r.clean_accuracy)]
        line += [reading.pct(r.worst.get(e)) for e in worst_eps]
        line += [r.worst_source, _auc_text(r.worst_auc)]
        line += [_auc_text(r.auc.get(a)) for a in board.attacks] + [_training_text(r)]
        rows.append(line)
    intro = f"Best first, ranked by {board.sorted_by}. All values also in `{LEADERBOARD_CSV}`."
    return "\n\n".join(["## Leaderboard", intro, reading.table(header, rows)])


def _auc_text(v: float | None) -> str:
    return DASH if v is None or math.isnan(v) else f"{v:.4f}"


def _training_text(r: Row) -> str:
    if r.train_seconds is None:
        return f"{DASH} ({r.training})" if r.training else DASH
    return f"{r.train_seconds:.1f} s ({r.epochs} epoch{'s' if r.epochs != 1 else ''})"


def section_attacks(board: Leaderboard) -> str:
    parts = [
        "## Robust accuracy per attack and ε",
        f"Blank ({DASH}) where an entry's run did not measure that attack or ε.",
    ]
    for attack, norm in board.attacks.items():
        eps = board.eps[attack]
        header = ["entry", "clean acc", *(f"ε={reading.num(e)}" for e in eps), "AUC"]
        rows = [
            [
                r.entry,
                reading.pct(r.clean_accuracy),
                *(reading.pct(r.robust.get(attack, {}).get(e)) for e in eps),
                _auc_text(r.auc.get(attack)),
            ]
            for r in board.rows
        ]
        parts += [f"### {attack} ({norm})", reading.table(header, rows)]
    parts.append(
        f"![Robust accuracy vs ε, one line per entry]({CURVES_PNG})\n\n"
        "One panel per attack, and one for the worst case when it differs from the only "
        "attack; colour: run, line style: model role."
    )
    return "\n\n".join(parts)


def section_confusion() -> str:
    return (
        "## Confusion matrices\n\n"
        "Clean test inputs; counts, coloured by the fraction of each true class (row).\n\n"
        f"![Confusion matrices]({CONFUSION_PNG})"
    )


@dataclass(frozen=True)
class GradcamPlan:
    columns: list[tuple[str, GradcamPanel, str]]  # (entry label, its run's panel, role)
    note: str  # why there is no grid (columns empty), or what was left out


def gradcam_plan(runs: Sequence[Run]) -> GradcamPlan:
    """The entries for a Grad-CAM grid of the same test images, or why there is none."""
    missing = [f"{r.path} ({r.gradcam_note})" for r in runs if r.gradcam is None]
    if missing:
        return GradcamPlan([], f"Skipped: {', '.join(missing)}.")
    first = runs[0].gradcam
    assert first is not None
    for run in runs[1:]:
        panel = run.gradcam
        assert panel is not None
        if panel.indices != first.indices:
            return GradcamPlan(
                [],
                f"Skipped: the runs show different test images: indices {first.indices} in "
                f"{runs[0].path}, {panel.indices} in {run.path}.",
            )
        if panel.clean.shape != first.clean.shape or not np.allclose(panel.clean, first.clean):
            return GradcamPlan(
                [], f"Skipped: the test images at the same indices differ in {run.path}."
            )
    columns, left_out = [], []
    for e in entries(runs):
        panel = e.run.gradcam
        assert panel is not None
        if e.role in panel.cams_clean:
            columns.append((e.label, panel, e.role))
        else:
            left_out.append(e.label)
    note = f"No Grad-CAM arrays for {', '.join(left_out)}." if left_out else ""
    return GradcamPlan(columns, note)


def section_gradcam(plan: GradcamPlan) -> str:
    parts = ["## Grad-CAM"]
    if plan.columns:
        first = plan.columns[0][1]
        attacks = sorted({f"{p.attack} at ε = {reading.num(p.eps)}" for _, p, _ in plan.columns})
        parts.append(
            f"The same {len(first.indices)} test images (indices "
            f"{', '.join(map(str, first.indices))}) for every entry: each model's heatmap of its "
            f"predicted class on the clean and on its adversarial input ({'; '.join(attacks)}), "
            f"blended over the image; red: prediction ≠ true label.\n\n![Grad-CAM]({GRADCAM_PNG})"
        )
    if plan.note:
        parts.append(plan.note)
    return "\n\n".join(parts)


# ---------------------------------------------------------------- figures


def figures(runs: Sequence[Run], board: Leaderboard) -> dict[str, Callable[[], Figure]]:
    """File name -> figure builder (built one at a time)."""
    out: dict[str, Callable[[], Figure]] = {
        CURVES_PNG: lambda: curves_figure(runs, board),
        CONFUSION_PNG: lambda: confusion_figure(runs),
    }
    plan = gradcam_plan(runs)
    if plan.columns:
        out[GRADCAM_PNG] = lambda: plots.gradcam_compare(plan.columns)
    return out


def curves_figure(runs: Sequence[Run], board: Leaderboard) -> Figure:
    panels: dict[str, dict[str, tuple[list[float], list[float]]]] = {}
    for attack in board.attacks:
        panels[attack] = {r.entry: _points(r.robust.get(attack, {}), r) for r in board.rows}
    if len(board.attacks) > 1 or any(r.worst_source == FROM_ROWS for r in board.rows):
        panels[WORST] = {r.entry: _points(r.worst, r) for r in board.rows}  # else a copy
    titles = {a: f"{a} ({n})" for a, n in board.attacks.items()} | {WORST: "worst case"}
    xlabels = {a: f"ε ({n}, [0, 1] pixel units)" for a, n in board.attacks.items()}
    xlabels[WORST] = "ε ([0, 1] pixel units)"
    styles = _styles(runs)
    n_classes = len(reading.class_names(runs[0].result)) or None
    return plots.compare_curves(panels, titles, xlabels, styles, n_classes)


def _points(curve: dict[float, float], row: Row) -> tuple[list[float], list[float]]:
    """The curve from (0, clean accuracy); no points at all when the entry lacks the attack."""
    if not curve:
        return [], []
    eps = [0.0, *sorted(e for e in curve if e > 0)]
    return eps, [row.clean_accuracy, *(curve[e] for e in eps[1:])]


def _styles(runs: Sequence[Run]) -> dict[str, tuple[str, str]]:
    """Entry -> (colour, line style): a colour per run, a line style per role."""
    roles = list(dict.fromkeys(e.role for e in entries(runs)))
    index = {id(r): i for i, r in enumerate(runs)}
    dashes = ("-", "--", ":", "-.")
    return {
        e.label: (f"C{index[id(e.run)] % 10}", dashes[roles.index(e.role) % len(dashes)])
        for e in entries(runs)
    }


def confusion_figure(runs: Sequence[Run]) -> Figure:
    panels = []
    for e in entries(runs):
        model = next((m for m in e.run.result.models if m.role == e.role), None)
        if model is not None and model.confusion:
            clean = reading.clean_accuracy(e.run.result, e.role)
            panels.append((f"{e.label}\nclean accuracy {clean:.2%}", model.confusion))
    return plots.confusion_panels(panels, reading.class_names(runs[0].result))


# ---------------------------------------------------------------- the writer (the only I/O)


def write_comparison(runs: Sequence[Run], out: str | Path, *, replace: bool = False) -> Path:
    """Write ``leaderboard.csv``, ``compare.md`` and the figures to ``out`` (atomically);
    ``out`` must be missing or empty unless ``replace`` (an earlier comparison may go)."""
    validate(runs)
    board = leaderboard(runs)
    out = Path(out)
    with atomic_dir(out, replace=replace) as tmp:
        _write(tmp / LEADERBOARD_CSV, leaderboard_csv(board))
        for name, make in figures(runs, board).items():
            plots.save(make(), tmp / name)
        _write(tmp / COMPARE_MD, render_markdown(runs, board))
    return out


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")
