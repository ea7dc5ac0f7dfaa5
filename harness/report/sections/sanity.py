"""``## Evaluation sanity checks``: Carlini et al.'s checks, one row per model and check."""

from __future__ import annotations

from collections.abc import Sequence

from harness.reading import table
from harness.report.templates import prose
from harness.results import Check, RunResult, summary


def applies(result: RunResult) -> bool:
    return bool(result.sanity)


def markdown(result: RunResult) -> str:
    return render(result.sanity)


def render(found: Sequence[Check]) -> str:
    if not found:
        return ""
    rows = [(c.model, c.name, c.status, c.why) for c in found]
    return prose(
        "sanity", summary=summary(found), table=table(("model", "check", "status", "why"), rows)
    )
