"""Grading a training history for catastrophic overfitting (Wong et al. 2020, §5): pure, no torch.

``harness.defences.overfitting`` records, after every epoch of FGSM-based training, the PGD
and FGSM accuracy on a held-out minibatch. A collapse is the PGD accuracy falling far below an
earlier epoch's while the FGSM accuracy does not fall: the model has learnt to defeat the one
step it trains on, not the threat model. Wong et al. stop training when the PGD accuracy drops
by more than 20 pp; that is the FAIL line here, half of it the WARN line.
"""

from __future__ import annotations

from collections.abc import Sequence

from harness.probe_checks import pct
from harness.results import FAIL, PASS, WARN, Check, EpochStats
from harness.results.checks import SLACK
from harness.results.checks import grade as _grade

NAME = "no_catastrophic_overfitting"
DROP_TOL = (0.10, 0.20)  # PGD accuracy drop from an earlier epoch: (largest PASS, largest WARN)


def _largest_drop(scored: Sequence[EpochStats]) -> tuple[float, EpochStats, EpochStats]:
    """(drop, before, after): the largest fall of PGD accuracy from an epoch to a later one."""
    best = (0.0, scored[0], scored[0])
    for j, after in enumerate(scored[1:], 1):
        before = max(scored[:j], key=lambda e: e.pgd_acc)
        best = max(best, (before.pgd_acc - after.pgd_acc, before, after), key=lambda t: t[0])
    return best


def grade(model: str, history: Sequence[EpochStats]) -> list[Check]:
    """One check for a history with PGD accuracies recorded (none otherwise)."""
    scored = [e for e in history if e.pgd_acc is not None]
    if not scored:
        return []
    drop, before, after = _largest_drop(scored)
    status = _grade(drop, DROP_TOL)
    fgsm_fell = (after.fgsm_acc or 0.0) < (before.fgsm_acc or 0.0) - SLACK
    if status == FAIL and fgsm_fell:
        status = WARN  # both fell: training degraded, not the FGSM-only overfitting pattern
    kept = next((e.epoch for e in history if e.kept), history[-1].epoch)
    if drop <= SLACK:
        return [Check(NAME, status, model, _steady(scored[-1]))]
    return [Check(NAME, status, model, _why(drop, before, after, kept, status))]


def _steady(last: EpochStats) -> str:
    """No epoch's PGD accuracy below an earlier one's: the line names the last epoch's."""
    return (
        f"PGD accuracy on the held-out minibatch never fell over {last.epoch} epochs "
        f"(last {pct(last.pgd_acc)}, FGSM {pct(last.fgsm_acc)}; FAIL on a drop > "
        f"{100 * DROP_TOL[1]:.0f} pp, Wong et al. 2020)"
    )


def _why(drop: float, before: EpochStats, after: EpochStats, kept: int, status: str) -> str:
    why = (
        f"PGD accuracy on the held-out minibatch fell {100 * drop:.1f} pp, from "
        f"{pct(before.pgd_acc)} (epoch {before.epoch}) to {pct(after.pgd_acc)} (epoch "
        f"{after.epoch}), while FGSM accuracy went {pct(before.fgsm_acc)} -> "
        f"{pct(after.fgsm_acc)} (WARN > {100 * DROP_TOL[0]:.0f} pp, FAIL > "
        f"{100 * DROP_TOL[1]:.0f} pp as Wong et al. 2020); the model ends with epoch {kept}"
    )
    hint = (
        ": catastrophic overfitting, robust to FGSM only; use `keep: best_pgd`, a random "
        "start (fast_fgsm) or a smaller step"
    )
    return why + (hint if status != PASS else "")
