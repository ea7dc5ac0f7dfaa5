"""``## Leaderboard``: the entries best first, with worst-case accuracy, AUCs, training and a
sanity column (an entry with a FAILed sanity check ranks after every entry without one)."""

from __future__ import annotations

import math

from harness import stats
from harness.reading import DASH, num, pct, table
from harness.report.leaderboard import WORST, Comparison, Row
from harness.report.templates import prose

LEADERBOARD_CSV = "leaderboard.csv"


def markdown(c: Comparison) -> str:
    board = c.board
    worst_eps = board.eps[WORST]
    header = ["rank", "entry", "clean acc"]
    header += [f"worst case ε={num(e)}" for e in worst_eps]
    header += ["worst case from", "worst-case AUC"]
    header += [f"AUC {a}" for a in board.attacks] + ["training", "sanity"]
    rows = []
    for rank, r in zip(board.ranks, board.rows, strict=True):
        line = [rank, r.entry, _interval(r.clean_accuracy, r.n_test)]
        line += [_interval(r.worst.get(e), r.n_test) for e in worst_eps]
        line += [r.worst_source, auc_text(r.worst_auc)]
        line += [auc_text(r.auc.get(a)) for a in board.attacks]
        line += [_training_text(r), sanity_text(r)]
        rows.append(line)
    return prose(
        "comparison/leaderboard",
        sorted_by=board.sorted_by,
        csv=LEADERBOARD_CSV,
        table=table(header, rows),
        any_fail=any(r.sanity_fail for r in board.rows),
        ties=board.ties,
        any_tie=any(k.startswith("=") for k in board.ranks),
        level=stats.LEVEL,
    )


def _interval(v: float | None, n: int) -> str:
    """``87.7% [84.0, 90.7]``; a bare percentage when the run did not record its test size."""
    if v is None or math.isnan(v) or not n:
        return pct(v)
    return stats.wilson(stats.count(v, n), n).text()


def auc_text(v: float | None) -> str:
    return DASH if v is None or math.isnan(v) else f"{v:.4f}"


def sanity_text(r: Row) -> str:
    """The row's warning: the checks that FAILed, or that the probes were off; blank if neither."""
    parts = [f"**FAIL**: {', '.join(r.sanity_fail)}"] if r.sanity_fail else []
    parts += ["probes off"] if r.probes_off else []
    return "; ".join(parts)


def _training_text(r: Row) -> str:
    if r.train_seconds is None:
        return f"{DASH} ({r.training})" if r.training else DASH
    return f"{r.train_seconds:.1f} s ({r.epochs} epoch{'s' if r.epochs != 1 else ''})"
