"""Per-part breakdowns of ensembles: what each part broke first, per eps (``EnsembleBreakdown``).

Two ensembles get one: every ``autoattack`` run (its parts, from what each call noted in
``harness.attacks.autoattack_parts``), and the spec-level worst case over the untargeted attacks
(each attack a part, in spec order, from the per-sample outcomes of the sweep). AutoAttack's own
log reports the same: per part, the samples it perturbed successfully and the robust accuracy
after it. Pure: records in, records out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness.attacks.autoattack_parts import PartRun
from harness.attacks.planned import PlannedAttack
from harness.masking import broken_first, part_row
from harness.results import EnsembleBreakdown
from harness.results.breakdowns import (
    WORST_CASE,  # the spec-level worst case
    tally,
)
from harness.sweep import AttackOutcome


def breakdowns(
    model: str,
    planned: Sequence[PlannedAttack],
    outcomes: Sequence[AttackOutcome],
    log: Sequence[PartRun],
) -> list[EnsembleBreakdown]:
    """Every autoattack run's breakdown (per eps), then the worst case's over the untargeted
    attacks when there are two or more."""
    records = []
    for p, o in zip(planned, outcomes, strict=True):
        runs = [r for r in log if r.params is p.params]  # the calls of this planned attack
        if runs:
            records += autoattack_breakdown(model, p.name, o, runs)
    untargeted = [(p, o) for p, o in zip(planned, outcomes, strict=True) if not p.targeted]
    if len(untargeted) >= 2:
        records += worst_case_breakdown(model, untargeted)
    return records


def autoattack_breakdown(
    model: str, name: str, outcome: AttackOutcome, runs: Sequence[PartRun]
) -> list[EnsembleBreakdown]:
    """Per eps, the counts of every call at that eps or a smaller one (the nested sweep only
    attacks the survivors of the smaller eps, so earlier breaks still count)."""
    n, correct = outcome.robust.shape[1], int(outcome.attacked.sum())
    parts = runs[0].parts
    records = []
    for eps in outcome.eps:
        counts = np.sum([r.broke for r in runs if r.eps <= eps] or [[0] * len(parts)], axis=0)
        rows = [(p.name, p.implementation, p.black_box) for p in parts]
        version = str(runs[0].params["version"])
        records.append(tally(model, name, eps, counts, rows, n, correct, version=version))
    return records


def worst_case_breakdown(
    model: str, attacks: Sequence[tuple[PlannedAttack, AttackOutcome]]
) -> list[EnsembleBreakdown]:
    """Per eps, each attack in spec order gets the clean-correct samples it broke that every
    earlier attack left correct."""
    first = attacks[0][1]
    n = first.robust.shape[1]
    correct = np.logical_or.reduce([o.attacked for _, o in attacks])  # (N,) clean-correct
    rows = [part_row(p) for p, _ in attacks]
    records = []
    for e, eps in enumerate(first.eps):
        counts = broken_first([~o.robust[e] for _, o in attacks], ~correct)
        records.append(tally(model, WORST_CASE, eps, counts, rows, n, int(correct.sum())))
    return records
