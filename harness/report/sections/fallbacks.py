"""``## Out-of-memory fallbacks``: every batch halved because the device ran out of memory."""

from __future__ import annotations

from harness.reading import table
from harness.report.templates import prose
from harness.results import RunResult

HEADER = ["where", "device", "batch", "retried with"]


def applies(result: RunResult) -> bool:
    return bool(result.batch_fallbacks)


def markdown(result: RunResult) -> str:
    rows = [
        (f"`{b.where}`", f"`{b.device}`", f"{b.batch_size:,}", f"{b.retried_with:,}")
        for b in result.batch_fallbacks
    ]
    return prose("fallbacks", table=table(HEADER, rows), n=len(rows))
