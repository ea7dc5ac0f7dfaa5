"""``## Where the time went``: the requested work (attacks, corruptions) against each extra
analysis, with each extra's share of the requested work's time (``harness.results.timings``)."""

from __future__ import annotations

from collections.abc import Sequence

from harness.reading import DASH, pct, table
from harness.report.templates import prose
from harness.results import RunResult
from harness.results.timings import Timing, extras, parts_of, requested_seconds

HEADER = ["part", "model", "samples", "seconds", "share of the requested work's time", "CPU s"]
PHASES = ("break", "explain")  # the phases whose time is split into parts


def applies(result: RunResult) -> bool:
    return bool(parts_of(result.provenance))


def markdown(result: RunResult) -> str:
    parts = parts_of(result.provenance)
    attacks, spent = requested_seconds(parts), extras(parts)
    cpu = extras(parts, cpu=True) if any(t.cpu_seconds is not None for t in parts) else {}
    extra = sum(seconds for seconds, _ in spent.values())
    phases = result.provenance.get("timings_seconds", {})
    rest = sum(phases.get(p, 0.0) for p in PHASES) - attacks - extra
    rows = [_attack_row(t) for t in parts if t.is_requested]
    rows.append(_total("**requested work**", attacks, pct(1.0) if attacks else DASH, cpu, parts))
    rows += [
        (label, "each", _n(n), _s(s), _share(s, attacks), _cpu(cpu.get(label, (None,))[0]))
        for label, (s, n) in spent.items()
    ]
    extra_cpu = sum(c for c, _ in cpu.values()) if cpu else None
    rows.append(("**extras**", "all", "", _s(extra), _share(extra, attacks), _cpu(extra_cpu)))
    rows.append(
        ("not attributed", "all", "", _s(max(rest, 0.0)), _share(max(rest, 0.0), attacks), "")
    )
    return prose(
        "timings",
        table=table(HEADER, rows),
        attacks=_s(attacks),
        extra=_s(extra),
        share=_share(extra, attacks),
        phases=" and ".join(f"`{p}`" for p in PHASES),
    )


def _total(label: str, seconds: float, share: str, cpu: dict, parts: list[Timing]) -> Sequence[str]:
    spent = requested_seconds(parts, cpu=True) if cpu else None
    return (label, "all", "", _s(seconds), share, _cpu(spent))


def _attack_row(t: Timing) -> Sequence[str]:
    return (t.label, t.model, _n(t.samples), _s(t.seconds), "", _cpu(t.cpu_seconds))


def _s(seconds: float) -> str:
    return f"{seconds:.2f}"


def _cpu(seconds: float | None) -> str:
    return DASH if seconds is None else _s(seconds)


def _n(samples: int | None) -> str:
    return DASH if samples is None else f"{samples:,}"


def _share(seconds: float, attacks: float) -> str:
    return pct(seconds / attacks) if attacks > 0 else DASH
