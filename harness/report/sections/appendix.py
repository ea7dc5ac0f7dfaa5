"""``# Appendix``: the heading before what a reader looks up rather than reads (the resolved
spec, the data and models, per-epoch and per-class tables, timings, provenance)."""

from __future__ import annotations

from harness.results import RunResult


def markdown(result: RunResult) -> str:
    return (
        "# Appendix\n\nThe resolved spec, the data and models, per-epoch training and per-class "
        "tables, where the time went, and where the run came from."
    )
