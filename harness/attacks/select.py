"""Choosing attacks by what they declare (``AttackDef`` capabilities), never by name.

Each predicate says which attacks take part in a comparison or a menu; a newly registered
attack joins every selection its declaration fits, without editing a list. The sanity checks
read finished runs too, whose attack records carry the registered name in ``attack``:
``recorded`` is the one place that turns such a record back into its declaration.
"""

from __future__ import annotations

from typing import Any

from harness.attacks.base import ATTACKS, AttackDef
from harness.results import AttackRecord


def recorded(record: AttackRecord) -> AttackDef | None:
    """The registered declaration behind a run's attack record (its ``attack`` field);
    None when that attack is no longer registered (it then takes part in no comparison)."""
    return ATTACKS.get(record.attack) if record.attack in ATTACKS else None


def eps_bounded_white_box(d: AttackDef) -> bool:
    """Uses the model's gradients and searches the eps ball itself (not a projected
    minimal-perturbation attack, whose result is a smallest flip cut back to eps)."""
    return d.box == "white" and not d.minimal and not d.transfer


def one_step(d: AttackDef) -> bool:
    """A single gradient step in the eps ball (FGSM): the floor an iterative attack must beat."""
    return eps_bounded_white_box(d) and not d.iterative


def iterative_white_box(d: AttackDef) -> bool:
    """Iterates on the model's gradients within the eps ball (PGD, AutoAttack): at least as
    strong as one step of the same norm (Carlini et al. 2019, §5)."""
    return eps_bounded_white_box(d) and d.iterative


def black_box(d: AttackDef) -> bool:
    """Never uses the evaluated model's gradients (scores, or a surrogate): should not beat the
    best white-box attack of its norm unless gradients are masked."""
    return d.box == "black"


def interactive(d: AttackDef) -> bool:
    """Cheap enough to rerun on one image at every slider move of the app: a single white-box
    L-inf attack bounded by eps (no ensemble, no query-hungry black box, no eps-free attack)."""
    return eps_bounded_white_box(d) and d.norm == "linf" and not d.ensemble


def names(which: Any) -> tuple[str, ...]:
    """The registered attacks for which ``which(definition)`` holds, by name."""
    return tuple(n for n in ATTACKS.names() if which(ATTACKS.get(n)))


def naive_bases() -> tuple[str, ...]:
    """Attacks the naive attacker reruns on the undefended baseline (declared ``naive``)."""
    return names(lambda d: d.naive)
