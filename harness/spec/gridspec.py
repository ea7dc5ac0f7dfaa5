"""The ``grid:`` section: seeds x models, each model a model section laid over the spec's own."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.spec.checks import (
    Check,
    described,
    number,
    parse_float,
    random_seed,
    safe_name,
    schema_of,
    string,
    unique,
)
from harness.spec.schema import json_schema, parse, setting
from harness.spec.sections import ModelSpec, model_section


@dataclass(frozen=True)
class GridModel:
    """One model of a grid: a model section (over the spec's ``model:``) and its label."""

    label: str
    model: ModelSpec


def _seeds(value: Any, where: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not value:
        raise HarnessError(f"{where}: expected a non-empty list of integers, got {value!r}")
    seeds = tuple(random_seed(s, f"{where}[{i}]") for i, s in enumerate(value))
    if len(set(seeds)) != len(seeds):
        raise HarnessError(f"{where}: each seed once, got {list(seeds)}")
    return seeds


def _models(base_model: Any) -> Check:
    """The check of ``grid.models`` in a spec whose raw ``model:`` section is ``base_model``."""

    def check(entries: Any, where: str) -> tuple[GridModel, ...]:
        if entries is None:
            return ()
        if not isinstance(entries, list) or not entries:
            raise HarnessError(f"{where}: expected a non-empty list of models, got {entries!r}")
        out = tuple(_grid_model(e, base_model, f"{where}[{i}]") for i, e in enumerate(entries))
        problem = "label {key!r} is taken; give each model a distinct 'label'"
        unique([m.label for m in out], lambda i: f"{where}[{i}]", problem)
        return out

    def schema() -> dict[str, Any]:
        section = json_schema(ModelSpec)
        section["properties"] = {"label": {"type": "string"}, **section["properties"]}
        entry = {"anyOf": [{"type": "string", "minLength": 1}, section]}
        return {"anyOf": [{"type": "array", "minItems": 1, "items": entry}, {"type": "null"}]}

    return described(check, schema)


described(
    _seeds, {"type": "array", "minItems": 1, "uniqueItems": True, "items": schema_of(random_seed)}
)


def _gpus(value: Any, where: str) -> float:
    gpus = parse_float(value, where)
    if not gpus >= 0:
        raise HarnessError(
            f"{where}: expected GPUs per cell >= 0 (fractions allowed), got {value!r}"
        )
    return gpus


described(_gpus, number(minimum=0))


@dataclass(frozen=True)
class GridSpec:
    """A grid of runs (``harness.grid``): every model x seed x (baseline + each defence) x attack
    is one cell, swept over the spec's epsilons."""

    seeds: tuple[int, ...] = setting((0,), _seeds)
    # empty: the spec's own ``model:``; each entry is laid over that section (``grid``)
    models: tuple[GridModel, ...] = setting((), _models(None))
    # GPUs each Ray task asks for (fractions share one GPU); 0: none. Where the work runs, not
    # what it is: left out of hashes and keys at its default
    gpus_per_cell: float = setting(0.0, _gpus, recipe=True)


def grid(base_model: Any) -> Check:
    """The check of ``grid:`` in a spec whose raw ``model:`` section is ``base_model``."""
    return described(
        lambda raw, where: parse(GridSpec, raw, where, {"models": _models(base_model)}),
        lambda: json_schema(GridSpec),
    )


def _grid_model(raw: Any, base_model: Any, where: str) -> GridModel:
    """A registered architecture name, or a model section (plus ``label``) over ``base_model``."""
    if isinstance(raw, str):
        raw = {"arch": raw}
    if not isinstance(raw, dict):
        raise HarnessError(
            f"{where}: expected an architecture name or a model section, got {raw!r}"
        )
    base = dict(base_model) if isinstance(base_model, dict) else {}
    if {
        "arch",
        "builder",
        "zoo",
    } & raw.keys():  # its own network: only the training settings carry over
        base = {k: v for k, v in base.items() if k == "train"}
    entry = {k: v for k, v in raw.items() if k != "label"}
    model = model_section(base | entry, where)
    label = string(raw["label"], f"{where}.label") if "label" in raw else model_label(model)
    return GridModel(safe_name(label, f"{where}.label"), model)


def model_label(model: Any) -> str:
    """How a grid names a model section by default: its architecture, its zoo name, or its
    builder's function name ("" if none of them)."""
    return model.arch or model.name or (model.builder or "").rpartition(":")[2]
