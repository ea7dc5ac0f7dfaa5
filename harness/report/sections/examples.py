"""``## Adversarial examples``: grids of clean input, magnified perturbation, adversarial input."""

from __future__ import annotations

from typing import Any

from harness import plots
from harness.reading import attack_title, num
from harness.report.engine import Figures
from harness.report.files import example_files
from harness.report.templates import prose
from harness.results import ExampleGrid, RunResult


def applies(result: RunResult) -> bool:
    return bool(result.examples)


def markdown(result: RunResult) -> str:
    files = example_files(result.examples)
    return prose(
        "examples", grids=[_grid(g, f) for g, f in zip(result.examples, files, strict=True)]
    )


def figures(result: RunResult) -> Figures:
    files = example_files(result.examples)
    return {
        f: lambda g=g: plots.example_grid(g) for g, f in zip(result.examples, files, strict=True)
    }


def _grid(grid: ExampleGrid, file: str) -> dict[str, Any]:
    changed = sum(a != c for a, c in zip(grid.adv_preds, grid.clean_preds, strict=True))
    return {
        "model": grid.model,
        "attack": grid.attack,
        "title": attack_title(grid.attack),
        "eps": num(grid.eps),
        "indices": ", ".join(map(str, grid.indices)),
        "changed": changed,
        "n": len(grid.indices),
        "file": file,
    }
