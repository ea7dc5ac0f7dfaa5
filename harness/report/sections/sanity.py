"""``## Evaluation sanity checks``: Carlini et al.'s checks, one row per model and check; when
the run switched its probes off, which checks therefore did not run."""

from __future__ import annotations

from collections.abc import Sequence

from harness.probe_checks import PROBED
from harness.reading import table
from harness.report.templates import prose
from harness.results import Check, RunResult, probes_off, summary


def applies(result: RunResult) -> bool:
    return bool(result.sanity) or probes_off(result.spec)


def markdown(result: RunResult) -> str:
    return render(result.sanity, not_run(result))


def not_run(result: RunResult) -> list[str]:
    """The checks that need a probe of the live model, when the run switched the probes off."""
    return list(PROBED) if probes_off(result.spec) else []


def render(found: Sequence[Check], skipped: Sequence[str] = ()) -> str:
    if not found and not skipped:
        return ""
    rows = [(c.model, c.name, c.status, c.why) for c in found]
    return prose(
        "sanity",
        summary=summary(found) if found else "No check ran",
        table=table(("model", "check", "status", "why"), rows) if rows else "",
        skipped=list(skipped),
    )
