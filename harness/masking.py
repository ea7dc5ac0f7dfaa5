"""Per-sample evidence of gradient masking: black-box attacks breaking what white-box ones left.

fra31/auto-attack's ``check_square_sr`` warns when Square, run last, lowers the robust accuracy
the white-box parts left by more than 0.2% of the samples: a query-only attack finding
adversarial examples that gradient attacks missed is the classic sign of masked gradients
(Carlini et al. 2019, §5; flags_doc.md of the reference). The curve-level check in
``harness.sanity`` compares robust accuracies; this one counts samples, so a black-box attack
that breaks *different* samples than the white-box ones is caught even when the curves agree.

``part_breaks`` orders the spec's untargeted attacks of one norm (white-box first, then
black-box, each in the spec's order) and counts, per eps, the samples each broke first (an
``EnsembleBreakdown`` marked ``reordered``); ``grade`` turns any ordered ensemble's counts into a
``Check``, so an ensemble that records its own parts (AutoAttack: APGD-CE, APGD-T, FAB-T,
Square) is graded the same way. Pure numpy on records: no torch, no ART.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from harness.results import EnsembleBreakdown
from harness.results.breakdowns import WORST_CASE, tally
from harness.results.checks import PASS, Check
from harness.results.checks import grade as _grade

if TYPE_CHECKING:
    from harness.attacks.planned import PlannedAttack
    from harness.sweep import AttackOutcome

NAME = "black_box_breaks_nothing_new"
# Share of all samples broken only by black-box parts: PASS up to the reference's alpha (its
# check_square_sr warns beyond 0.2%), WARN up to 1% (robust accuracy overstated by under 1 pp).
TOL = (0.002, 0.01)


def broken_first(broken: Sequence[np.ndarray], already: np.ndarray) -> list[int]:
    """For masks ``broken`` (N,) bool in order, how many samples each broke that ``already``
    (N,) bool and every earlier mask left."""
    seen, counts = already.copy(), []
    for mask in broken:
        counts.append(int(np.count_nonzero(mask & ~seen)))
        seen |= mask
    return counts


def part_breaks(
    model: str, outcomes: Sequence[AttackOutcome], declared: dict[str, PlannedAttack]
) -> list[EnsembleBreakdown]:
    """Per norm with a black-box attack and a white-box one, and per eps > 0: what each of the
    untargeted attacks in ``outcomes`` broke first, white-box ones before black-box ones.
    ``declared``: outcome name -> its planned attack (outcomes without one are left out)."""
    used = [o for o in outcomes if o.attack in declared and o.hit is None]
    out = []
    for norm in dict.fromkeys(declared[o.attack].definition.norm for o in used):
        same = [o for o in used if declared[o.attack].definition.norm == norm]
        black = [declared[o.attack].definition.box == "black" for o in same]
        if all(black) or not any(black) or len({o.eps for o in same}) != 1:
            continue
        ordered = [same[i] for i in sorted(range(len(same)), key=lambda i: black[i])]
        rows = [part_row(declared[o.attack]) for o in ordered]  # stable: white first
        out += _per_eps(model, f"attacks ({norm})", ordered, rows)
    return out


def part_row(p: PlannedAttack) -> tuple[str, str, bool]:
    """A spec attack as a part of an ensemble record: its name, implementation and whether it
    is black-box (``harness.breakdown``'s worst case and ``part_breaks`` alike)."""
    return p.name, str(p.params.get("implementation", "art")), p.definition.box == "black"


def _per_eps(
    model: str, ensemble: str, ordered: Sequence[AttackOutcome], rows: list
) -> list[EnsembleBreakdown]:
    first = ordered[0]
    wrong = ~first.attacked  # untargeted attacks run on every clean-correct sample
    n, correct = first.robust.shape[1], int(first.attacked.sum())
    records = []
    for e, eps in enumerate(first.eps):
        if eps <= 0:
            continue
        counts = broken_first([~o.robust[e] & ~wrong for o in ordered], wrong)
        records.append(tally(model, ensemble, eps, counts, rows, n, correct, reordered=True))
    return records


def grade(found: Sequence[EnsembleBreakdown]) -> list[Check]:
    """One check per (model, ensemble): the eps where black-box parts broke the largest share of
    samples that every white-box part before them left. The spec's worst case is left out: the
    white-box-first order of the same attacks (``part_breaks``) is graded instead."""
    groups: dict[tuple[str, str], list[EnsembleBreakdown]] = {}
    for b in found:
        if b.ensemble != WORST_CASE:
            groups.setdefault((b.model, b.ensemble), []).append(b)
    return [_grade_group(rows) for rows in groups.values()]


def _grade_group(rows: Sequence[EnsembleBreakdown]) -> Check:
    worst = max(rows, key=lambda b: (b.black_box_only / max(b.n_samples, 1), -b.eps))
    share = worst.black_box_only / max(worst.n_samples, 1)
    status = _grade(share, TOL)
    black = "/".join(p.name for p in worst.parts if p.black_box)
    white = "/".join(worst.white_box_parts)
    why = (
        f"{worst.ensemble}: at eps {worst.eps:g}, {black} broke {worst.black_box_only} of "
        f"{worst.n_samples} samples ({100 * share:.1f}%) that every white-box attack ({white}) left "
        f"(PASS <= {100 * TOL[0]:.1f}% as fra31's check_square_sr, WARN <= {100 * TOL[1]:.0f}%)"
    )
    hint = (
        ": a black-box attack finding what gradients missed points to gradient masking; "
        "try more steps/restarts, a margin loss (APGD-DLR) or an adaptive attack"
    )
    return Check(NAME, status, worst.model, why + (hint if status != PASS else ""))
