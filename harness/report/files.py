"""A run's report folder on disk: results.csv, run.json, gradcam.npz, the file names, the writer.

Moved unchanged from the former ``harness/report.py`` (its I/O), so that the run-folder module
(``harness.results.rundir``) can take it over as is. ``write_folder`` is ``write_report``'s
file-writing: the Markdown and the figure builders come from the report engine
(``harness.report.run``). The folder is built in a temporary directory and renamed into place,
so a failure never leaves a half-written report.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from harness import plots
from harness.io import atomic_dir, pause_for_test, write_text
from harness.outputs import MARKER
from harness.results import CSV_COLUMNS, ExampleGrid, GradcamPanel, Measurement, RunResult

# ---------------------------------------------------------------- the writer (the only I/O)


def write_folder(
    result: RunResult,
    out_dir: str | Path,
    made: Mapping[str, Callable[[], Figure]],
    markdown: Callable[[RunResult], str],
    *,
    replace: bool = False,
) -> Path:
    """Write the report folder ``out_dir``, which must be missing or empty; ``replace``: it
    holds an earlier report that may go (``harness.outputs.report_target`` decides), replaced
    only once the new one is complete. ``made``: figure file -> builder; ``markdown``: report.md."""
    out = Path(out_dir)
    with atomic_dir(out, replace=replace) as tmp:  # the unit of atomicity: plain writes inside
        _write(tmp / "results.csv", csv_text(result.measurements))
        pause_for_test("report")
        _write(tmp / "run.json", render_run_json(result, report_files(result, made)))
        if result.gradcam is not None:
            np.savez_compressed(tmp / GRADCAM_NPZ, **gradcam_arrays(result.gradcam))
        for name, make in made.items():
            plots.save(make(), tmp / name)
        _write(tmp / "report.md", markdown(result))
    return out


def report_files(result: RunResult, made: Mapping[str, Callable[[], Figure]]) -> list[str]:
    """The names ``write_report`` writes: run.json lists them (``outputs.MARKER``), so only a
    folder holding nothing else is ever replaced."""
    arrays = [GRADCAM_NPZ] if result.gradcam is not None else []
    return sorted(["results.csv", "run.json", "report.md", *arrays, *made])


def _write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8", newline="")  # "\n" on every platform: stable bytes


# ---------------------------------------------------------------- results.csv and run.json


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


def render_run_json(result: RunResult, files: Sequence[str] | None = None) -> str:
    """``files``: the report's file names, recorded under ``outputs.MARKER`` (the writer's mark)."""
    record = result.to_dict()
    if files is not None:
        record[MARKER] = {"kind": "run", "files": list(files)}
    return json.dumps(record, sort_keys=True, indent=2) + "\n"


# ---------------------------------------------------------------- gradcam.npz

GRADCAM_NPZ = "gradcam.npz"
PER_MODEL = ("adversarial", "cams_clean", "cams_adv", "preds_clean", "preds_adv")


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
