"""The models a run attacks: the baseline (Build) and each defence's model (Improve).

A model is a user's ``nn.Module``, a network loaded from ``model.weights``, a zoo's model read
from the user's checkpoint (``harness.zoo``, never trained), or one trained from the spec
(reused from the weights cache, ``harness.cache``, when it was trained before). A defence's
model is its own trained network, or a stage placed in front of the baseline.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn

from harness import cache, checkpoints, device, zoo
from harness.architectures import Shape, wrap
from harness.build import check_outputs, recipe
from harness.datasets import Dataset
from harness.defences import DEFENCES, HardenJob, describe
from harness.errors import HarnessError
from harness.plan import Plan
from harness.provenance import Timer
from harness.results import CertifiedCurve, DefenceRecord, EpochStats
from harness.spec import DefenceSpec, Spec
from harness.training import Snapshot, TrainData, train_standard
from harness.validation import arch_field, check_networks, real_batch
from harness.weights import WeightRecorder

GIVEN = "given as a Python object"  # how a module given to the Python API was obtained


@dataclass
class Trained:
    """A model ready to be attacked, with how it was obtained."""

    role: str
    name: str
    model: nn.Module
    history: list[EpochStats] = field(default_factory=list)
    training: str = ""
    weights: str = ""
    defence: DefenceRecord | None = None  # None: the baseline
    recorder: WeightRecorder | None = None  # per-epoch weight histograms (trained or cached)
    core: nn.Module | None = None  # the trained network inside ``model``, if not ``model`` itself
    wraps: bool = False  # ``model`` puts a defence in front of the baseline: naive attacks too
    randomized: bool = False  # ``model`` is random by design (randomized smoothing)
    certify: Callable[[np.ndarray, np.ndarray], CertifiedCurve] | None = None
    sha256: str = ""  # of the weights file read or written, recorded in the run's provenance
    resumed_at: int | None = None  # trained now, resumed at this epoch from a checkpoint


def build_models(
    spec: Spec,
    plan: Plan,
    data: Dataset,
    split: TrainData,
    models_dir: Path,
    *,
    model: nn.Module | None = None,
    timer: Timer | None = None,
) -> list[Trained]:
    """The baseline (Build) and each of the plan's defences (Improve), trained or reused from
    the weights cache in ``models_dir``."""
    timer = timer or Timer()
    check_networks(spec, plan, data, user_model=model is not None)
    with timer.phase("build"):
        baseline = _baseline(spec, data, split, model, models_dir)
    trained = [baseline]
    with timer.phase("improve"):
        for d, params in plan.defences:
            trained.append(_harden(spec, d, params, data, split, baseline, models_dir))
    for t in trained:  # a defence's stages join its network on the run's device; amp wraps last
        t.model = device.autocast(t.model.to(device.resolve(spec.device)), spec.amp)
    return trained


def _baseline(
    spec: Spec, data: Dataset, split: TrainData, model: nn.Module | None, models_dir: Path
) -> Trained:
    if model is not None:  # the Python API: a user's module, evaluated as given
        return _given(spec, data, model, models_dir)
    if spec.model.zoo:  # read, not trained; seeded so the random state after it is the run's
        torch.manual_seed(spec.seed)
        z = zoo.load(spec.model, data.input_shape, data.num_classes)
        check_outputs(z.model, real_batch(data), z.field, f"{z.label} from {z.path}")
        return Trained(
            "baseline", z.label, z.model, training=z.how, weights=str(z.path), sha256=z.sha256
        )
    if not (spec.model.arch or spec.model.builder):
        raise HarnessError(
            "model: expected 'arch' (a registered architecture) or 'builder' (file.py:function)"
        )
    rec = recipe(spec.model)
    if spec.model.weights:
        torch.manual_seed(spec.seed)
        wrapped = rec.make(data.input_shape, data.num_classes).to(device.resolve(spec.device))
        path = Path(spec.model.weights)
        sha = checkpoints.load_wrapped(wrapped, path)
        check_outputs(wrapped, real_batch(data), "model.weights", str(path))
        how = f"loaded {path}"
        return Trained("baseline", rec.name, wrapped, training=how, weights=str(path), sha256=sha)
    key = {"role": "baseline", "recipe": [rec.name, rec.mean, rec.std], "train": spec.model.train}
    make = lambda: rec.make(data.input_shape, data.num_classes)  # noqa: E731
    fit = _train_baseline(spec, split)
    every = spec.model.train.checkpoints
    fitted = cache.cached(spec, split, key, models_dir, "baseline", make, fit, every)
    return _trained("baseline", rec.name, fitted)


def _given(spec: Spec, data: Dataset, model: nn.Module, models_dir: Path) -> Trained:
    """A user's module given to the Python API, wrapped with the spec's normalization. With a
    ``model.builder`` that builds the same network, its weights are saved (by content, under
    ``models_dir/given``) so the run can be rebuilt later, e.g. by the app."""
    mean, std = spec.model.mean or (0.0,), spec.model.std or (1.0,)
    wrapped = wrap(model, mean, std, data.input_shape[0]).to(device.resolve(spec.device))
    check_outputs(wrapped, real_batch(data), "model", f"the given {type(model).__name__}")
    t = Trained("baseline", type(model).__name__, wrapped, training=GIVEN)
    if spec.model.builder:
        _check_builds_alike(recipe(spec.model).make(data.input_shape, data.num_classes), wrapped)
        t.name = spec.model.builder
        path = models_dir / "given" / f"{_content_key(wrapped)}.pt"
        t.sha256, t.weights = _saved(wrapped, path, type(model).__name__), str(path)
    return t


def _saved(model: nn.Module, path: Path, name: str) -> str:
    """``model`` saved at ``path`` unless an intact copy is there already; its SHA-256."""
    if path.is_file() and checkpoints.load_meta(path) is not None:
        try:
            return checkpoints.verify(path)
        except HarnessError:  # a damaged copy: written again below
            pass
    return checkpoints.save(model, path, {"given": name})


def _check_builds_alike(built: nn.Module, given: nn.Module) -> None:
    """``model.builder``'s network must hold the given module's weights, name for name and shape
    for shape; else one line naming the first that differs."""
    mine = {k: tuple(v.shape) for k, v in built.state_dict().items()}
    theirs = {k: tuple(v.shape) for k, v in given.state_dict().items()}
    for k in dict.fromkeys([*theirs, *mine]):
        if mine.get(k) != theirs.get(k):
            raise HarnessError(
                f"model.builder: its network does not match the given model at {k!r} "
                f"(builder: {mine.get(k, 'absent')}, given: {theirs.get(k, 'absent')}); "
                "expected the builder to build the given model's architecture"
            )


def _content_key(model: nn.Module) -> str:
    """A hash of a model's state (names, dtypes, shapes, values): the same weights, one file."""
    h = hashlib.sha256()
    for k, v in model.state_dict().items():
        t = v.detach().cpu().contiguous()
        h.update(f"{k}|{t.dtype}|{tuple(t.shape)}|".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:20]


