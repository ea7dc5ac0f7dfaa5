"""The comparison's numbers: one entry per (run, model role), the leaderboard and its CSV.

Pure functions of run folders already read back (``harness.compare.load_runs``); moved unchanged
from ``harness/compare.py``. Every (run, model role) is one *entry*, labelled
``<run name>/<role>``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Protocol

from harness import reading, stats
from harness.results import FAIL, GradcamPanel, RunResult, probes_off
from harness.results.corruption import compare_columns
from harness.verdict import change

WORST = reading.WORST_CASE
FROM_ROWS = "per sample"  # the run's own ``worst_case`` rows (harness.sweep)
FROM_MIN = "min over attacks"  # the smallest robust accuracy of the run's attacks at each eps


class Run(Protocol):
    """A run folder read back (``harness.compare.Run``): what the comparison reads of it."""

    path: Path  # the folder as given
    result: RunResult  # measurements from results.csv
    gradcam: GradcamPanel | None  # from gradcam.npz
    gradcam_note: str  # why ``gradcam`` is None


@dataclass(frozen=True)
class Comparison:
    """What the comparison's sections render: the runs, in the order given, and their board."""

    runs: Sequence[Run]
    board: Leaderboard


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
    sanity_fail: tuple[str, ...] = ()  # the sanity checks of this model that FAILed
    probes_off: bool = False  # the run switched its sanity probes off (those checks did not run)
    # common corruptions (harness.results.corruption.compare_columns); empty without them
    corruption: dict[str, float] = field(default_factory=dict)
    n_test: int = 0  # the test images every accuracy is counted over
    images: tuple = ()  # (dataset, n_test, seed): rows with equal ``images`` saw the same images
    result: RunResult | None = field(default=None, repr=False, compare=False)  # its per-image flags


@dataclass(frozen=True)
class Leaderboard:
    rows: list[Row]  # best first
    sorted_by: str  # the ranking key, in words
    attacks: dict[str, str]  # attack -> norm label, in column order (the worst case apart)
    eps: dict[str, list[float]]  # attack (and WORST) -> every ε > 0 of any entry
    ranks: list[str] = field(default_factory=list)  # per row: "1", "2", "=2" (tied with above)
    ties: str = ""  # how ties were judged, in words


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
    history = model.history if model and _trained_here(model.training) else []
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
        sanity_fail=tuple(
            c.name for c in result.sanity if c.model == entry.role and c.status == FAIL
        ),
        probes_off=probes_off(result.spec),
        corruption=compare_columns(
            result.corruptions, {m.role: m.clean_accuracy for m in result.models}, entry.role
        ),
        n_test=int(result.data.n_test or 0),
        images=reading.test_images(result),
        result=result,
    )


def _trained_here(training: str) -> bool:
    """Whether the run trained the model itself: a reused or loaded model's history (copied
    along with its weights) is another run's training time."""
    return not training.startswith(("reused", "loaded"))


def leaderboard(runs: Sequence[Run]) -> Leaderboard:
    rows = [make_row(e) for e in entries(runs)]
    key, sorted_by = ranking(rows)
    norms: dict[str, str] = {}
    for run in runs:
        norms |= {a: n for a, n in reading.attack_norms(run.result).items() if a != WORST}
    attacks = {a: norms[a] for r in rows for a in r.robust}  # only attacks with measurements
    eps = {a: sorted({e for r in rows for e in r.robust.get(a, {})}) for a in attacks}
    eps[WORST] = sorted({e for r in rows for e in r.worst})
    ordered = sorted(rows, key=lambda r: (bool(r.sanity_fail), key(r)))  # a FAIL ranks last
    ranks, ties = tied_ranks(ordered)
    return Leaderboard(ordered, sorted_by, attacks, eps, ranks, ties)


