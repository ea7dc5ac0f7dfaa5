"""Per-sample evidence of gradient masking: black-box attacks breaking what white-box ones left.

fra31/auto-attack's ``check_square_sr`` warns when Square, run last, lowers the robust accuracy
the white-box parts left by more than 0.2% of the samples: a query-only attack finding
adversarial examples that gradient attacks missed is the classic sign of masked gradients
(Carlini et al. 2019, §5; flags_doc.md of the reference). The curve-level check in
``harness.sanity`` compares robust accuracies; this one counts samples, so a black-box attack
that breaks *different* samples than the white-box ones is caught even when the curves agree.

``part_breaks`` orders the spec's untargeted attacks of one norm (white-box first, then
black-box, each in the spec's order) and counts, per eps, the samples each broke first
(``PartBreaks``); ``grade`` turns any ordered ensemble's counts into a ``Check``, so an
ensemble that records its own parts (AutoAttack: APGD-CE, APGD-T, FAB-T, Square) is graded the
same way. Pure numpy on records: no torch, no ART.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from harness.reading import WORST_CASE
from harness.results import EnsembleBreakdown
from harness.results.checks import FAIL, PASS, WARN, Check, PartBreaks, PartCount

if TYPE_CHECKING:
    from harness.attacks.base import AttackDef
    from harness.sweep import AttackOutcome

NAME = "black_box_breaks_nothing_new"
# Share of all samples broken only by black-box parts: PASS up to the reference's alpha (its
# check_square_sr warns beyond 0.2%), WARN up to 1% (robust accuracy overstated by under 1 pp).
TOL = (0.002, 0.01)
SLACK = 1e-12


def broken_first(broken: Sequence[np.ndarray], already: np.ndarray) -> list[int]:
    """For masks ``broken`` (N,) bool in order, how many samples each broke that ``already``
    (N,) bool and every earlier mask left."""
    seen, counts = already.copy(), []
    for mask in broken:
        counts.append(int(np.count_nonzero(mask & ~seen)))
        seen |= mask
    return counts


def part_breaks(
    model: str, outcomes: Sequence[AttackOutcome], declared: dict[str, AttackDef]
) -> list[PartBreaks]:
    """Per norm with a black-box attack and a white-box one, and per eps > 0: what each of the
    untargeted attacks in ``outcomes`` broke first, white-box ones before black-box ones.
    ``declared``: outcome name -> its attack's declaration (outcomes without one are left out)."""
    used = [o for o in outcomes if o.attack in declared and o.hit is None]
    out = []
    for norm in dict.fromkeys(declared[o.attack].norm for o in used):
        same = [o for o in used if declared[o.attack].norm == norm]
        black = [declared[o.attack].box == "black" for o in same]
        if all(black) or not any(black) or len({o.eps for o in same}) != 1:
            continue
        order = sorted(range(len(same)), key=lambda i: black[i])  # stable: white first
        out += _per_eps(model, f"attacks ({norm})", [same[i] for i in order], sorted(black))
    return out


def _per_eps(
    model: str, ensemble: str, ordered: Sequence[AttackOutcome], black: Sequence[bool]
) -> list[PartBreaks]:
    first = ordered[0]
    wrong = ~first.attacked  # untargeted attacks run on every clean-correct sample
    rows = []
    for e, eps in enumerate(first.eps):
        if eps <= 0:
            continue
        counts = broken_first([~o.robust[e] & ~wrong for o in ordered], wrong)
        parts = [PartCount(o.attack, b, c) for o, b, c in zip(ordered, black, counts, strict=True)]
        n, n_wrong = first.robust.shape[1], int(wrong.sum())
        rows.append(PartBreaks(model, ensemble, float(eps), n, n_wrong, parts))
    return rows


def from_ensembles(found: Sequence[EnsembleBreakdown]) -> list[PartBreaks]:
    """The ensembles' own per-part counts (AutoAttack: APGD-CE, APGD-T, FAB-T, Square) in the
    form ``grade`` reads; the spec's worst case is left out (``part_breaks`` orders those
    attacks white-box first, which the worst case's spec order does not)."""
    return [
        PartBreaks(
            b.model,
            b.ensemble,
            b.eps,
            b.n_samples,
            b.n_samples - b.clean_correct,
            [PartCount(p.name, p.black_box, p.broke_first) for p in b.parts],
        )
        for b in found
        if b.ensemble != WORST_CASE
    ]


def grade(found: Sequence[PartBreaks]) -> list[Check]:
    """One check per (model, ensemble): the eps where black-box parts broke the largest share of
    samples that every white-box part before them left."""
    groups: dict[tuple[str, str], list[PartBreaks]] = {}
    for b in found:
        groups.setdefault((b.model, b.ensemble), []).append(b)
    return [_grade_group(rows) for rows in groups.values()]


def _grade_group(rows: Sequence[PartBreaks]) -> Check:
    worst = max(rows, key=lambda b: (b.black_box_only / max(b.n, 1), -b.eps))
    share = worst.black_box_only / max(worst.n, 1)
    status = PASS if share <= TOL[0] + SLACK else WARN if share <= TOL[1] + SLACK else FAIL
    black = "/".join(p.name for p in worst.parts if p.black_box)
    white = "/".join(worst.white_box_parts)
    why = (
        f"{worst.ensemble}: at eps {worst.eps:g}, {black} broke {worst.black_box_only} of "
        f"{worst.n} samples ({100 * share:.1f}%) that every white-box attack ({white}) left "
        f"(PASS <= {100 * TOL[0]:.1f}% as fra31's check_square_sr, WARN <= {100 * TOL[1]:.0f}%)"
    )
    hint = (
        ": a black-box attack finding what gradients missed points to gradient masking; "
        "try more steps/restarts, a margin loss (APGD-DLR) or an adaptive attack"
    )
    return Check(NAME, status, worst.model, why + (hint if status != PASS else ""))
