"""Every numeric parameter of every registered attack, defence, probe and training recipe refuses
NaN and inf at validation, and every ``seed`` parameter takes the spec's seed range. The
registries are walked, so a newly registered component is covered without a new test."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import pytest

from harness.attacks import ATTACKS
from harness.defences import DEFENCES
from harness.errors import HarnessError
from harness.plan import validate
from harness.probes import PROBES
from harness.spec import MAX_SEED, TrainSpec, parse_spec

BAD = [math.inf, -math.inf, math.nan]
SECTIONS = {"attacks": ATTACKS, "defences": DEFENCES, "probes": PROBES}


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numeric(registry: Any) -> list[tuple[str, str]]:
    """(component, parameter) for each parameter whose default is a number or null (a number
    that may be left unset, such as PGD's step_size)."""
    return [
        (name, key)
        for name in registry
        for key, default in registry.get(name).defaults.items()
        if default is None or _is_number(default)
    ]


def _seeded(registry: Any) -> list[str]:
    return [name for name in registry if "seed" in registry.get(name).defaults]


CASES = [(s, n, k) for s, reg in SECTIONS.items() for n, k in _numeric(reg)]
SEEDED = [(s, n) for s, reg in SECTIONS.items() for n in _seeded(reg)]
RECIPE = [f.name for f in dataclasses.fields(TrainSpec) if _is_number(f.default)]


def _validate(raw: dict[str, Any]) -> None:
    validate(parse_spec({"name": "x", **raw}))


def test_the_walk_finds_the_parameters() -> None:
    assert ("attacks", "deepfool", "overshoot") in CASES
    assert ("attacks", "pgd", "step_size") in CASES  # null by default
    assert ("probes", "noise", "threshold") in CASES
    assert ("defences", "trades", "beta") in CASES
    assert {"lr", "momentum", "epochs"} <= set(RECIPE)
    assert ("attacks", "transfer") in SEEDED and ("probes", "noise") in SEEDED


@pytest.mark.parametrize("section", SECTIONS)
def test_every_component_validates_at_its_defaults(section: str) -> None:
    for name in SECTIONS[section]:
        _validate({section: [{"name": name}]})


@pytest.mark.parametrize("bad", BAD, ids=str)
@pytest.mark.parametrize(("section", "name", "key"), CASES, ids=["-".join(c) for c in CASES])
def test_non_finite_component_parameter_is_refused(section, name, key, bad) -> None:
    with pytest.raises(HarnessError, match=rf"{section}\[0\]\.{key}: expected a finite number"):
        _validate({section: [{"name": name, key: bad}]})


@pytest.mark.parametrize("bad", BAD, ids=str)
@pytest.mark.parametrize("key", RECIPE)
def test_non_finite_training_recipe_value_is_refused(key: str, bad: float) -> None:
    with pytest.raises(HarnessError, match=rf"model\.train\.{key}: expected"):
        _validate({"model": {"train": {key: bad}}})


@pytest.mark.parametrize("bad", BAD, ids=str)
def test_non_finite_number_inside_a_nested_mapping_is_refused(bad: float) -> None:
    where = r"attacks\[0\]\.params\.step_size: expected a finite number"
    with pytest.raises(HarnessError, match=where):
        _validate({"attacks": [{"name": "transfer", "params": {"step_size": bad}}]})
    where = r"defence\.attack_params\.eps_step"
    with pytest.raises(HarnessError, match=where):
        _validate({"defence": {"attack_params": {"eps_step": bad}}})


@pytest.mark.parametrize(("section", "name"), SEEDED, ids=["-".join(c) for c in SEEDED])
def test_component_seed_takes_the_spec_seed_range(section: str, name: str) -> None:
    _validate({section: [{"name": name, "seed": MAX_SEED}]})  # the top of the range is a seed
    for bad in (MAX_SEED + 1, 99999999999, -1):
        with pytest.raises(HarnessError, match=rf"{section}\[0\]\.seed: expected an integer in"):
            _validate({section: [{"name": name, "seed": bad}]})


@pytest.mark.parametrize("text", ["nan", "inf", "-inf", ".inf"])
def test_spec_numbers_written_as_text_are_finite(text: str) -> None:
    with pytest.raises(HarnessError, match=r"grid\.gpus_per_cell: expected a finite number"):
        parse_spec({"name": "x", "grid": {"gpus_per_cell": float(text.lstrip("."))}})
    with pytest.raises(HarnessError, match=r"model\.train\.lr: expected"):
        parse_spec({"name": "x", "model": {"train": {"lr": text}}})
