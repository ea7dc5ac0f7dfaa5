"""AutoAttack's parts (names, owners, capabilities) and what each broke during a sweep.

An ensemble attack is built afresh for every ``generate`` call (one per eps, on the samples
still standing), so the per-part counts cannot live on the attack object. Both
implementations (``autoattack``, ``autoattack_reference``) ``note`` one ``PartRun`` per call;
``recording`` collects them for the code that builds the breakdown records
(``harness.breakdown``). Outside ``recording`` nothing is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from harness.attacks import square as _square_family  # noqa: F401  registers Square
from harness.attacks.base import ATTACKS

PART_NAMES = ("APGD-CE", "APGD-T", "FAB-T", "Square")  # the standard version's order
RAND_PART_NAMES = ("APGD-CE", "APGD-DLR")  # the rand version's (randomized models), with EoT
# the plus version's (the reference's set_version("plus")): untargeted parts with 5 restarts
# (Square 1), then the targeted ones
PLUS_PART_NAMES = ("APGD-CE", "APGD-DLR", "FAB", "Square", "APGD-T", "FAB-T")
VERSION_PARTS = {"standard": PART_NAMES, "plus": PLUS_PART_NAMES, "rand": RAND_PART_NAMES}
PLUS_RESTARTS = 5  # the plus version's restarts of APGD-CE, APGD-DLR and FAB
BLACK_BOX_PART = "Square"  # the one part that uses only the model's scores
EOT_ITER = 20  # the rand version's gradient samples per step (Expectation over Transformation)


@dataclass(frozen=True)
class Part:
    """One attack of an ensemble, as the breakdown names it."""

    name: str  # "APGD-CE", "APGD-T", "FAB-T", "Square" (plus: also "APGD-DLR", "FAB")
    implementation: (
        str  # "harness" (this package's loops on ART's estimator), "reference" (fra31's)
    )
    black_box: bool  # uses only the model's scores (no gradients)


def part_names(version: str) -> tuple[str, ...]:
    """The parts of a version, in the order they run."""
    return VERSION_PARTS[version]


def parts(implementation: str, version: str = "standard") -> tuple[Part, ...]:
    """The parts in order, who implements each, and which are black-box (declared: Square is
    as black-box as the registered ``square`` attack declares itself)."""
    # the harness's parts (apgd_loop, fab, square_loop) make one forward per iteration or
    # query, unlike ART's: "harness", not "art"
    owner = "reference" if implementation == "reference" else "harness"
    square_black = ATTACKS.get("square").box == "black"
    return tuple(Part(n, owner, square_black and n == BLACK_BOX_PART) for n in part_names(version))


def n_targets(params: dict[str, Any], num_classes: int) -> int:
    """Target classes of APGD-T and FAB-T: n_target_classes, at most the num_classes - 1 others."""
    return max(0, min(int(params["n_target_classes"]), num_classes - 1))


@dataclass(frozen=True)
class PartRun:
    """One ensemble call: at eps, how many of the samples it was given each part broke first."""

    params: dict[str, Any]  # the attack's resolved parameters (identifies the planned attack)
    eps: float
    parts: tuple[Part, ...]
    broke: tuple[int, ...]  # per part, in order
    attacked: int  # samples the call was given that were correctly classified


_LOG: ContextVar[list[PartRun] | None] = ContextVar("autoattack_log", default=None)


@contextmanager
def recording() -> Iterator[list[PartRun]]:
    """Collect every ``PartRun`` noted inside the block, in order."""
    log: list[PartRun] = []
    token = _LOG.set(log)
    try:
        yield log
    finally:
        _LOG.reset(token)


def note(run: PartRun) -> None:
    """Keep ``run`` if a ``recording`` block is active."""
    log = _LOG.get()
    if log is not None:
        log.append(run)
