"""Where a run's time went: one ``Timing`` per timed part of its Break and Explain phases.

run.json keeps them under ``provenance["timings_seconds"]["parts"]`` (a list of dicts, the
fields below), next to the phase totals (``data``, ``build``, ``improve``, ``break``,
``explain``, ``total``). Timings never reach results.csv. Plain data, no torch.

The parts (``Timing.part``), stable names:

- the requested work: ``clean``, the model's clean predictions on the test set (what every
  attack starts from); ``attack``, one of the spec's attacks swept over every eps (``name``: its
  key); ``corruptions``, the spec's ``corruptions:`` (asked for like an attack);
- the extras, everything beyond the requested work: ``certificate`` (a certifying defence),
  the sanity probes: ``sanity.randomness`` (repeated forward passes on a few of the probed
  samples), ``sanity.dlr_gradient`` and ``sanity.unbounded_pgd``, whose first step's gradient
  and outputs are the gradient and output checks' (in older runs their own passes,
  ``sanity.gradients`` and ``sanity.outputs``); ``weights`` (weight analysis), ``examples``
  (example grids), ``evasion``, ``probe`` (``name``: the spec's probe), ``gradcam``, ``corruption_gradcam`` (Grad-CAM under the worst corruption) and ``attention``
  (attention shift).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from typing import Any

# The requested work: the spec's attacks and corruptions; every other part is an extra.
REQUESTED_PARTS = ("clean", "attack", "corruptions")
EXTRA_PARTS = (
    "certificate",
    "sanity.gradients",
    "sanity.outputs",
    "sanity.randomness",
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
    """Wall-clock and CPU seconds of one part of a run, for one model ("" when it covers them
    all). CPU seconds (user + system of the whole process while the part ran) barely move with
    the machine's load; wall-clock seconds do."""

    part: str  # one of PARTS
    model: str  # the model's role; "" for a part timed over every model at once
    seconds: float
    samples: int | None = None  # test images the part worked on (None: not per image)
    name: str = ""  # the attack's or probe's key (parts "attack" and "probe")
    cpu_seconds: float | None = None  # None: timed before CPU time was recorded

    def rounded(self) -> Timing:
        """The same, seconds rounded to milliseconds (as run.json keeps them)."""
        cpu = None if self.cpu_seconds is None else round(self.cpu_seconds, 3)
        return replace(self, seconds=round(self.seconds, 3), cpu_seconds=cpu)

    def plus(self, other: Timing) -> Timing:
        """This part entered again: seconds add up, samples is the larger count."""
        counts = (self.samples, other.samples)
        samples = max((s for s in counts if s is not None), default=None)
        cpu = [c for c in (self.cpu_seconds, other.cpu_seconds) if c is not None]
        total = replace(self, seconds=self.seconds + other.seconds, samples=samples)
        return replace(total, cpu_seconds=sum(cpu) if cpu else None).rounded()

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


def requested_seconds(parts: Iterable[Timing], cpu: bool = False) -> float:
    """Seconds of the requested work (attacks, clean predictions, corruptions), every model;
    ``cpu``: CPU seconds (0 for a part timed without them)."""
    return sum(_seconds(t, cpu) for t in parts if t.is_requested)


def _seconds(t: Timing, cpu: bool) -> float:
    return (t.cpu_seconds or 0.0) if cpu else t.seconds


def extras(parts: Iterable[Timing], cpu: bool = False) -> dict[str, tuple[float, int | None]]:
    """Extra (by label, in first-seen order) -> (seconds over every model, most samples any
    model's run of it used); ``cpu``: CPU seconds."""
    out: dict[str, tuple[float, int | None]] = {}
    for t in parts:
        if t.is_requested:
            continue
        seconds, samples = out.get(t.label, (0.0, None))
        most = max((s for s in (samples, t.samples) if s is not None), default=None)
        out[t.label] = (seconds + _seconds(t, cpu), most)
    return out