def tie_figure(rows: Sequence[Row]) -> tuple[float | None, str]:
    """The ε ties are judged at (worst-case robust accuracy at the middle of the ε every entry
    has) and the figure in words; None: clean accuracy (no common ε)."""
    common = sorted(set.intersection(*(set(r.worst) for r in rows))) if rows else []
    if common:
        e = common[(len(common) - 1) // 2]
        return e, f"worst-case robust accuracy at ε = {reading.num(e)}"
    return None, "clean accuracy"


def tied_ranks(rows: Sequence[Row]) -> tuple[list[str], str]:
    """Competition ranks, best first; an entry whose tie figure is within noise of the entry
    above it (the 95% interval of their difference includes 0; paired image by image when both
    kept per-image flags over the same images) shares its rank ("=k")."""
    if not rows:
        return [], ""
    eps, words = tie_figure(rows)
    labels, rank, kinds = ["1"], 1, set()
    for i in range(1, len(rows)):
        a, b = rows[i - 1], rows[i]
        differ, kind = _differ(a, b, eps)
        kinds.add(kind)
        if bool(a.sanity_fail) == bool(b.sanity_fail) and not differ:
            labels.append(f"={rank}")
            continue
        rank = i + 1
        labels.append(str(rank))
    if len({r.images for r in rows}) > 1:
        how = "not paired: the runs evaluated different test images"
    elif kinds == {"paired"}:
        how = "paired image by image (the same test images; McNemar's exact test)"
    else:
        how = "the same test images; unpaired where a run kept no per-image flags"
    return labels, f"{words}, 95% interval of the difference (Newcombe); {how}"


def _differ(a: Row, b: Row, eps: float | None) -> tuple[bool, str]:
    """Whether two entries' tie figures differ beyond noise, and how that was judged."""
    attack = _flagged_attack(a) if eps is not None else "none"
    if a.result is not None and b.result is not None and attack == _flagged_attack(b):
        c = change(a.result, a.role, b.result, b.role, attack or "", eps or 0.0)
        if c is not None and c.paired:
            return c.significant(), "paired"
    pa, pb = (r.clean_accuracy if eps is None else r.worst.get(eps, math.nan) for r in (a, b))
    if math.isnan(pa) or math.isnan(pb) or not a.n_test or not b.n_test:
        return True, "none"  # nothing to judge noise by: ranked as before
    diff = stats.unpaired(stats.count(pa, a.n_test), a.n_test, stats.count(pb, b.n_test), b.n_test)
    return diff.excludes_zero(), "unpaired"


def _flagged_attack(r: Row) -> str | None:
    """The attack whose per-image flags are the row's worst case: the per-sample worst case,
    else its only attack (a minimum over several attacks' averages has no flags)."""
    if r.worst_source == FROM_ROWS:
        return WORST
    return next(iter(r.robust)) if len(r.robust) == 1 else None


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
    train_seconds, epochs, training, sanity_fail (the FAILed sanity checks, ``;``-separated;
    such entries rank after every entry without one); then mean_corruption_accuracy and mce (%, relative to the
    run's baseline) when a run evaluated common corruptions.
    """
    robust_cols = [(a, e) for a in board.attacks for e in board.eps[a]]
    header = ["rank", "entry", "folder", "run", "role", "clean_accuracy"]
    header += [f"robust:{a}@{e!r}" for a, e in robust_cols]
    header += [f"{WORST}@{e!r}" for e in board.eps[WORST]] + ["worst_case_source"]
    header += [f"auc:{a}" for a in board.attacks] + [f"auc:{WORST}"]
    header += ["train_seconds", "epochs", "training", "sanity_fail"]
    corruption_cols = list(dict.fromkeys(k for r in board.rows for k in r.corruption))
    header += corruption_cols  # only when a run has corruptions: other boards read as before
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for rank, r in enumerate(board.rows, start=1):
        line = [rank, r.entry, r.folder, r.run, r.role, _f(r.clean_accuracy)]
        line += [_f(r.robust.get(a, {}).get(e)) for a, e in robust_cols]
        line += [_f(r.worst.get(e)) for e in board.eps[WORST]] + [r.worst_source]
        line += [_f(r.auc.get(a)) for a in board.attacks] + [_f(r.worst_auc)]
        line += [_f(r.train_seconds), r.epochs if r.train_seconds is not None else "", r.training]
        line += [";".join(r.sanity_fail)]
        line += [_f(r.corruption.get(k)) for k in corruption_cols]
        writer.writerow(line)
    return buf.getvalue()


def _f(v: float | None) -> str:
    return "" if v is None or math.isnan(v) else repr(float(v))
