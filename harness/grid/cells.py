"""A grid spec expanded into its work: units (trained models) and cells (one attack on one model).

A cell is one grid model, at one seed, as the bare baseline or hardened by one of the spec's
defences, attacked by one of the spec's attacks over all of the spec's epsilons (the epsilons
stay inside a cell: iterative attacks are swept nested, survivors only, which needs the whole
list). A unit is one trained model that cells need; units are trained once and shared through
the weights cache (``harness.runner`` keys it by content), including across reruns.

Every cell and unit carries a self-contained sub-spec (one model, one seed, only the defences
and attack it needs), and its key is the hash of that sub-spec: the same cell has the same key
in any grid, wherever it sits, so a rerun (or a larger grid) finds its finished cells again.

The key also holds the kind of device the cell computes on (``run_device``) when it is an
accelerator: CUDA and the CPU give different numbers, so a store filled on one is not reused on
the other. On the CPU the key is as before, so existing stores keep their cells. Only the kind
counts, not the index: ``cuda:0`` and ``cuda:1`` (or whichever GPU Ray hands a task) are the
same computation.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from harness.cache import CACHE_VERSION
from harness.defences import DEFENCES
from harness.errors import HarnessError
from harness.plan import validate
from harness.spec import (
    AttackSpec,
    DefenceSpec,
    EvasionSpec,
    GradcamSpec,
    GridModel,
    Spec,
    stable_hash,
)
from harness.spec.checks import GPU_KIND, HOST_KIND, device_kind
from harness.spec.gridspec import model_label

CORRUPTIONS_CELL = "corruptions"  # the ``attack`` of the one cell per model that corrupts
HOST = HOST_KIND  # the device kind whose keys carry no device
CELL_VERSION = 1  # bump when what a cell computes changes (its stored results become stale)
BASELINE = "baseline"
NO_DEFENCE = "none"  # the ``defence`` column of the baseline's rows
# Spec fields that do not change a cell's numbers (the report's pictures, the run's name).
NOT_IN_KEY = ("name", "description", "probes", "evasion", "gradcam", "sanity", "weights", "grid")


@dataclass(frozen=True)
class Unit:
    """One trained model: grid model ``model`` at ``seed``, as ``role`` (baseline or a defence)."""

    model: str
    seed: int
    role: str
    spec: Spec  # one model and seed; defences: the role's own (none for the baseline)
    units: tuple[str, ...] = ()  # a defence's unit needs its baseline's (every run builds it)
    device: str = HOST  # the kind of device it trains on (``run_device``)

    @property
    def key(self) -> str:
        return _key("unit", self.role, "", self.spec, self.device)


@dataclass(frozen=True)
class Cell:
    """One attack on one model over the spec's epsilons; ``units``: keys of the models it needs."""

    model: str
    seed: int
    role: str  # "baseline" or the defence's label
    attack: str  # the attack's key (label or name)
    spec: Spec  # one model, seed and attack; defences: the role's and the attack's surrogate's
    units: tuple[str, ...]
    device: str = HOST  # the kind of device it computes on (``run_device``)

    @property
    def key(self) -> str:
        return _key("cell", self.role, self.attack, self.spec, self.device)

    @property
    def defence(self) -> str:
        return NO_DEFENCE if self.role == BASELINE else self.role

    @property
    def group(self) -> tuple[str, int, str]:
        """The model a cell attacks: its cells share clean accuracy and the worst case."""
        return (self.model, self.seed, self.role)


@dataclass(frozen=True)
class Expansion:
    units: list[Unit]  # every model the grid can need
    cells: list[Cell]  # in report order: model, seed, role, attack


def _key(kind: str, role: str, attack: str, spec: Spec, dev: str) -> str:
    content = {k: v for k, v in spec.identity().items() if k not in NOT_IN_KEY}
    on = {} if dev == HOST else {"device": dev}  # the CPU's keys predate the device
    return stable_hash(
        {"kind": kind, "role": role, "attack": attack, "spec": content}
        | {"cell_version": CELL_VERSION, "cache_version": CACHE_VERSION}
        | on,
        n=16,
    )


def run_device(spec: Spec) -> str:
    """The kind of device (cpu, cuda, mps) the grid's cells compute on: an explicit ``device``'s
    own; for ``auto``, CUDA when each Ray task is given GPUs (``grid.gpus_per_cell``: Ray makes
    them visible and ``auto`` picks CUDA first), else what ``auto`` resolves to here, where a
    local executor runs the cells."""
    if spec.device != "auto":
        return device_kind(spec.device)  # not resolved: the driver may lack the device
    if spec.grid is not None and spec.grid.gpus_per_cell > 0:
        return GPU_KIND
    from harness import device  # asks torch what this machine has

    return device.resolve("auto").type


