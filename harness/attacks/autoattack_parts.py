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
EOT_ITER = 20  # the rand version's gradient samples per step (Expectation over Transformation)


@dataclass(frozen=True)
class Part:
    """One attack of an ensemble, as the breakdown names it."""

    name: str  # "APGD-CE", "APGD-T", "FAB-T", "Square"
    implementation: (
        str  # "harness" (this package's loops on ART's estimator), "reference" (fra31's)
    )
    black_box: bool  # uses only the model's scores (no gradients)


def part_names(version: str) -> tuple[str, ...]:
    """The parts of a version, in the order they run."""
    return RAND_PART_NAMES if version == "rand" else PART_NAMES


def parts(implementation: str, version: str = "standard") -> tuple[Part, ...]:
    """The parts in order, who implements each, and which are black-box (declared)."""
    if version == "rand":  # two white-box APGD runs
        return tuple(Part(n, implementation, False) for n in RAND_PART_NAMES)
    square_black = ATTACKS.get("square").box == "black"
    if implementation == "reference":
        owners = ("reference",) * 4
    else:  # apgd_loop, fab, square_loop: one forward per iteration or query, unlike ART's
        owners = ("harness",) * 4
    boxes = (False, False, False, square_black)
    return tuple(Part(n, o, b) for n, o, b in zip(PART_NAMES, owners, boxes, strict=True))


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
