"""The run folder: the one place that writes and reads it (results.csv, run.json, gradcam.npz).

A run folder holds ``results.csv`` (every measurement, long format), ``run.json`` (the rest of
the ``RunResult``, plus the writer's mark ``outputs.MARKER`` listing the files it wrote),
``gradcam.npz`` (the Grad-CAM panel's arrays) and whatever the report adds (``report.md``,
figures), which ``write_run`` takes as named writers. Reading needs numpy and the standard
library only: ``harness compare``, the app and grids read finished runs without torch or ART.

Writes are atomic: the folder is built beside its destination and moved into place whole
(``harness.io.atomic_dir``), so an interrupted write leaves nothing half-written.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import HarnessError
from harness.io import atomic_dir, write_text
from harness.outputs import MARKER
from harness.results.analyses import GradcamPanel
from harness.results.corruption import csv_rows, is_corruption_row
from harness.results.records import CSV_COLUMNS, Measurement, RunResult

RESULTS_CSV = "results.csv"
RUN_JSON = "run.json"
GRADCAM_NPZ = "gradcam.npz"
PER_MODEL = ("adversarial", "cams_clean", "cams_adv", "preds_clean", "preds_adv")
GRID_KIND = "grid"  # run.json's "kind" in a grid's folder (harness.grid.report)

Writer = Callable[[Path], None]  # writes one file of the report at the given path


# ---------------------------------------------------------------- writing


def write_run(
    result: RunResult, out: str | Path, files: Mapping[str, Writer], *, replace: bool = False
) -> Path:
    """Write the run folder ``out`` (missing or empty; ``replace``: an earlier report there may
    go, see ``harness.outputs``): the run's own files, then ``files`` in order (name -> writer).
    run.json lists every name, so only a folder holding nothing else is ever replaced."""
    out = Path(out)
    arrays = [GRADCAM_NPZ] if result.gradcam is not None else []
    names = sorted([RESULTS_CSV, RUN_JSON, *arrays, *files])
    with atomic_dir(out, replace=replace) as tmp:  # the unit of atomicity: plain writes inside
        rows = [*result.measurements, *(Measurement(*r) for r in csv_rows(result.corruptions))]
        _write(tmp / RESULTS_CSV, csv_text(rows))
        _write(tmp / RUN_JSON, render_run_json(result, names))
        if result.gradcam is not None:
            np.savez_compressed(tmp / GRADCAM_NPZ, **gradcam_arrays(result.gradcam))
        for name, write in files.items():
            write(tmp / name)
    return out


def text_writer(render: Callable[[], str]) -> Writer:
    """A writer of the text ``render()`` returns, with "\\n" line ends on every platform."""
    return lambda path: _write(path, render())


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")  # "\n" on every platform: stable bytes


def csv_text(measurements: Iterable[Measurement]) -> str:
    """Long-format CSV; floats as ``repr`` (shortest exact round trip), so output is byte-stable."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for m in measurements:
        writer.writerow([m.model, m.attack, repr(float(m.eps)), m.metric, repr(float(m.value))])
    return buf.getvalue()


def write_csv(measurements: Iterable[Measurement], path: str | Path) -> None:
    write_text(path, csv_text(measurements))


def render_run_json(result: RunResult, files: Sequence[str] | None = None) -> str:
    """``files``: the report's file names, recorded under ``outputs.MARKER`` (the writer's mark)."""
    record = result.to_dict()
    if files is not None:
        record[MARKER] = {"kind": "run", "files": list(files)}
    return json.dumps(record, sort_keys=True, indent=2) + "\n"


def gradcam_arrays(panel: GradcamPanel) -> dict[str, np.ndarray]:
    """The Grad-CAM panel as named arrays of plain dtypes (``np.load`` needs no pickle).

    ``indices`` (K,) int64, ``labels`` (K,) str, ``eps`` () float, ``attack`` () str, ``clean``
    (K, C, H, W) in [0, 1], ``roles`` (R,) str; then for the i-th role: ``adversarial_i``
    (K, C, H, W), ``cams_clean_i`` / ``cams_adv_i`` (K, H, W) in [0, 1], ``preds_clean_i`` /
    ``preds_adv_i`` (K,) str. Roles go by position because a role may be any model name.
    """
    roles = list(panel.cams_clean)
    out = {
        "indices": np.asarray(panel.indices, dtype=np.int64),
        "labels": np.asarray(panel.labels, dtype=str),
        "eps": np.asarray(panel.eps, dtype=np.float64),
        "attack": np.asarray(panel.attack, dtype=str),
        "clean": np.asarray(panel.clean),
        "roles": np.asarray(roles, dtype=str),
    }
    for i, role in enumerate(roles):
        for key in PER_MODEL:
            value = getattr(panel, key)[role]
            out[f"{key}_{i}"] = np.asarray(value, dtype=str if key.startswith("preds") else None)
    return out


# ---------------------------------------------------------------- reading


@dataclass
class Run:
    """A run folder read back. ``result.measurements`` come from ``results.csv``."""

    path: Path  # the folder as given
    result: RunResult
    gradcam: GradcamPanel | None = None  # from gradcam.npz
    gradcam_note: str = ""  # why ``gradcam`` is None


