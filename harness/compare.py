"""Compare finished runs side by side, read back from their report folders.

A run folder is read only through what ``harness.report.write_report`` left in it:
``results.csv`` (the measurements, exact floats), ``run.json`` (data, models, attacks,
provenance) and, when present, ``gradcam.npz``; nothing from the process that made it, so a folder
can be compared long after it was written. ``load_run`` reads and ``write_comparison`` writes;
everything between is pure: validation here, the leaderboard in ``harness.report.leaderboard``,
compare.md and its figures in ``harness.report.comparison`` (sections of the report engine).

Every (run, model role) is one *entry*, labelled ``<run name>/<role>``.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness import plots, reading, report
from harness.errors import HarnessError
from harness.io import atomic_dir
from harness.report.comparison import figures, render_markdown
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
from harness.results import GradcamPanel, RunResult

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
    "is_grid_record",
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

RESULTS_CSV = "results.csv"
RUN_JSON = "run.json"
LEADERBOARD_CSV = "leaderboard.csv"
COMPARE_MD = "compare.md"


# ---------------------------------------------------------------- loading (reads only)


@dataclass
class Run:
    """A run folder read back. ``result.measurements`` come from ``results.csv``."""

    path: Path  # the folder as given
    result: RunResult
    gradcam: GradcamPanel | None = None  # from gradcam.npz
    gradcam_note: str = ""  # why ``gradcam`` is None


def load_run(path: str | Path) -> Run:
    """Read one run folder; a missing, incomplete or unreadable folder is a ``HarnessError``."""
    path = Path(path)
    if not path.is_dir():
        what = "not a folder" if path.exists() else "no such folder"
        raise HarnessError(f"{path}: cannot compare this run: {what}")
    missing = [name for name in (RESULTS_CSV, RUN_JSON) if not (path / name).is_file()]
    if missing:
        raise HarnessError(f"{path}: incomplete run folder: no {' and no '.join(missing)}")
    result = _read_run_json(path)
    try:
        measurements = report.read_csv(path / RESULTS_CSV)
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: {RESULTS_CSV} is unreadable: {_line(exc)}") from None
    if not measurements:
        raise HarnessError(f"{path}: {RESULTS_CSV} has no measurements")
    gradcam, note = _read_gradcam(path)
    return Run(path, dataclasses.replace(result, measurements=measurements), gradcam, note)


def load_runs(paths: Iterable[str | Path]) -> list[Run]:
    """Read the folders and check they can be compared (``validate``)."""
    runs = [load_run(p) for p in paths]
    validate(runs)
    return runs


def is_grid_record(record: object) -> bool:
    """Whether a parsed run.json is a grid's (``harness.grid.report``), not a single run's."""
    return isinstance(record, dict) and record.get("kind") == "grid"


def _read_run_json(path: Path) -> RunResult:
    try:
        d = json.loads((path / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: {RUN_JSON} is unreadable: {_line(exc)}") from None
    if is_grid_record(d):
        raise HarnessError(
            f"{path}: a benchmark grid's folder, not a run (its report.md already puts its "
            "models side by side); give the folders of single runs"
        )
    try:
        return RunResult.from_dict(d)
    except (KeyError, TypeError, AttributeError) as exc:
        raise HarnessError(
            f"{path}: {RUN_JSON} is not a harness run record ({type(exc).__name__}: {exc})"
        ) from None


def _read_gradcam(path: Path) -> tuple[GradcamPanel | None, str]:
    file = path / report.GRADCAM_NPZ
    if not file.is_file():
        return None, f"no {report.GRADCAM_NPZ}"
    try:
        with np.load(file, allow_pickle=False) as arrays:
            return report.gradcam_from_arrays(arrays), ""
    except (OSError, ValueError, KeyError) as exc:
        return None, f"{report.GRADCAM_NPZ} is unreadable ({_line(exc)})"


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


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
