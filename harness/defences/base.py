"""The defence registry and the contract every hardening method follows (the Improve phase).

A defence turns the run's data (and, for defences placed in front of a model, the run's
baseline) into one model that the harness evaluates with exactly the same sweep as the
baseline. It has up to three parts:

- ``module(job)``: the network it trains (default: a fresh classifier of the spec's
  architecture); the harness caches its weights by everything that determines them;
- ``fit(job, module)``: trains it and returns the per-epoch table (``None``: nothing to train);
- ``assemble(job, module)``: the model that is attacked (default: the trained module itself;
  a purifier or a preprocessing defence puts its stage in front of the baseline).

``wraps_baseline`` defences are also attacked by the *naive* attacker who does not know the
defence is there: the same attacks crafted on the undefended baseline (transfer rows named
``<attack>_naive``) next to the adaptive attack through the whole pipeline.
``certify(job, module, x, y, role)`` adds certified results (randomized smoothing).

Declaring a defence (its name, parameters, checks and capabilities) imports no torch or ART, so
``harness validate`` and ``harness list defences`` stay light: each defence module imports them
in the functions that build, train or assemble its model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from harness.architectures import Shape
from harness.params import Check, resolve_params
from harness.registry import Registry
from harness.results import CertifiedCurve, DefenceRecord, EpochStats
from harness.spec import DefenceSpec, TrainSpec, identity

if TYPE_CHECKING:
    from torch import nn

    from harness.training import Snapshot, TrainData


@dataclass(frozen=True)
class HardenJob:
    spec: DefenceSpec
    params: dict[str, Any]  # the defence's resolved parameters, pixel units
    train: TrainSpec
    data: TrainData
    input_shape: Shape
    num_classes: int
    seed: int
    fresh: Callable[[], nn.Module]  # a freshly initialised classifier ([0, 1] in, logits out)
    baseline: nn.Module | None = None  # the run's baseline, for defences placed in front of it
    snapshot: Snapshot | None = None  # called after each epoch (weight histograms)


# torch types as strings: declaring a defence imports no torch (its functions import it on use)
Fit = Callable[[HardenJob, "nn.Module"], list[EpochStats]]
Assemble = Callable[[HardenJob, "nn.Module | None"], "nn.Module"]
Certify = Callable[[HardenJob, "nn.Module", np.ndarray, np.ndarray, str], CertifiedCurve]


def _fresh(job: HardenJob) -> nn.Module:
    return job.fresh()


def _itself(job: HardenJob, module: nn.Module | None) -> nn.Module:
    assert module is not None
    return module


@dataclass(frozen=True)
class DefenceDef:
    name: str
    fit: Fit | None  # None: nothing to train (the defence only wraps the baseline)
    defaults: dict[str, Any]
    check: Check | None = None
    description: str = ""
    module: Callable[[HardenJob], nn.Module] = _fresh
    assemble: Assemble = _itself
    # ---- capabilities (select by these, never by name): ``trains`` (below), the two flags
    wraps_baseline: bool = False  # a stage in front of the run's baseline: naive attacks too
    randomized: bool = False  # the assembled model is random by design (EoT attacks)
    certify: Certify | None = None

    @property
    def trains(self) -> bool:
        """Produces a trained model of its own (weights cached); False: only wraps the baseline."""
        return self.fit is not None

    def resolve(self, spec: DefenceSpec, where: str = "defence") -> dict[str, Any]:
        return resolve_params("defence", self.name, self.defaults, spec.params, self.check, where)


DEFENCES: Registry[DefenceDef] = Registry("defence")


def register(definition: DefenceDef) -> DefenceDef:
    return DEFENCES.register(definition.name)(definition)


def defence(name: str, *, defaults: dict[str, Any], **options: Any) -> Callable[[Fit], Fit]:
    """Decorator registering a training defence; the fit function's first doc line describes it."""

    def decorate(fit: Fit) -> Fit:
        doc = (fit.__doc__ or "").strip().splitlines()
        register(DefenceDef(name, fit, defaults, description=doc[0] if doc else "", **options))
        return fit

    return decorate


def validate(spec: DefenceSpec, where: str = "defence") -> dict[str, Any]:
    """Check the defence's name and parameters before any heavy work; the resolved parameters."""
    return DEFENCES.get(spec.name, f"{where}.name").resolve(spec, where)


def describe(
    spec: DefenceSpec, params: dict[str, Any], arch: str, train: TrainSpec | None = None
) -> DefenceRecord:
    """What a run records about a defence: enough for the report and for ``restore``
    (``train``: the training settings it got, its own or the baseline's)."""
    train = spec.train or train
    # recipe fields at their defaults are left out (older runs' records, and the models table)
    return DefenceRecord(spec.name, spec.key, arch, params, identity(train) if train else None)


def restore(
    record: DefenceRecord,
    fresh: Callable[[], nn.Module],
    baseline: nn.Module,
    load: Callable[[nn.Module], None],
    input_shape: Shape,
    num_classes: int,
    seed: int = 0,
) -> nn.Module:
    """The evaluated model of a recorded defence (``describe``), rebuilt without training.

    ``fresh()``: a new classifier of the defence's architecture; ``load(module)``: puts the
    recorded trained weights into the defence's module (not called when it trains nothing).
    """
    from harness.training import TrainData

    definition = DEFENCES.get(record.name, "defence.name")
    params = dict(record.params)
    spec = DefenceSpec(definition.name, record.label, record.arch, params)
    empty = np.zeros((0, *input_shape), np.float32)
    data = TrainData(empty, np.zeros(0, np.int64), empty, np.zeros(0, np.int64))
    job = HardenJob(
        spec, params, TrainSpec(), data, input_shape, num_classes, seed, fresh, baseline
    )
    module = None
    if definition.trains:
        module = definition.module(job)
        load(module)
        module.eval()
    return definition.assemble(job, module).eval()
