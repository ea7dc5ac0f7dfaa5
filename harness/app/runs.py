"""Run folders for the app: find the newest ones and read one back, with one-line errors.

A run folder is what ``harness run`` wrote (``harness.report.write_report``). The app needs
``run.json`` (spec, data summary, models with their weights) and ``results.csv``; a folder that
lacks them, or whose ``run.json`` predates the fields the app reads, is refused with a message
naming the folder and what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import HarnessError
from harness.results import RunResult, rundir
from harness.spec import Spec, parse_spec

REPORT_MD = "report.md"
# The spec sections the app uses; attacks and defences are read from the run record instead,
# so a change in how those are specified does not make older runs unreadable.
SPEC_KEYS = ("name", "version", "seed", "dataset", "model", "eps", "evasion", "gradcam")
RERUN = "rerun it with `harness run` to use it here"


@dataclass(frozen=True)
class AppRun:
    """One run folder, read back."""

    path: Path
    result: RunResult  # measurements from results.csv, everything else from run.json
    spec: Spec  # the SPEC_KEYS sections of the run's resolved spec
    stamp: float = 0.0  # run.json's modification time when read (a rewritten run is reloaded)

    @property
    def label(self) -> str:
        return f"{self.result.name}/{self.path.name}"

    @property
    def class_names(self) -> list[str]:
        return list(self.result.data.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:  # (C, H, W)
        c, h, w = self.result.data.input_shape
        return int(c), int(h), int(w)

    def compatible(self, other: AppRun) -> bool:
        """Same dataset, classes and input shape: their models can be shown side by side."""
        key = (self.result.data.name, self.class_names, self.input_shape)
        return key == (other.result.data.name, other.class_names, other.input_shape)


def newest_runs(root: str | Path = "reports") -> list[Path]:
    """The newest run folder of each benchmark under ``root``, newest first."""
    root = Path(root)
    if not root.is_dir():
        return []
    newest = []
    for bench in sorted(p for p in root.iterdir() if p.is_dir()):
        runs = [p for p in bench.iterdir() if rundir.is_run_folder(p)]
        if runs:
            newest.append(max(runs, key=lambda p: (p / rundir.RUN_JSON).stat().st_mtime))
    return sorted(newest, key=lambda p: (p / rundir.RUN_JSON).stat().st_mtime, reverse=True)


def load_app_run(path: str | Path) -> AppRun:
    """Read a run folder; a missing, incomplete or older-format folder is a ``HarnessError``."""
    record = rundir.open_record(path, "open")
    if gaps := format_gaps(record):
        raise HarnessError(
            f"{path}: run.json is from an older format (no {', '.join(gaps)}); {RERUN}"
        )
    spec = _spec(record["spec"], Path(path))
    return AppRun(Path(path), rundir.run_from_record(path, record).result, spec, stamp(path))


def stamp(path: str | Path) -> float:
    """run.json's modification time (0 when absent): the cache key of a run folder."""
    try:
        return (Path(path) / rundir.RUN_JSON).stat().st_mtime
    except OSError:
        return 0.0


def format_gaps(raw: dict[str, Any]) -> list[str]:
    """The fields the app needs that ``raw`` (a run.json mapping, ``rundir.open_record``) lacks."""
    gaps = [k for k in ("spec", "data", "models") if not isinstance(raw.get(k), dict | list)]
    data = raw.get("data") if isinstance(raw.get("data"), dict) else {}
    gaps += [f"data.{k}" for k in ("class_names", "input_shape") if k not in data]
    for i, m in enumerate(raw.get("models") or []):
        gaps += [f"models[{i}].{k}" for k in ("role", "arch", "weights") if k not in m]
    return gaps


def _spec(raw: dict[str, Any], path: Path) -> Spec:
    try:
        return parse_spec({k: raw[k] for k in SPEC_KEYS if k in raw} | {"defence": None})
    except HarnessError as exc:
        raise HarnessError(
            f"{path}: run.json's spec is from another format ({exc}); {RERUN}"
        ) from None
