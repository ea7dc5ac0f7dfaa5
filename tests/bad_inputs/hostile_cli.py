"""Inputs that crashed or hung the command line itself (issue 28): a ``--set`` key of thousands
of parts, names too long for the file system, and FIFOs or devices where a file is read."""

from __future__ import annotations

import os
from pathlib import Path

from bad_inputs import TINY, Case, Setup, run_args, spec, with_files

DIGITS = "dataset: {name: digits, n_test: 60}\n"
SMALL = "model: {arch: small_cnn, train: {epochs: 1}}\n"
LONG = "x" * 300  # past every file system's 255-byte name


def deep_key(parts: int, command: str = "validate") -> Setup:
    """``--set dataset.a.a...=1``: a key of ``parts`` parts."""
    return spec(TINY, "--set", ".".join(["dataset", *["a"] * (parts - 1)]) + "=1", command=command)


def fifo(name: str, text: str, command: str = "run") -> Setup:
    """A FIFO at ``name`` (nothing ever writes to it) and a spec with ``text`` (``{tmp}``: the
    folder). ``name`` "spec.yaml": the spec itself is the FIFO."""

    def setup(tmp: Path) -> list[str]:
        if name != "spec.yaml":
            (tmp / "spec.yaml").write_text(text.replace("{tmp}", str(tmp)), encoding="utf-8")
        os.mkfifo(tmp / name)
        if command == "validate":
            return ["validate", str(tmp / "spec.yaml")]
        return run_args(tmp, tmp / "spec.yaml")

    return setup


def spec_at(path: str) -> Setup:
    """``harness validate PATH`` (a device)."""
    return lambda tmp: ["validate", path]


def bare_fifo(tmp: Path) -> list[str]:
    """A FIFO named like a shipped benchmark would be (no suffix), as the spec argument."""
    os.mkfifo(tmp / "mybench")
    return ["validate", "mybench"]


CASES = [
    Case("set_key_3000_parts", deep_key(3000), "a key of 3000 parts; expected at most 16"),
    Case("set_key_17_parts_run", deep_key(17, command="run"), "a key of 17 parts"),
    Case("out_name_300_bytes", spec(TINY, "--out", LONG), "is 300 bytes long; expected at most"),
    Case("out_name_no_room_for_temporary", spec(TINY, "--out", "y" * 250), "less room for a temporary"),
    Case("out_long_name_inside", spec(TINY, "--out", f"{LONG}/out"), f"--out: {LONG[:10]}"),
    Case("out_path_too_long", spec(TINY, "--out", "/".join(["z" * 200] * 21)), "expected a path of at most"),
    Case("grid_out_name_300", spec(TINY + "grid: {seeds: [0]}\n", "--out", LONG), "--out: xxx"),
    Case("compare_out_name_300", lambda tmp: ["compare", "run", "--out", LONG], "--out: xxx"),
    Case("models_dir_name_300", spec(TINY, "--models-dir", LONG), "--models-dir: xxx"),
    Case("spec_name_300", lambda tmp: ["validate", f"{LONG}.yaml"], "cannot read spec file (File name too long)"),
    Case("spec_bare_name_300", lambda tmp: ["validate", LONG], "no such spec file or benchmark"),
    Case("compare_run_name_300", lambda tmp: ["compare", LONG, "--out", "c"], "name too long"),
    Case("weights_name_300", with_files({}, DIGITS + f"model: {{arch: small_cnn, weights: {LONG}.pt}}\n"), "has a name too long for the file system"),
    Case("include_name_300", with_files({}, f"include: {LONG}.yaml\n"), "spec.yaml: include: xxx"),
    Case("spec_is_fifo", fifo("spec.yaml", "", command="validate"), "spec.yaml is a FIFO (named pipe); expected a YAML spec file"),
    Case("spec_is_fifo_run", fifo("spec.yaml", ""), "spec.yaml is a FIFO"),
    Case("spec_is_bare_fifo", bare_fifo, "mybench is a FIFO"),
    Case("spec_is_dev_zero", spec_at("/dev/zero"), "/dev/zero is a character device"),
    Case("spec_is_dev_null", spec_at("/dev/null"), "/dev/null is a character device"),
    Case("include_is_fifo", fifo("base.yaml", "include: base.yaml\n", command="validate"), "include: base.yaml is a FIFO"),
    Case("include_is_dev_zero", spec("include: /dev/zero\n", command="validate"), "include: /dev/zero is a character device"),
    Case("weights_is_fifo", fifo("w.pt", DIGITS + "model: {arch: small_cnn, weights: '{tmp}/w.pt'}\n"), "w.pt is a FIFO"),
    Case("weights_is_dev_zero", spec(DIGITS + "model: {arch: small_cnn, weights: /dev/zero}\n"), "model.weights: /dev/zero is a character device"),
    Case("builder_is_fifo", fifo("mynet.py", DIGITS + "model: {builder: '{tmp}/mynet.py:build'}\n"), "mynet.py is a FIFO"),
    Case("reference_is_fifo", fifo("ref.csv", "name: x\n" + DIGITS + SMALL + "corruptions: {n_images: 5, reference: {name: AlexNet, errors: '{tmp}/ref.csv'}}\n"), "corruptions.reference.errors: "),
    Case("reference_is_dev_zero", spec("name: x\n" + DIGITS + SMALL + "corruptions: {n_images: 5, reference: {name: AlexNet, errors: /dev/zero}}\n"), "/dev/zero is a character device"),
]  # fmt: skip
