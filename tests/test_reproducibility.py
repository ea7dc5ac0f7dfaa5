"""What a run's bytes depend on: the hardware recorded in run.json, compared by ``harness
compare``, and the strict mode whose bytes do not depend on the CPU's instruction set."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from harness import reproducibility
from harness.cli import main
from harness.errors import HarnessError
from harness.plan import validate
from harness.spec import DEFAULT_SPEC, load_spec, parse_spec

# digits_fgsm's results.csv under ``reproducible: strict``, made on a 2-core AMD EPYC (AVX-512);
# the same bytes came with torch, MKL and oneDNN limited to AVX2 (the test below does that).
STRICT_DIGITS_SHA256 = "60463a4b74bdbf7681370abcbe363669a54c18a8d0e271fe48fd0f3e36fd66aa"
# what an AVX2 machine's libraries choose, on a CPU that has AVX-512: each library's own switch
AVX2_ONLY = {
    "ATEN_CPU_CAPABILITY": "avx2",
    "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    "ONEDNN_MAX_CPU_ISA": "AVX2",
}


def test_hardware_names_the_cpu_and_the_kernel_libraries() -> None:
    hw = reproducibility.hardware()
    assert set(reproducibility.HARDWARE_KEYS) <= set(hw)
    assert hw["threads"] == torch.get_num_threads() and hw["reproducible"] == "standard"
    assert hw["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    assert hw["cpu_model"] not in ("", "unknown") and hw["mkl"] and hw["onednn"]


def test_differences_name_each_field_and_ignore_runs_that_did_not_record_it() -> None:
    a = reproducibility.hardware()
    b = a | {"cpu_model": "Intel Xeon", "instruction_set": "AVX2"}
    assert reproducibility.differences(a, b) == [
        f"cpu_model: {a['cpu_model']} vs Intel Xeon",
        f"instruction_set: {a['instruction_set']} vs AVX2",
    ]
    assert reproducibility.differences(a, dict(a)) == []
    assert reproducibility.differences(a, None) == []  # an older run: unknown, not different


def test_a_default_spec_keeps_its_hash_and_run_json_spec() -> None:
    spec = load_spec(DEFAULT_SPEC)
    assert spec.reproducible == "standard" and "reproducible" not in spec.to_dict()
    strict = dataclasses.replace(spec, reproducible="strict")
    assert strict.to_dict()["reproducible"] == "strict" and strict.digest() != spec.digest()


def test_strict_without_its_variables_is_one_line_naming_them(monkeypatch, tmp_path) -> None:
    from harness import runner

    for name in reproducibility.STRICT_ENV:
        monkeypatch.delenv(name, raising=False)
    spec = parse_spec({"name": "t", "reproducible": "strict"})
    validate(spec)  # the spec is valid: harness validate needs no environment
    with pytest.raises(HarnessError) as err:
        runner.run(spec, models_dir=tmp_path)  # refused before any data is read
    message = str(err.value)
    assert "ATEN_CPU_CAPABILITY=default" in message and "MKL_CBWR=COMPATIBLE" in message
    assert "\n" not in message and not list(tmp_path.iterdir())


def test_strict_refuses_a_grid(monkeypatch) -> None:
    monkeypatch.setattr(os, "environ", os.environ | reproducibility.STRICT_ENV)
    spec = parse_spec({"name": "t", "reproducible": "strict", "grid": {"seeds": [0, 1]}})
    with pytest.raises(HarnessError, match="strict is for single runs"):
        validate(spec)


def test_strict_kernels_are_restored_after_the_run(monkeypatch) -> None:
    monkeypatch.setattr(os, "environ", os.environ | reproducibility.STRICT_ENV)
    before = torch.get_num_threads(), torch.backends.mkldnn.enabled
    with reproducibility.kernels("strict"):
        inside = reproducibility.hardware("strict")
    assert (inside["threads"], inside["onednn_enabled"], inside["mkl_cbwr"]) == (
        1,
        False,
        "COMPATIBLE",
    )
    assert (torch.get_num_threads(), torch.backends.mkldnn.enabled) == before


def test_run_json_records_the_hardware_and_the_statement(digits_runs) -> None:
    prov = json.loads((digits_runs[0] / "run.json").read_text())["provenance"]
    assert prov["machine"]["hardware"] == reproducibility.hardware() | {
        "threads": prov["machine"]["torch_threads"]
    }
    assert prov["reproducibility"] == {
        "mode": "standard",
        "statement": reproducibility.STATEMENT["standard"],
    }
    report = (digits_runs[0] / "report.md").read_text()
    assert f"| hardware: instruction_set | {prov['machine']['hardware']['instruction_set']} |" in (
        report
    )
    assert reproducibility.STATEMENT["standard"] in report


def test_compare_says_when_two_runs_came_from_other_hardware(digits_runs, tmp_path) -> None:
    other = tmp_path / "other"
    shutil.copytree(digits_runs[1], other)
    record = json.loads((other / "run.json").read_text())
    record["provenance"]["machine"]["hardware"] |= {"cpu_model": "Intel Xeon", "mkl_cbwr": "AVX2"}
    (other / "run.json").write_text(json.dumps(record))
    for second, differs in ((digits_runs[1], False), (other, True)):
        out = tmp_path / f"cmp-{second.name}"
        assert main(["compare", str(digits_runs[0]), str(second), "--out", str(out)]) == 0
        text = (out / "compare.md").read_text()
        assert ("**Different hardware or kernels** (cpu_model: " in text) is differs
        if differs:
            assert "not to the bit" in text


@pytest.mark.slow
def test_strict_mode_gives_the_same_bytes_when_the_libraries_are_limited_to_avx2(
    tmp_path,
) -> None:
    """``harness run`` restarts itself with the strict variables (overriding the AVX2 limit of
    torch's kernels); MKL and oneDNN are left limited, and strict mode must not care."""
    env = os.environ | AVX2_ONLY | {"HARNESS_HOME": str(tmp_path)}
    env.pop("MKL_CBWR", None)
    command = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]
    out = tmp_path / "strict"
    args = ["run", "digits_fgsm", "--set", "reproducible=strict", "--out", str(out)]
    done = subprocess.run(
        [*command, *args], env=env, cwd=Path(__file__).parents[1], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    record = json.loads((out / "run.json").read_text())["provenance"]["machine"]["hardware"]
    assert (record["torch_cpu_capability"], record["mkl_cbwr"]) == ("DEFAULT", "COMPATIBLE")
    assert (record["onednn_enabled"], record["threads"]) == (False, 1)
    digest = hashlib.sha256((out / "results.csv").read_bytes()).hexdigest()
    assert digest == STRICT_DIGITS_SHA256