def _train_baseline(spec: Spec, split: TrainData) -> cache.Fit:
    return lambda m, snap: train_standard(m, split, spec.model.train, spec.seed, snapshot=snap)


def _trained(role: str, name: str, f: cache.Fitted) -> Trained:
    return Trained(
        role,
        name,
        f.model,
        f.history,
        f.training,
        f.weights,
        recorder=f.recorder,
        sha256=f.sha256,
        resumed_at=f.resumed_at,
    )


def _harden(
    spec: Spec,
    d: DefenceSpec,
    params: dict,
    data: Dataset,
    split: TrainData,
    baseline: Trained,
    models_dir: Path,
) -> Trained:
    """The model defence ``d`` produces: its network trained (or reused), then assembled."""
    definition = DEFENCES.get(d.name)
    train = d.train or spec.model.train
    shape, k = data.input_shape, data.num_classes
    name, recipe_key, fresh = _network(spec, d, baseline, shape, k)
    job = HardenJob(d, params, train, split, shape, k, spec.seed, fresh, baseline.model)
    if definition.fit is None:  # a stage in front of the baseline, nothing to train
        model = definition.assemble(job, None)
        t = Trained(d.key, f"{d.name} + {baseline.name}", model, training="not trained")
        t.history, t.weights = [], baseline.weights
    else:
        t = _fit_defence(spec, job, name, recipe_key, split, models_dir)
        if definition.wraps_baseline:
            t.name = f"{d.name} + {baseline.name}"
    t.wraps, t.randomized = definition.wraps_baseline, definition.randomized
    t.defence = describe(d, params, name, train)
    return t


def _network(
    spec: Spec, d: DefenceSpec, baseline: Trained, shape: Shape, k: int
) -> tuple[str, list, Callable[[], nn.Module]]:
    """The architecture defence ``d`` trains: its name, its part of the cache key, a builder.
    A zoo baseline has no recipe to train again (``zoo.refuse_training`` stops such defences
    before any work); a defence in front of it keys its cache on the zoo model's file."""
    if spec.model.zoo and not d.arch:
        return baseline.name, [baseline.name, baseline.sha256], _no_fresh(baseline.name)
    rec = recipe(spec.model, d.arch, arch_field(d))
    return rec.name, [rec.name, rec.mean, rec.std], lambda: rec.make(shape, k)


def _no_fresh(name: str) -> Callable[[], nn.Module]:
    def fresh() -> nn.Module:
        raise HarnessError(f"model.zoo: {name} is evaluated as given; it cannot be trained anew")

    return fresh


def _fit_defence(
    spec: Spec, job: HardenJob, name: str, recipe_key: list, split: TrainData, models_dir: Path
) -> Trained:
    """A trained defence's network, from the cache or trained now, assembled into its model."""
    d, definition = job.spec, DEFENCES.get(job.spec.name)
    fit = definition.fit

    def harden(m: nn.Module, snap: Snapshot) -> list[EpochStats]:
        return fit(dataclasses.replace(job, snapshot=snap), m)

    key = {"defence": d.name, "params": job.params, "recipe": recipe_key, "train": job.train}
    make = lambda: definition.module(job)  # noqa: E731
    every = job.train.checkpoints
    fitted = cache.cached(spec, split, key, models_dir, d.name, make, harden, every)
    t = _trained(d.key, name, fitted)
    t.core, t.model = t.model, definition.assemble(job, t.model)
    if definition.certify is not None:
        certify, core = definition.certify, t.core
        t.certify = lambda x, y: certify(job, core, x, y, d.key)
    return t
