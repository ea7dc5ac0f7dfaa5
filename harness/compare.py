"""Compare finished runs side by side, read back from their report folders.

A run folder is read only through ``harness.results.rundir`` (what ``write_report`` left in it):
``results.csv`` (the measurements, exact floats), ``run.json`` (data, models, attacks,
provenance) and, when present, ``gradcam.npz``; nothing from the process that made it, so a folder
can be compared long after it was written. ``load_run`` reads and ``write_comparison`` writes;
everything between is pure: validation here, the leaderboard in ``harness.report.leaderboard``,
compare.md and its figures in ``harness.report.comparison`` (sections of the report engine).

Every (run, model role) is one *entry*, labelled ``<run name>/<role>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from harness import plots, reading
from harness.errors import HarnessError
from harness.io import atomic_dir
from harness.outputs import COMPARISON_MARK, comparison_mark
from harness.report.comparison import figures, render_markdown
from harness.report.html import render_html
from harness.report.leaderboard import (  # the leaderboard's public names, as before
    FROM_MIN,
    FROM_ROWS,
    Entry,
    Leaderboard,
    Row,
    auc,
    entries,
    leaderboard,
    leaderboard_csv,
    make_row,
    ranking,
    robust_curves,
    run_labels,
    worst_case,
)
from harness.report.sections.comparison.gradcam import GradcamPlan, gradcam_plan
from harness.results import RunResult, rundir
from harness.results.rundir import Run

__all__ = [
    "FROM_MIN",
    "FROM_ROWS",
    "Entry",
    "GradcamPlan",
    "Leaderboard",
    "Row",
    "Run",
    "auc",
    "entries",
    "figures",
    "gradcam_plan",
    "leaderboard",
    "leaderboard_csv",
    "load_run",
    "load_runs",
    "make_row",
    "ranking",
    "render_markdown",
    "robust_curves",
    "run_labels",
    "validate",
    "worst_case",
    "write_comparison",
]

LEADERBOARD_CSV = "leaderboard.csv"
COMPARE_MD = "compare.md"
COMPARE_HTML = "compare.html"  # the same, browser-ready and self-contained


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
    return r.data.name or None


def _input_shape(r: RunResult) -> object:
    return [int(n) for n in r.data.input_shape]


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
        text = render_markdown(runs, board)
        _write(tmp / COMPARE_MD, text)
        _write(tmp / COMPARE_HTML, render_html(text, tmp, "Robustness comparison"))
        _write(tmp / COMPARISON_MARK, comparison_mark([p.name for p in tmp.iterdir()]))
    return out


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")
