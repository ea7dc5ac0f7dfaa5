"""Grid cell and unit keys hold the kind of device the cells compute on, except the CPU's, which
stay as they were so existing stores keep their finished cells."""

from __future__ import annotations

import dataclasses

from harness.grid.cells import expand, run_device
from harness.spec import load_spec
from harness.spec.gridspec import GridSpec

# digits_grid's first cell and unit, keyed before the device was part of the key (main at 9e14e54)
CPU_KEYS = ("c2e6d8d6d3bf18f8", "efe41f8e918a9883")


def test_cpu_keys_are_unchanged_and_an_accelerator_gets_its_own() -> None:
    e = expand(load_spec("benchmarks/digits_grid.yaml"))  # device: auto, no GPU here
    cell, unit = e.cells[0], e.units[0]
    assert (cell.device, unit.device) == ("cpu", "cpu")
    assert (cell.key, unit.key) == CPU_KEYS
    on_cuda = {dataclasses.replace(c, device="cuda").key for c in e.cells}
    assert len(on_cuda) == len(e.cells) and not on_cuda & {c.key for c in e.cells}
    assert dataclasses.replace(unit, device="mps").key != unit.key


def test_the_device_is_the_kind_the_cells_run_on_without_resolving_it_here() -> None:
    spec = load_spec("benchmarks/digits_grid.yaml")
    assert run_device(spec) == "cpu"
    assert run_device(dataclasses.replace(spec, device="cuda:1")) == "cuda"  # no GPU: no error
    gpus = dataclasses.replace(spec.grid, gpus_per_cell=0.5)
    assert isinstance(gpus, GridSpec) and run_device(dataclasses.replace(spec, grid=gpus)) == "cuda"


def test_a_spec_level_zoo_model_is_labelled_by_its_zoo_name() -> None:
    from harness.grid.cells import grid_models
    from harness.spec import parse_spec

    model = {"zoo": "robustbench", "name": "Standard", "model_dir": "rb", "dataset": "cifar10"}
    spec = parse_spec({"model": model, "defence": None, "grid": {"seeds": [0]}})
    assert [g.label for g in grid_models(spec)] == ["Standard"]
    listed = parse_spec({"defence": None, "grid": {"models": [model]}})
    assert [g.label for g in grid_models(listed)] == ["Standard"]  # as a listed one is
