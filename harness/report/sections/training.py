"""``## Training``: per model, its recipe and the per-epoch loss, accuracy and time."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.reading import pct, table
from harness.report.templates import prose
from harness.results import ModelResult, RunResult

HEADER = ["epoch", "train loss", "train acc", "val loss", "val acc", "seconds"]


def markdown(result: RunResult) -> str:
    return render(result.models, result.spec)


def render(models: Sequence[ModelResult], spec: Mapping[str, Any] | None = None) -> str:
    parts = ["## Training"]
    for m in models:
        parts.append(f"### {m.role}")
        if not m.history:
            parts.append(f"No training in this run ({m.training or 'weights given'}).")
            continue
        train = m.defence.train if m.defence else (spec or {}).get("model", {}).get("train")
        if train:
            parts.append(recipe_text(train))
        parts.append(table(HEADER, [_epoch_row(e) for e in m.history]))
    return "\n\n".join(parts)


def _epoch_row(e: Any) -> tuple[Any, ...]:
    epoch = f"{e.epoch} (kept)" if e.kept else e.epoch
    return (
        epoch,
        f"{e.train_loss:.4f}",
        pct(e.train_acc),
        f"{e.val_loss:.4f}",
        pct(e.val_acc),
        f"{e.seconds:.1f}",
    )


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
    return prose("recipe", opt=opt, schedule=schedule, t=train)
