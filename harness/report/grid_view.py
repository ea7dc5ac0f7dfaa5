"""What a grid report's sections read (``GridReport``), computed by ``harness.grid.report``
from the grid's cells; the sections only format it, so they need nothing from ``harness.grid``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.results import AttackRecord, Check


@dataclass(frozen=True)
class GridReport:
    """A finished (or partly finished) grid, as its report reads it."""

    result: Any  # harness.grid.driver.GridResult: its spec, provenance, cells and units
    rows: list[Any]  # harness.grid.report.GridRow, in the grid's order
    values: dict[tuple, list[float]]  # (model, defence, attack, eps, metric) -> over seeds
    records: list[AttackRecord]  # the attacks as a run records them
    checks: list[Check]  # the measurement checks per model and seed
    series: list[tuple[str, str]]  # (grid model, defence) in the grid's order
    attacks: list[str]  # measured attacks: each followed by its naive twin, then the worst case
    naive_suffix: str  # a naive twin's name is its attack's plus this
    no_defence: str  # the ``defence`` of the baseline's rows
    counts: dict[str, int]  # cell status ("ran", "reused", "failed", "blocked") -> cells
    cell_seconds: dict[str, float]  # "ran" / "reused" -> the finished cells' own seconds
    failed: list[tuple[str, int, str]]  # (cell or model, attempts, last error)
    blocked: list[tuple[str, bool]]  # (cell or model, whether it is a cell)
    n_classes: int | None  # for the chance level in the figure
    corruptions: list[Any] = field(default_factory=list)  # GridRow: corruption cells' accuracies

    @property
    def main_attacks(self) -> list[str]:
        """The measured attacks without the naive twins (the spec's, then the worst case)."""
        return [a for a in self.attacks if not a.endswith(self.naive_suffix)]
