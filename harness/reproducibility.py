"""What a run's bytes depend on, and the strict mode that makes them the same on every x86 CPU.

The same spec and seed give the same ``results.csv`` bytes on the same hardware and software.
Across CPUs they need not: torch's own kernels, MKL and oneDNN each pick a code path by the
instruction set (AVX-512, AVX2, ...), and paths add floats in different orders. On one 2-core
AMD EPYC (AVX-512), limiting the three libraries to AVX2 (``ATEN_CPU_CAPABILITY=avx2``,
``MKL_ENABLE_INSTRUCTIONS=AVX2``, ``ONEDNN_MAX_CPU_ISA=AVX2``) gave the default benchmark's
bytes of an AVX2 machine, not its own. Elsewhere, runs agree within their intervals.

``reproducible: strict`` removes every such choice: torch's portable kernels
(``ATEN_CPU_CAPABILITY=default``), MKL's conditional numerical reproducibility
(``MKL_CBWR=COMPATIBLE``: one code path on every x86 CPU), no oneDNN and no NNPACK (both pick
by instruction set and cache size), one thread (reductions split by thread count). The two
variables are read when the libraries load, so they must be set before ``import torch``:
``harness run`` starts itself again with them; the Python API refuses a strict spec without them.
torch is imported inside the functions: the spec's checks read ``MODES`` without loading it.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import sys
import warnings
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

from harness.errors import HarnessError

MODES = ("standard", "strict")
# read by torch and MKL when they load: set before ``import torch``
STRICT_ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
# what two runs must share for their bytes to be comparable (``differences``)
HARDWARE_KEYS = (
    "cpu_model",
    "cpu_id",
    "instruction_set",
    "torch_cpu_capability",
    "mkl",
    "onednn",
    "threads",
)
STATEMENT = {
    "standard": "the same spec and seed give the same bytes on the same hardware and software; "
    "on other CPUs the figures agree within their intervals, not to the bit",
    "strict": "the same spec and seed give the same bytes on any x86 CPU with the same software "
    "(portable kernels, MKL_CBWR=COMPATIBLE, no oneDNN, one thread)",
}


def missing_env() -> dict[str, str]:
    """The strict mode's variables not set as it needs them (name -> the value it needs)."""
    return {k: v for k, v in STRICT_ENV.items() if os.environ.get(k) != v}


def strict_environment() -> dict[str, str]:
    """This process's environment with the strict mode's variables set."""
    return os.environ | STRICT_ENV


def restart_if_needed(mode: str) -> None:
    """``harness run`` with ``reproducible: strict`` in a process started without the strict
    variables: start it again, same arguments, with them (they are read when torch loads)."""
    if mode != "strict" or not missing_env():
        return
    sys.stdout.flush(), sys.stderr.flush()
    argv = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]
    os.execve(sys.executable, [*argv, *sys.argv[1:]], strict_environment())


def check_environment(mode: str) -> None:
    """A strict run in a process started without the variables cannot be made strict: say how."""
    if mode != "strict" or not (missing := missing_env()):
        return
    needed = " ".join(f"{k}={v}" for k, v in missing.items())
    raise HarnessError(
        f"reproducible: strict needs {needed} in the environment before torch is imported "
        "(harness run sets them itself; from Python, start the interpreter with them)"
    )


def check(mode: str, dev: Any, grid: bool) -> None:
    """A strict spec runs on the CPU, as one run (the environment is checked when it runs:
    ``kernels``; ``harness validate`` needs none)."""
    from harness import device

    if mode != "strict":
        return
    if device.is_accelerator(dev):
        raise HarnessError(
            f"reproducible: strict fixes the CPU's kernels; this run would compute on {dev} "
            "(set device: cpu, or reproducible: standard)"
        )
    if grid:
        raise HarnessError(
            "reproducible: strict is for single runs; a grid's cells run in other processes "
            "(remove grid:, or use reproducible: standard)"
        )


@contextlib.contextmanager
def kernels(mode: str) -> Iterator[None]:
    """Inside the block, strict mode's kernel choices (no oneDNN, no NNPACK, one thread); the
    caller's settings come back afterwards. Standard mode changes nothing."""
    import torch

    if mode != "strict":
        yield
        return
    check_environment(mode)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        mkldnn, nnpack = torch.backends.mkldnn, torch.backends.nnpack
        with _quiet(), mkldnn.flags(enabled=False), nnpack.flags(enabled=False):
            yield
    finally:
        torch.set_num_threads(threads)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Setting oneDNN's flags warns about TF32 on Intel GPUs, which nothing here uses."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
        yield


def hardware(mode: str = "standard") -> dict[str, Any]:
    """run.json's ``machine.hardware``: the CPU and the kernel libraries that decide the bytes."""
    import torch

    cpu = _cpu()
    return {
        "cpu_model": cpu["model"],
        "cpu_id": cpu["id"],
        "instruction_set": cpu["instruction_set"],
        "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "mkl": _library("Math Kernel Library Version ", r"[\w.]+"),
        "onednn": _library("MKL-DNN ", r"v[\w.]+"),
        "onednn_enabled": bool(torch.backends.mkldnn.enabled),
        "mkl_cbwr": os.environ.get("MKL_CBWR", "unset"),
        "threads": torch.get_num_threads(),
        "reproducible": mode,
    }


def differences(a: dict[str, Any] | None, b: dict[str, Any] | None) -> list[str]:
    """The ``HARDWARE_KEYS`` in which two runs' hardware records differ ("cpu: X vs Y"); a run
    written before these were recorded counts as unknown, not as different."""
    if not a or not b:
        return []
    return [f"{k}: {a.get(k)} vs {b.get(k)}" for k in HARDWARE_KEYS if a.get(k) != b.get(k)]


def among(provenances: Sequence[dict[str, Any]]) -> list[str]:
    """How each later run's hardware (run.json's ``machine.hardware``) differs from the first's,
    each difference once."""
    records = [p.get("machine", {}).get("hardware") for p in provenances]
    out: list[str] = []
    for other in records[1:]:
        out += [d for d in differences(records[0], other) if d not in out]
    return out


# highest first: the widest vector extension the CPU reports
_ISA_FLAGS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"))


@cache
def _cpu() -> dict[str, str]:
    """The CPU's model name, vendor/family/model numbers and widest vector extension, from
    /proc/cpuinfo where there is one (Linux), else what ``platform`` knows."""
    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    isa = next((name for flag, name in _ISA_FLAGS if flag in flags), "unknown")
    ident = " ".join(
        f"{k.split()[-1]} {info[k]}" for k in ("cpu family", "model") if k in info
    ).strip()
    return {
        "model": info.get("model name") or platform.processor() or platform.machine() or "unknown",
        "id": " ".join(filter(None, [info.get("vendor_id", ""), ident])) or "unknown",
        "instruction_set": isa if flags else platform.machine() or "unknown",
    }


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo ({} where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 16)  # the first processor's block is well inside
    except OSError:
        return {}
    fields: dict[str, str] = {}
    for line in text.split("\n\n")[0].splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip(), value.strip())
    return fields


@cache
def _library(prefix: str, pattern: str) -> str:
    """A library's version as torch's build configuration names it ("not built in" when absent)."""
    import torch

    found = re.search(re.escape(prefix) + f"({pattern})", torch.__config__.show())
    return found.group(1) if found else "not built in"