def grid_models(spec: Spec) -> tuple[GridModel, ...]:
    """The grid's models; a grid that lists none has the spec's own ``model:``."""
    assert spec.grid is not None
    if spec.grid.models:
        return spec.grid.models
    return (GridModel(model_label(spec.model) or "model", spec.model),)


def sub_spec(
    spec: Spec,
    gm: GridModel,
    seed: int,
    defences: tuple[DefenceSpec, ...],
    attacks: tuple[AttackSpec, ...],
    corrupted: bool = False,
) -> Spec:
    """A plain one-run spec for part of the grid (no pictures, no probes); the spec's common
    corruptions only in a ``corrupted`` one (the model's corruption cell)."""
    return dataclasses.replace(
        spec,
        seed=seed,
        model=gm.model,
        defences=defences,
        attacks=attacks,
        probes=(),
        evasion=EvasionSpec(n_images=0),
        gradcam=GradcamSpec(n_images=0),
        grid=None,
        corruptions=spec.corruptions if corrupted else None,
    )


def expand(spec: Spec, dev: str | None = None) -> Expansion:
    """Every unit and cell of ``spec``'s grid, validated (names, parameters, sources).

    ``dev``: the device kind the keys name (None: ``run_device``, which may ask torch). The
    counts are the same for every kind (it is in every key alike), so counting needs none."""
    if spec.grid is None:
        raise HarnessError("grid: this spec has no grid section")
    units: dict[str, Unit] = {}
    cells: list[Cell] = []
    dev = run_device(spec) if dev is None else dev
    for i, gm in enumerate(grid_models(spec)):
        try:
            plan = validate(sub_spec(spec, gm, spec.seed, spec.defences, spec.attacks))
        except HarnessError as exc:
            raise HarnessError(f"grid.models[{i}] ({gm.label}): {exc}") from None
        sources = [p.params.get("source") for p in plan.attacks]  # transfer surrogates
        for seed in spec.grid.seeds:
            own = _units(spec, gm, seed, dev)
            for u in own.values():
                units.setdefault(u.key, u)
            cells += _cells(spec, gm, seed, own, sources, dev)
    return Expansion(list(units.values()), cells)


def _units(spec: Spec, gm: GridModel, seed: int, dev: str) -> dict[str, Unit]:
    """Role -> the unit that trains it: the baseline, and each defence that trains something
    (one placed in front of the baseline without training of its own needs no unit)."""
    base = Unit(gm.label, seed, BASELINE, sub_spec(spec, gm, seed, (), ()), device=dev)
    return {BASELINE: base} | {
        d.key: Unit(gm.label, seed, d.key, sub_spec(spec, gm, seed, (d,), ()), (base.key,), dev)
        for d in spec.defences
        if DEFENCES.get(d.name).fit is not None
    }


def _cells(
    spec: Spec,
    gm: GridModel,
    seed: int,
    own: dict[str, Unit],
    sources: list[str | None],
    dev: str,
) -> list[Cell]:
    """Every role x attack of one model and seed; a cell's sub-spec holds the defences it needs
    (its own role's, and a transfer attack's surrogate's)."""
    cells = []
    for role in [BASELINE, *(d.key for d in spec.defences)]:
        for a, source in zip(spec.attacks, sources, strict=True):
            if source == role:  # a transfer attack on its own surrogate: the white-box one
                continue
            defs = tuple(d for d in spec.defences if d.key in (role, source))
            deps = [own[BASELINE].key] + [own[d.key].key for d in defs if d.key in own]
            cell_spec = sub_spec(spec, gm, seed, defs, (a,))
            cells.append(Cell(gm.label, seed, role, a.key, cell_spec, tuple(deps), dev))
        if spec.corruptions is not None:  # one cell per model: every corruption and severity
            cells.append(_corruption_cell(spec, gm, seed, own, role, dev))
    return cells


def _corruption_cell(
    spec: Spec, gm: GridModel, seed: int, own: dict[str, Unit], role: str, dev: str
) -> Cell:
    defs = tuple(d for d in spec.defences if d.key == role)
    deps = [own[BASELINE].key] + [own[d.key].key for d in defs if d.key in own]
    cell_spec = sub_spec(spec, gm, seed, defs, (), corrupted=True)
    return Cell(gm.label, seed, role, CORRUPTIONS_CELL, cell_spec, tuple(deps), dev)
