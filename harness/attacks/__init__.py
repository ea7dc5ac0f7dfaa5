"""Registered attacks: one file per family on top of ART, parameters in [0, 1] pixel units.

``base``: the declaration (``AttackDef``), the registry ``ATTACKS``, the ``attack`` decorator
and how an attack runs (``generate``, labels, seeding, projection). ``select``: choosing
attacks by their declared capabilities. Every other module is one attack family and registers
itself when imported below; adding an attack is one new file plus its line here.
Family modules import ``harness.attacks.base`` (never this package), so there is no cycle.
"""

from harness.attacks import (  # noqa: F401  each registers its attacks
    autoattack,
    cw,
    deepfool,
    fgsm,
    pgd,
    square,
    transfer,
)
from harness.attacks.base import (
    ATTACKS,
    SWEEPS,
    AttackDef,
    Direction,
    Factory,
    attack,
    attack_labels,
    generate,
    numpy_seed,
    project,
)
from harness.attacks.fgsm import fgsm_direction
from harness.attacks.select import naive_bases, recorded

__all__ = [
    "ATTACKS",
    "SWEEPS",
    "AttackDef",
    "Direction",
    "Factory",
    "attack",
    "attack_labels",
    "fgsm_direction",
    "generate",
    "naive_bases",
    "numpy_seed",
    "project",
    "recorded",
]
