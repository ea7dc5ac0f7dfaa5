"""What each part of an ordered ensemble broke first, per eps: one record for every ensemble.

Three ensembles are recorded this way: every ``autoattack`` run (APGD-CE, APGD-T, FAB-T,
Square, as fra31's log reports them), the spec-level worst case (the untargeted attacks in spec
order), and the spec's untargeted attacks of one norm put white-box first (``reordered``: the
per-sample evidence of gradient masking, ``harness.masking``; no code ran them in that order).
The report tables the first two; the sanity checks grade the first and third.
Plain data, no torch or ART.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WORST_CASE = "worst_case"  # the per-sample worst case over the spec's attacks (harness.sweep)


@dataclass(frozen=True)
class BreakdownPart:
    """One part of an ensemble at one eps, in the ensemble's order."""

    name: str  # "APGD-CE", ..., or, for the spec's attacks, the attack's run name
    implementation: str  # "art", "harness" (the harness's own code) or "reference" (fra31's)
    black_box: bool  # the part uses only scores (declared capability), no gradients
    broke_first: int  # samples it broke that every earlier part had left correct
    robust_accuracy_after: float  # still correct after this and every earlier part / all samples


@dataclass(frozen=True)
class EnsembleBreakdown:
    """What each part of an ensemble broke first at one eps, as AutoAttack's own log reports.

    ``ensemble``: an ``autoattack`` run's name, "worst_case" (the spec's untargeted attacks in
    spec order) or "attacks (linf)" (``reordered``: one norm's untargeted attacks, white-box
    first). The parts' ``broke_first`` add up to ``clean_correct`` minus the samples no part
    broke; a nested sweep counts a sample broken at a smaller eps for the part that broke it there.
    """

    model: str  # the model's role
    ensemble: str
    eps: float  # pixel units
    n_samples: int  # every test sample (robust accuracy is over these)
    clean_correct: int  # the samples any part was run on
    parts: tuple[BreakdownPart, ...]
    version: str = ""  # autoattack's version ("standard"; "rand" for a randomized model)
    reordered: bool = False  # parts put white-box first for the masking check, not run so

    @property
    def robust_accuracy(self) -> float:
        """After every part (the ensemble's robust accuracy)."""
        return self.parts[-1].robust_accuracy_after if self.parts else 0.0

    @property
    def black_box_only(self) -> int:
        """Samples broken by black-box parts after the last white-box part: what every
        white-box part left and a black-box one still broke (fra31's check_square_sr)."""
        last_white = max((i for i, p in enumerate(self.parts) if not p.black_box), default=-1)
        return sum(p.broke_first for p in self.parts[last_white + 1 :] if p.black_box)

    @property
    def white_box_parts(self) -> list[str]:
        return [p.name for p in self.parts if not p.black_box]

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> EnsembleBreakdown:
        parts = tuple(BreakdownPart(**p) for p in d["parts"])
        return cls(**{**d, "parts": parts})

    @classmethod
    def from_part_breaks(cls, d: dict[str, Any]) -> EnsembleBreakdown:
        """A run.json written before the records were unified: its ``part_breaks`` entry
        (``n``, ``clean_wrong``, parts of ``name``/``black_box``/``broken_first``), which had no
        implementation (recorded as "") and no robust accuracy (recomputed from the counts)."""
        rows = [(p["name"], "", p["black_box"]) for p in d["parts"]]
        counts = [p["broken_first"] for p in d["parts"]]
        n, correct = d["n"], d["n"] - d["clean_wrong"]
        return tally(d["model"], d["ensemble"], d["eps"], counts, rows, n, correct, reordered=True)


def tally(
    model: str,
    ensemble: str,
    eps: float,
    counts: Sequence[int],
    parts: Sequence[tuple[str, str, bool]],
    n: int,
    correct: int,
    **extra: Any,
) -> EnsembleBreakdown:
    """The record of ``parts`` (name, implementation, black-box) that broke ``counts`` samples
    first, in order, of the ``correct`` clean-correct ones among ``n``; the robust accuracy
    after each part follows from the running total. ``extra``: ``version``, ``reordered``."""
    standing, rows = correct, []
    for (name, implementation, black), c in zip(parts, counts, strict=True):
        standing -= int(c)
        after = standing / n if n else 0.0
        rows.append(BreakdownPart(name, implementation, bool(black), int(c), after))
    return EnsembleBreakdown(model, ensemble, float(eps), n, correct, tuple(rows), **extra)