def read_run(path: str | Path, purpose: str = "read") -> Run:
    """Read one run folder; a missing, incomplete, unreadable folder or a grid's folder is a
    ``HarnessError`` naming the folder (``purpose``: what the caller wanted, e.g. "compare")."""
    return run_from_record(path, open_record(path, purpose))


def open_record(path: str | Path, purpose: str = "read") -> dict[str, Any]:
    """The parsed run.json of a single run's folder, once the folder is checked: it exists,
    holds results.csv and run.json, and is not a grid's."""
    path = Path(path)
    if not path.is_dir():
        what = "not a folder" if path.exists() else "no such folder"
        raise HarnessError(f"{path}: cannot {purpose} this run: {what}")
    missing = [name for name in (RESULTS_CSV, RUN_JSON) if not (path / name).is_file()]
    if missing:
        raise HarnessError(
            f"{path}: incomplete run folder (no {' and no '.join(missing)}); "
            "the run did not finish or this is not a run folder"
        )
    record = read_record(path)
    if is_grid_record(record):
        raise HarnessError(
            f"{path}: a benchmark grid's folder, not a single run (its report.md already puts "
            "its models side by side); give the folders of single runs"
        )
    if not isinstance(record, dict):
        raise HarnessError(f"{path}: {RUN_JSON} is not a harness run record (not a mapping)")
    return record


def run_from_record(path: str | Path, record: dict[str, Any]) -> Run:
    """The run of the folder ``path`` whose run.json is ``record`` (``open_record``); the
    measurements come from its results.csv, the Grad-CAM panel from gradcam.npz."""
    path = Path(path)
    result = dataclasses.replace(_run_result(record, path), measurements=_measurements(path))
    gradcam, note = read_gradcam(path)
    return Run(path, result, gradcam, note)


def read_record(path: str | Path) -> Any:
    """The parsed run.json of the folder ``path`` (any JSON value; the caller checks its shape)."""
    path = Path(path)
    try:
        return json.loads((path / RUN_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: {RUN_JSON} is unreadable ({_line(exc)})") from None


def is_grid_record(record: object) -> bool:
    """Whether a parsed run.json is a grid's (``harness.grid.report``), not a single run's."""
    return isinstance(record, dict) and record.get("kind") == GRID_KIND


def is_run_folder(path: str | Path) -> bool:
    """A folder holding a single run's run.json (not a grid's); unreadable ones count, so that
    choosing them says why they cannot be read."""
    path = Path(path)
    if not (path / RUN_JSON).is_file():
        return False
    try:
        return not is_grid_record(read_record(path))
    except HarnessError:
        return True


def _run_result(record: Any, path: Path) -> RunResult:
    try:
        return RunResult.from_dict(record)
    except (KeyError, TypeError, AttributeError) as exc:
        raise HarnessError(
            f"{path}: {RUN_JSON} is not a harness run record ({type(exc).__name__}: {exc})"
        ) from None


def _measurements(path: Path) -> list[Measurement]:
    try:
        measurements = read_csv(path / RESULTS_CSV)
    except (OSError, ValueError) as exc:
        raise HarnessError(f"{path}: {RESULTS_CSV} is unreadable: {_line(exc)}") from None
    if not measurements:
        raise HarnessError(f"{path}: {RESULTS_CSV} has no measurements")
    return [m for m in measurements if not is_corruption_row(m.attack)]  # run.json has those


def read_csv(path: str | Path) -> list[Measurement]:
    """Read a ``results.csv`` back into measurements (exactly as written)."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if not rows or tuple(rows[0]) != CSV_COLUMNS:
        got = ",".join(rows[0]) if rows else "an empty file"
        raise ValueError(f"{path}: expected the header {','.join(CSV_COLUMNS)}, got {got}")
    out = []
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(CSV_COLUMNS):
            raise ValueError(f"{path}:{line}: expected {len(CSV_COLUMNS)} fields, got {row}")
        model, attack, eps, metric, value = row
        out.append(Measurement(model, attack, float(eps), metric, float(value)))
    return out


def read_gradcam(path: Path) -> tuple[GradcamPanel | None, str]:
    """The folder's Grad-CAM panel, or None and why (no file, unreadable)."""
    file = path / GRADCAM_NPZ
    if not file.is_file():
        return None, f"no {GRADCAM_NPZ}"
    try:
        with np.load(file, allow_pickle=False) as arrays:
            return gradcam_from_arrays(arrays), ""
    except (OSError, ValueError, KeyError) as exc:
        return None, f"{GRADCAM_NPZ} is unreadable ({_line(exc)})"


def gradcam_from_arrays(arrays: Mapping[str, np.ndarray]) -> GradcamPanel:
    """Inverse of ``gradcam_arrays`` (e.g. of ``np.load("gradcam.npz")``)."""
    roles = [str(r) for r in arrays["roles"]]
    per_model = {
        key: {
            role: (
                [str(p) for p in arrays[f"{key}_{i}"]]
                if key.startswith("preds")
                else np.asarray(arrays[f"{key}_{i}"])
            )
            for i, role in enumerate(roles)
        }
        for key in PER_MODEL
    }
    return GradcamPanel(
        eps=float(arrays["eps"]),
        attack=str(arrays["attack"]),
        indices=[int(i) for i in arrays["indices"]],
        labels=[str(label) for label in arrays["labels"]],
        clean=np.asarray(arrays["clean"]),
        **per_model,
    )


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split())
