"""robustness-harness: Build -> Break -> Improve adversarial robustness benchmarks on ART."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "benchmark", "load_spec", "run"]


def __getattr__(name: str) -> Any:  # lazy: `import harness` stays cheap for the CLI
    if name == "benchmark":
        from harness.api import benchmark

        return benchmark
    if name == "run":
        from harness.runner import run

        return run
    if name == "load_spec":
        from harness.spec import load_spec

        return load_spec
    raise AttributeError(name)
