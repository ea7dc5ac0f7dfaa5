"""``run(spec) -> RunResult``: Build -> Break -> Improve, orchestration only.

plan (``harness.plan``: the spec validated, nothing loaded) -> data (``harness.prepare``) ->
models (``harness.models``: built, trained or reused from the weights cache, hardened) ->
evaluate (``harness.evaluate``: per-model analyses returning typed records, then the pictures)
-> ``RunResult``. No printing (progress bars aside) and no report files: the report writer
renders the result.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from harness import device, home, oom, provenance, reproducibility
from harness.corruptions.evaluate import provenance as corruption_provenance
from harness.evaluate import evaluate
from harness.models import Trained, build_models
from harness.plan import Plan, validate
from harness.prepare import prepare, summary
from harness.provenance import Timer
from harness.results import RunResult
from harness.seeding import seed_everything
from harness.spec import Spec

__all__ = ["MODELS_DIR", "default_models_dir", "run", "validate"]  # what others import from here

# The weights cache; None: ``<home>/models`` (``harness.home``). Read by ``run`` at call time.
MODELS_DIR: Path | None = None


def default_models_dir() -> Path:
    """``MODELS_DIR`` when set (tests point it elsewhere), else ``<home>/models``."""
    return MODELS_DIR if MODELS_DIR is not None else home.models_dir()


def run(
    spec: Spec,
    *,
    model: nn.Module | None = None,
    models_dir: Path | None = None,
    plan: Plan | None = None,
) -> RunResult:
    """Run the whole benchmark described by ``spec``.

    ``model``: a user's ``nn.Module`` (logits out, taking inputs normalized with the spec's
    mean/std) to evaluate as the baseline instead of building one from the spec.
    ``models_dir``: where trained weights are cached (default ``default_models_dir()``).
    ``plan``: ``validate(spec)``, when the caller has already validated the spec (the CLI);
    without it the spec is validated here, before any data is read.
    """
    plan = validate(spec) if plan is None else plan
    if spec.threads:
        torch.set_num_threads(spec.threads)
    with reproducibility.kernels(spec.reproducible):  # strict: one thread, portable kernels
        return _run(spec, plan, model, models_dir)


def _run(spec: Spec, plan: Plan, model: nn.Module | None, models_dir: Path | None) -> RunResult:
    seed_everything(spec.seed)
    device.deterministic(device.resolve(spec.device))
    timer, started = Timer(), time.time()
    with timer.phase("data"):
        data, split = prepare(spec, user_model=model is not None)
    models_dir = default_models_dir() if models_dir is None else models_dir
    with oom.recording() as fallbacks, timer.current():
        trained = build_models(spec, plan, data, split, models_dir, model=model, timer=timer)
        fields = evaluate(spec, data, plan, trained, timer)
    return RunResult(
        name=spec.name,
        spec=spec.to_dict(),
        seed=spec.seed,
        data=summary(data, split),
        provenance=_provenance(spec, timer, started, trained, data.input_shape)
        | {"randomness": plan.randomness()},
        batch_fallbacks=fallbacks,
        corruption_reference=plan.corruption_reference,
        **fields,
    )


def _provenance(
    spec: Spec, timer: Timer, started: float, trained: list[Trained], shape: tuple[int, ...]
) -> dict[str, Any]:
    """Where the run came from, how long each phase took, and the hashes of its weights files;
    ``shape``: one input's (C, H, W), which picks the corruptions' parameters."""
    return (
        provenance.record(spec, started, seed=spec.seed)
        | {
            "timings_seconds": timer.record(time.time() - started),
            "weights_sha256": {t.role: t.sha256 for t in trained if t.sha256},
        }
        | corruption_provenance(spec, shape)
    )
