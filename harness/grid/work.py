"""What an executor runs: build one unit, evaluate one cell. Picklable inputs, picklable outputs.

Both run anywhere an executor puts them: in the driver's process (``local``) or in a Ray worker
on another node. Trained weights travel as bytes: a unit returns its checkpoint files, and every
task first writes the files of the units it depends on into its own weights cache, where the
runner finds and reuses them instead of training. Datasets are read from the spec's path on the
machine the task runs on (relative paths from the driver's working directory, ``cwd``).
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from art.estimators.classification import PyTorchClassifier

from harness import device
from harness.corruptions import evaluate as corruptions
from harness.datasets import Dataset
from harness.estimator import build_classifier
from harness.evaluate import attack_model
from harness.grid.cells import CORRUPTIONS_CELL, Cell, Unit
from harness.io import atomic_path
from harness.models import build_models
from harness.plan import validate
from harness.prepare import prepare
from harness.results import Measurement, bits
from harness.results.corruption import csv_rows
from harness.seeding import seed_everything
from harness.spec import Spec
from harness.sweep import clean_eval

Files = dict[str, bytes]  # path relative to the weights cache -> file content


@dataclass(frozen=True)
class Built:
    """A unit's outcome: its checkpoint files (none for a model loaded from the user's path)."""

    files: Files
    training: str  # "trained", "reused <path>", "loaded <path>"
    seconds: float  # training time from the per-epoch table (0 when reused)


@dataclass(frozen=True)
class Outcome:
    """Per-sample results of one untargeted attack, for the grid's per-sample worst case."""

    attack: str
    robust: str  # (E, N) bool, np.packbits, base64
    attacked: str  # (N,) bool, np.packbits, base64


@dataclass(frozen=True)
class CellResult:
    """What a finished cell stores; ``rows`` are named by the cell's role, clean rows left out
    (the grid writes one clean-accuracy row per model, from ``clean_accuracy``)."""

    rows: list[Measurement]
    clean_accuracy: float
    n_test: int
    class_names: list[str]
    eps: list[float]
    outcomes: list[Outcome]
    seconds: float
    host: str = ""
    pid: int = 0
    models: dict[str, str] = field(default_factory=dict)  # role -> how it was obtained

    def to_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["rows"] = [m.__dict__ for m in self.rows]
        d["outcomes"] = [o.__dict__ for o in self.outcomes]
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CellResult:
        d = dict(d)
        d["rows"] = [Measurement(**m) for m in d["rows"]]
        d["outcomes"] = [Outcome(**o) for o in d["outcomes"]]
        return cls(**d)

    def masks(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """attack -> (robust (E, N) bool, attacked (N,) bool)."""
        e, n = len(self.eps), self.n_test
        return {
            o.attack: (bits.unpack(o.robust, (e, n)), bits.unpack(o.attacked, (n,)))
            for o in self.outcomes
        }


def _corrupted(cell: Cell, clf: PyTorchClassifier, data: Dataset) -> list[Measurement]:
    """The corruption cell's rows: clean accuracy, then the accuracy under every corruption and
    severity, as a run's results.csv names them (``corruption:<name>``, eps = severity)."""
    clean = clean_eval(clf, data.x_test, cell.spec.eval_batch_size)
    accuracy = float(np.mean(clean.pred == data.y_test))
    records = corruptions.records(cell.spec, data, cell.role, clf)
    return [Measurement(cell.role, "none", 0.0, "clean_accuracy", accuracy)] + [
        Measurement(*r) for r in csv_rows(records)
    ]


def build_unit(unit: Unit, models_dir: str, cwd: str, *deps: Files) -> Built:
    """Train unit's model (or reuse it from the cache) and return its checkpoint files."""
    cache = _setup(unit.spec, models_dir, deps, cwd)
    plan = validate(unit.spec)
    data, split = prepare(unit.spec, train=True)  # the split every cell uses
    t = next(t for t in build_models(unit.spec, plan, data, split, cache) if t.role == unit.role)
    seconds = round(sum(h.seconds for h in t.history), 3)
    return Built(_files(cache, t.weights), t.training, seconds)


def evaluate_cell(cell: Cell, models_dir: str, cwd: str, *deps: Files) -> CellResult:
    """Clean accuracy and the cell's attack (plus its naive twin on a defence in front of the
    baseline) on the cell's model, over the spec's epsilons."""
    start = time.perf_counter()
    cache = _setup(cell.spec, models_dir, deps, cwd)
    plan = validate(cell.spec)
    # every cell on one split: a baseline cell has no defences, so deciding per cell whether
    # anything trains could give a flat folder's cells different test sets
    data, split = prepare(cell.spec, train=True)
    trained = build_models(cell.spec, plan, data, split, cache)
    classifiers = {
        t.role: build_classifier(t.model, data.input_shape, data.num_classes) for t in trained
    }
    target = next(t for t in trained if t.role == cell.role)
    if cell.attack == CORRUPTIONS_CELL:
        rows, outcomes = _corrupted(cell, classifiers[cell.role], data), []
    else:
        _, rows, outcomes = attack_model(cell.spec, plan, target, classifiers, data)
    clean = next(m.value for m in rows if m.metric == "clean_accuracy")
    untargeted = {p.name for p in plan.attacks + plan.naive if not p.targeted}
    return CellResult(
        rows=[m for m in rows if m.attack not in ("none", "worst_case")],
        clean_accuracy=clean,
        n_test=len(data.y_test),
        class_names=list(data.class_names),
        eps=list(cell.spec.eps),
        outcomes=[
            Outcome(o.attack, bits.pack(o.robust), bits.pack(o.attacked))
            for o in outcomes
            if o.attack in untargeted
        ],
        seconds=round(time.perf_counter() - start, 3),
        host=socket.gethostname(),
        pid=os.getpid(),
        models={t.role: t.training for t in trained},
    )


def _setup(spec: Spec, models_dir: str, deps: tuple[Files, ...], cwd: str) -> Path:
    """Same threads and seeds wherever the task runs; the dependencies' weights in the cache."""
    if cwd and Path(cwd).is_dir():
        os.chdir(cwd)  # the spec's relative paths are the driver's
    torch.set_num_threads(spec.threads or 1)
    seed_everything(spec.seed)
    device.deterministic(device.resolve(spec.device))
    cache = Path(models_dir)
    for files in deps:
        materialize(files, cache)
    return cache


def materialize(files: Files, cache: Path) -> None:
    """Write checkpoint files into the cache (atomically), unless already there; each
    checkpoint before its metadata, which the cache reads as "this checkpoint is complete"."""
    for rel, content in sorted(files.items(), key=lambda kv: (kv[0].endswith(".json"), kv[0])):
        path = cache / rel
        if not path.is_file() or path.stat().st_size != len(content):
            with atomic_path(path) as tmp:
                tmp.write_bytes(content)


def _files(cache: Path, weights: str) -> Files:
    """The checkpoint (.pt) and its metadata (.json), named relative to the cache; none for
    weights outside it (a user's own file, read from its path) or a model with no weights."""
    pt = Path(weights).resolve()
    if not weights or not pt.is_relative_to(cache.resolve()):
        return {}
    rel = pt.relative_to(cache.resolve())
    return {str(p): (cache / p).read_bytes() for p in (rel, rel.with_suffix(".json"))}
