"""Where a run's time went: one ``Timing`` per timed part of its Break and Explain phases.

run.json keeps them under ``provenance["timings_seconds"]["parts"]`` (a list of dicts, the
fields below), next to the phase totals (``data``, ``build``, ``improve``, ``break``,
``explain``, ``total``). Timings never reach results.csv. Plain data, no torch.

The parts (``Timing.part``), stable names:

- the requested work: ``clean``, the model's clean predictions on the test set (what every
  attack starts from); ``attack``, one of the spec's attacks swept over every eps (``name``: its
  key); ``corruptions``, the spec's ``corruptions:`` (asked for like an attack);
- the extras, everything beyond the requested work: ``certificate`` (a certifying defence),
  ``sanity.gradients``, ``sanity.outputs`` (repeated forward passes), ``sanity.dlr_gradient``,
  ``sanity.unbounded_pgd`` (the sanity probes), ``weights`` (weight analysis), ``examples``
  (example grids), ``evasion``, ``probe`` (``name``: the spec's probe), ``gradcam``, ``corruption_gradcam`` (Grad-CAM under the worst corruption) and ``attention``
  (attention shift).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

# The requested work: the spec's attacks and corruptions; every other part is an extra.
REQUESTED_PARTS = ("clean", "attack", "corruptions")
EXTRA_PARTS = (
    "certificate",
    "sanity.gradients",
    "sanity.outputs",
    "sanity.dlr_gradient",
    "sanity.unbounded_pgd",
    "weights",
    "examples",
    "evasion",
    "probe",
    "gradcam",
    "corruption_gradcam",
    "attention",
)
PARTS = REQUESTED_PARTS + EXTRA_PARTS


@dataclass(frozen=True)
class Timing:
    """Wall-clock seconds of one part of a run, for one model ("" when it covers them all)."""

    part: str  # one of PARTS
    model: str  # the model's role; "" for a part timed over every model at once
    seconds: float
    samples: int | None = None  # test images the part worked on (None: not per image)
    name: str = ""  # the attack's or probe's key (parts "attack" and "probe")

    @property
    def is_requested(self) -> bool:
        """Part of the requested work (attacks, clean predictions, corruptions), not an extra."""
        return self.part in REQUESTED_PARTS

    @property
    def label(self) -> str:
        """How the report names the part: the part, with its attack's or probe's key."""
        return f"{self.part} {self.name}" if self.name else self.part

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Timing:
        return cls(**d)


def parts_of(provenance: dict[str, Any]) -> list[Timing]:
    """The timed parts recorded in a run's provenance (none for a run made before they were)."""
    timings = provenance.get("timings_seconds") or {}
    return [Timing.from_dict(d) for d in timings.get("parts", [])]


def requested_seconds(parts: Iterable[Timing]) -> float:
    """Seconds of the requested work (attacks, clean predictions, corruptions), every model."""
    return sum(t.seconds for t in parts if t.is_requested)


def extras(parts: Iterable[Timing]) -> dict[str, tuple[float, int | None]]:
    """Extra (by label, in first-seen order) -> (seconds over every model, most samples any
    model's run of it used)."""
    out: dict[str, tuple[float, int | None]] = {}
    for t in parts:
        if t.is_requested:
            continue
        seconds, samples = out.get(t.label, (0.0, None))
        most = max((s for s in (samples, t.samples) if s is not None), default=None)
        out[t.label] = (seconds + t.seconds, most)
    return out
