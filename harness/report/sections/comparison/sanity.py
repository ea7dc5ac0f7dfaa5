"""``## Evaluation sanity checks``: every entry's checks side by side, FAIL and WARN first.

A leaderboard row is only as trustworthy as its checks (gradient masking, probabilities out,
random outputs, catastrophic overfitting, a black-box attack breaking what white-box ones left):
the comparison repeats each entry's tally and every check that did not PASS, with its line, and
says which entries' runs switched the sanity probes off (their tally is of fewer checks).
"""

from __future__ import annotations

from harness.reading import table
from harness.report.leaderboard import Comparison, entries
from harness.report.sections.sanity import not_run
from harness.report.templates import prose
from harness.results import PASS, SEVERITY, Check, probes_off, summary


def applies(c: Comparison) -> bool:
    return any(run.result.sanity or probes_off(run.result.spec) for run in c.runs)


def markdown(c: Comparison) -> str:
    tallies, flagged = [], []
    for e in entries(c.runs):
        found = [k for k in e.run.result.sanity if k.model == e.role]
        tallies.append((e.label, tally(found, not_run(e.run.result))))
        flagged += [(e.label, k.name, k.status, k.why) for k in found if k.status != PASS]
    flagged.sort(key=lambda r: -SEVERITY.index(r[2]))  # FAIL first, then WARN, then SKIP
    return prose(
        "comparison/sanity",
        tallies=table(("entry", "checks"), tallies),
        flagged=table(("entry", "check", "status", "why"), flagged) if flagged else "",
        skipped=[label for label, text in tallies if "probes off" in text],
    )


def tally(found: list[Check], skipped: list[str]) -> str:
    """'3 PASS, 0 WARN, 0 FAIL', and what did not run when the probes were off."""
    text = summary(found) if found else "no checks recorded"
    if skipped:
        text += f"; **probes off**: {', '.join(skipped)} did not run"
    return text
