"""What a finished run folder gives a tracking store: names, values and steps, no tracking
library imported (``harness.tracking.mlflow_sink`` sends them).

- **params**: the resolved spec (run.json's ``spec``), flattened to dotted keys
  (``model.train.lr``, ``attacks.0.name``), values as JSON text cut to the store's limit;
- **per-epoch metrics**: ``training/<model>/<field>`` at step = epoch (train and validation
  loss and accuracy, seconds, and the PGD/FGSM accuracies an FGSM-trained model is watched with);
- **figures**: every row of results.csv as ``<metric>/<model>/<attack>/eps_<eps>/value``, with
  ``.../low`` and ``.../high``, its 95% Wilson interval (perturbation sizes have none);
  corruption rows as ``corruption_accuracy/<model>/<corruption>/severity_<s>/...``;
- **tags**: each sanity verdict (``sanity/<model>/<check>`` = PASS, WARN, FAIL or SKIP), each
  model's tally, the worst verdict of the run, and where the run came from.

Names keep only characters every MLflow store accepts (letters, digits, ``_ . - /``); anything
else in a model or attack name becomes ``_``. A figure's name is a folder holding value, low and
high, never itself a prefix of another name (a file store keeps each name as a path).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness import stats
from harness.results import SEVERITY, Check, RunResult, rundir, summary
from harness.results.corruption import CSV_METRIC

# MLflow's limits (mlflow.utils.validation): a key, a parameter's and a tag's value
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
CUT = "..."  # ends a value cut to its limit
EPOCH_FIELDS = ("train_loss", "train_acc", "val_loss", "val_acc", "seconds", "pgd_acc", "fgsm_acc")
REPORT_TAG = "harness.run_json_sha256"  # which report a tracked run logged (a rerun finds it)
WORST_TAG = "sanity_worst"


@dataclass(frozen=True)
class Point:
    """One metric value; ``step``: the epoch for training metrics, 0 for a run's figures."""

    name: str
    value: float
    step: int = 0


@dataclass(frozen=True)
class Content:
    """Everything a run folder logs, apart from its files (the artifacts)."""

    params: dict[str, str]
    metrics: list[Point]
    tags: dict[str, str]
    run_name: str  # the default name of the tracked run


def collect(run: rundir.Run) -> Content:
    """The params, metrics and tags of the run folder ``run`` (``rundir.read_run``)."""
    result = run.result
    return Content(
        params=params(result.spec),
        metrics=epoch_metrics(result) + figures(result),
        tags=sanity_tags(result.sanity) | origin_tags(result, run),
        run_name=f"{result.name}-seed{result.seed}",
    )


# ---------------------------------------------------------------- names


def name(*parts: str) -> str:
    """A metric or tag name from ``parts`` joined by "/", each part legal for every store."""
    return "/".join(_part(p) for p in parts)[:MAX_KEY]


def _part(text: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", str(text))
    return safe if safe.strip(".") else safe.replace(".", "_") or "_"  # "." and ".." are paths


# ---------------------------------------------------------------- params


def params(spec: dict[str, Any]) -> dict[str, str]:
    """The resolved spec flattened: ``{"model": {"train": {"lr": 0.001}}}`` ->
    ``{"model.train.lr": "0.001"}``, ``attacks.0.name``; values as JSON text (a string as it
    is, ``eps`` as ``[0.0, 0.05]``), cut to the store's limit."""
    return {key[:MAX_KEY]: _cut(value, MAX_PARAM_VALUE) for key, value in _flat(spec, "")}


def _flat(value: Any, prefix: str) -> list[tuple[str, str]]:
    items = value.items() if isinstance(value, dict) else enumerate(value)
    out = []
    for k, v in items:
        key = f"{prefix}.{_part(str(k))}" if prefix else _part(str(k))
        if (isinstance(v, dict) and v) or (isinstance(v, list) and _has_mapping(v)):
            out += _flat(v, key)
        else:
            out.append((key, v if isinstance(v, str) else json.dumps(v, sort_keys=True)))
    return out


def _has_mapping(items: list[Any]) -> bool:
    """A list of sections (attacks, defences) is flattened by position; a list of values
    (``eps``) stays one parameter."""
    return any(isinstance(v, dict) for v in items)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(CUT)] + CUT


# ---------------------------------------------------------------- metrics


def epoch_metrics(result: RunResult) -> list[Point]:
    """Each trained model's history, one point per epoch and field (None: not measured)."""
    out = []
    for model in result.models:
        for epoch in model.history:
            for field in EPOCH_FIELDS:
                value = getattr(epoch, field)
                if value is not None:
                    out.append(Point(name("training", model.role, field), value, epoch.epoch))
    return out


def figures(result: RunResult) -> list[Point]:
    """Every results.csv figure: its value and, for a fraction, its 95% interval."""
    out = []
    for m in result.measurements:
        where = name(m.metric, m.model, m.attack, f"eps_{m.eps!r}")
        out += _with_interval(where, m.value, result.interval(m))
    for c in result.corruptions:
        where = name(CSV_METRIC, c.model, c.corruption, f"severity_{c.severity}")
        out += _with_interval(where, c.accuracy, stats.share(c.accuracy, c.n) if c.n else None)
    return out


def _with_interval(where: str, value: float, interval: stats.Interval | None) -> list[Point]:
    points = [Point(f"{where}/value", value)]
    if interval is not None:
        points += [Point(f"{where}/low", interval.low), Point(f"{where}/high", interval.high)]
    return points


# ---------------------------------------------------------------- tags


def sanity_tags(checks: Sequence[Check]) -> dict[str, str]:
    """Each check's verdict, each model's tally, and the worst verdict of all ("": no checks)."""
    tags = {name("sanity", c.model, c.name): c.status for c in checks}
    for model in dict.fromkeys(c.model for c in checks):
        tags[name("sanity_tally", model)] = summary(c for c in checks if c.model == model)
    statuses = [c.status for c in checks if c.status in SEVERITY]
    tags[WORST_TAG] = max(statuses, key=SEVERITY.index) if statuses else ""
    return tags


def origin_tags(result: RunResult, run: rundir.Run) -> dict[str, str]:
    """Where the run came from, and which report this is (the hash of its run.json)."""
    from harness.verdict import summary_lines  # the verdict reads results: imported late

    prov = result.provenance
    record = (run.path / rundir.RUN_JSON).read_bytes()
    tags = {
        REPORT_TAG: hashlib.sha256(record).hexdigest(),
        "harness.spec": result.name,
        "harness.spec_hash": str(prov.get("spec_hash", "")),
        "harness.dataset": result.data.name,
        "harness.git_commit": str(prov.get("git_commit") or ""),
        "harness.version": str((prov.get("versions") or {}).get("robustness-harness", "")),
        "harness.report": str(run.path.resolve()),
        "mlflow.note.content": "\n".join(summary_lines(result)),
    }
    return {k: _cut(v, MAX_TAG_VALUE) for k, v in tags.items()}
