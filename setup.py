"""Packaging. The metadata is in setup.cfg; this file only ships the benchmark specs.

The specs live in the repository's ``benchmarks/`` (README commands, tests and ``include:``
paths use it). A wheel carries the same files as ``harness/benchmarks/``, where
``harness.spec.catalog`` finds them after ``pip install .``; an editable install reads the
checkout's folder instead.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SPECS = Path("benchmarks")
SHIPPED = ("*.yaml", "include/*.yaml")  # benchmarks/*.py (speed.py) is a script, not a spec


class BuildWithBenchmarks(build_py):
    """``build_py`` plus a copy of the benchmark specs into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        target = Path(self.build_lib) / "harness" / "benchmarks"
        for pattern in SHIPPED:
            for spec in sorted(SPECS.glob(pattern)):
                out = target / spec.relative_to(SPECS)
                self.mkpath(str(out.parent))
                self.copy_file(str(spec), str(out))


setup(cmdclass={"build_py": BuildWithBenchmarks})
