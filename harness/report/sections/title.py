"""``# Robustness report: <name>`` and the spec's description."""

from __future__ import annotations

from harness.report.templates import prose
from harness.results import RunResult


def markdown(result: RunResult) -> str:
    description = str(result.spec.get("description") or "").strip()
    return prose("title", name=result.name, description=description)
