"""Attacks, probes and defences: a registered name, a label, and the component's own parameters.

Every key a component's entry does not declare is one of its parameters (``rest``): ``{name:
pgd, steps: 10}`` is ``AttackSpec("pgd", {"steps": 10})``. Registry names are checked later,
against the registries (``harness.runner.validate``); here only the shape and the labels.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from harness.errors import HarnessError
from harness.spec.checks import described, optional, parameters, safe_name, string, unique
from harness.spec.schema import json_schema, nested, parse, setting
from harness.spec.sections import TrainSpec


@dataclass(frozen=True)
class AttackSpec:
    name: str = setting(check=string)  # registered attack
    params: dict[str, Any] = setting(factory=dict, key=False, rest=True)  # pixel units
    label: str = setting("", string)  # results name it so (default: the name); unique in a spec

    @property
    def key(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class DefenceSpec:
    """One hardening step of the Improve phase; its output model is evaluated like the baseline."""

    name: str = setting("adversarial_training", string)  # harness.defences.DEFENCES
    label: str = setting("robust", string)  # the model's name in results; unique in a spec
    arch: str | None = setting(None, optional(string))  # None: the baseline's architecture
    # the defence's own, pixel units: its ``params:`` mapping and every undeclared key
    params: dict[str, Any] = setting(factory=dict, check=parameters, rest=True)
    # None: the baseline's training settings (``train: null`` is TrainSpec's defaults)
    train: TrainSpec | None = setting(None, nested(TrainSpec))

    @property
    def key(self) -> str:
        return self.label or self.name


def attack_list(required: bool) -> Any:
    """The check of ``attacks:`` (a non-empty list) or ``probes:`` (None or [] for none)."""

    def check(raw: Any, where: str) -> tuple[AttackSpec, ...]:
        if raw is None and not required:
            return ()
        if not isinstance(raw, list) or (not raw and required):
            raise HarnessError(
                f"{where}: expected a list of names or mappings with 'name', got {raw!r}"
            )
        out = tuple(_attack(item, f"{where}[{i}]") for i, item in enumerate(raw))
        problem = "{key!r} appears twice; give each a distinct 'label' (e.g. label: {key}_targeted)"
        unique([a.key for a in out], lambda i: f"{where}[{i}]", problem)
        return out

    def schema() -> dict[str, Any]:
        listed = {"type": "array", "items": component_schema(AttackSpec)}
        return listed | {"minItems": 1} if required else {"anyOf": [listed, {"type": "null"}]}

    return described(check, schema)


def component_schema(cls: type) -> dict[str, Any]:
    """An attack or defence as a spec writes it: its registered name alone, or a mapping."""
    return {"anyOf": [{"type": "string", "minLength": 1}, json_schema(cls)]}


def _attack(item: Any, where: str) -> AttackSpec:
    if isinstance(item, str):
        item = {"name": item}
    if not isinstance(item, dict) or "name" not in item:
        raise HarnessError(f"{where}: expected a name or a mapping with 'name', got {item!r}")
    return parse(AttackSpec, item, where)


def one_defence(raw: Any, where: str) -> tuple[DefenceSpec, ...]:
    """``defence:``: one hardened model named "robust"; null (or false) for none."""
    if raw is None or raw is False:
        return ()
    return (_defence(raw, "defence", "robust"),)


def defence_list(raw: Any, where: str) -> tuple[DefenceSpec, ...]:
    """``defences:``: a list, each model named by its label or else its defence's name."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise HarnessError(f"{where}: expected a list of defences, got {raw!r}")
    out = tuple(_defence(d, f"{where}[{i}]", "") for i, d in enumerate(raw))
    keys = ["baseline"] + [d.key for d in out]
    for i, key in enumerate(keys[1:]):
        if key in keys[: i + 1]:
            raise HarnessError(
                f"{where}[{i}]: model name {key!r} is taken; give each defence a distinct 'label'"
            )
        safe_name(key, f"{where}[{i}].label")
    return out


described(one_defence, lambda: {"anyOf": [component_schema(DefenceSpec), {"enum": [None, False]}]})
described(
    defence_list,
    lambda: {
        "anyOf": [{"type": "array", "items": component_schema(DefenceSpec)}, {"type": "null"}]
    },
)


def _defence(raw: Any, where: str, label: str) -> DefenceSpec:
    """One defence; every key besides name/label/arch/params/train is a parameter of it."""
    if isinstance(raw, str):
        raw = {"name": raw}
    if not isinstance(raw, dict):
        raise HarnessError(f"{where}: expected a defence name or a mapping, got {raw!r}")
    defence = parse(DefenceSpec, raw, where)
    if "label" not in raw:
        defence = dataclasses.replace(defence, label=label or defence.name)
    return defence
