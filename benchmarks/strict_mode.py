"""What ``reproducible: strict`` costs: a spec run end to end in standard and strict mode.

Each repeat runs ``harness run SPEC`` twice in fresh processes, standard then strict, each in a
fresh ``$HARNESS_HOME`` (so both train their models), and reads the run's own total (run.json's
``timings_seconds.total``) and CPU seconds (the child's user + system). Repeats are interleaved,
so a change in the machine's load touches both modes alike; the table gives the median of each
and the median and range of the per-repeat ratio strict / standard, with the CPU model, the
thread count the standard spec asks for, and the load average.

    PYTHONPATH=$PWD python benchmarks/strict_mode.py               # digits_fgsm, 5 repeats
    PYTHONPATH=$PWD python benchmarks/strict_mode.py --repeats 3 --spec mnist_fgsm

It also checks that every strict run wrote the same results.csv bytes (a repeat that did not is
reported: strict mode would then not be deterministic even on one machine).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from harness import reproducibility

COMMAND = [sys.executable, "-c", "import sys; from harness.cli import main; sys.exit(main())"]


def one_run(spec: str, strict: bool, extra: list[str]) -> tuple[float, float, str]:
    """(the run's own total seconds, the child's CPU seconds, results.csv's SHA-256)."""
    with tempfile.TemporaryDirectory() as home:
        out = Path(home) / "out"
        args = ["run", spec, "--out", str(out), *extra]
        if strict:
            args += ["--set", "reproducible=strict"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        env = os.environ | {"HARNESS_HOME": home}
        subprocess.run([*COMMAND, *args], env=env, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        total = json.loads((out / "run.json").read_text())["provenance"]["timings_seconds"]
        digest = hashlib.sha256((out / "results.csv").read_bytes()).hexdigest()
        return total["total"], cpu, digest


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spec", default="digits_fgsm")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--set", dest="overrides", action="append", default=[])
    args = p.parse_args()
    extra = [a for o in args.overrides for a in ("--set", o)]
    rows: dict[bool, list[tuple[float, float, str]]] = {False: [], True: []}
    for i in range(args.repeats):
        for strict in (False, True):
            rows[strict].append(one_run(args.spec, strict, extra))
            wall, cpu, digest = rows[strict][-1]
            mode = "strict" if strict else "standard"
            print(f"repeat {i + 1}: {mode:8s} {wall:7.1f} s run, {cpu:7.1f} s CPU  {digest[:16]}")
    hw = reproducibility.hardware()
    print(f"\n{args.spec}, {args.repeats} interleaved repeats; CPU {hw['cpu']} ({hw['cpu_id']}, "
          f"{hw['instruction_set']}), {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")  # fmt: skip
    for k, clock in ((0, "run seconds"), (1, "CPU seconds")):
        std = [r[k] for r in rows[False]]
        strict = [r[k] for r in rows[True]]
        ratios = [s / t for s, t in zip(strict, std, strict=True)]
        print(f"  {clock}: standard median {statistics.median(std):.1f}, strict median "
              f"{statistics.median(strict):.1f}; strict / standard median "
              f"{statistics.median(ratios):.2f} (range {min(ratios):.2f}-{max(ratios):.2f})")  # fmt: skip
    strict_bytes = {r[2] for r in rows[True]}
    std_bytes = {r[2] for r in rows[False]}
    print(f"  results.csv: standard {', '.join(d[:16] for d in sorted(std_bytes))}; "
          f"strict {', '.join(d[:16] for d in sorted(strict_bytes))}")  # fmt: skip
    return 0 if len(strict_bytes) == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
