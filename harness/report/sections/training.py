"""``## Training``: per model, its recipe and the per-epoch loss, accuracy and time (and, for
FGSM-based training, the PGD and FGSM accuracy on a held-out minibatch: catastrophic
overfitting shows there first; ``harness.defences.overfitting``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from harness.reading import pct, table
from harness.report.templates import prose
from harness.results import ModelResult, RunResult

HEADER = ["epoch", "train loss", "train acc", "val loss", "val acc", "seconds"]
WATCHED = ["PGD acc (held out)", "FGSM acc (held out)"]  # only when an epoch recorded them


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
        watched = any(e.pgd_acc is not None for e in m.history)
        header = HEADER + WATCHED if watched else HEADER
        parts.append(table(header, [_epoch_row(e, watched) for e in m.history]))
    return "\n\n".join(parts)


def _epoch_row(e: Any, watched: bool = False) -> tuple[Any, ...]:
    epoch = f"{e.epoch} (kept)" if e.kept else e.epoch
    extra = (pct(e.pgd_acc), pct(e.fgsm_acc)) if watched else ()
    return (
        epoch,
        f"{e.train_loss:.4f}",
        pct(e.train_acc),
        f"{e.val_loss:.4f}",
        pct(e.val_acc),
        f"{e.seconds:.1f}",
        *extra,
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
