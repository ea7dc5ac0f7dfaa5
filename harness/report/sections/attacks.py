"""``## Attacks``: each attack's norm, parameters, sweep strategy and composition."""

from __future__ import annotations

from collections.abc import Sequence

from harness.reading import NORMS, params_text
from harness.report.templates import prose
from harness.results import AttackRecord, RunResult

SWEEPS = ("one_step", "nested", "project_once", "independent")  # described in sweep_kinds


def markdown(result: RunResult) -> str:
    return render(result.attacks)


def render(attacks: Sequence[AttackRecord]) -> str:
    """The list of attacks as recorded in ``RunResult.attacks`` (also a grid's)."""
    lines = []
    for a in attacks:
        norm = NORMS.get(a.norm, a.norm)
        extra = {"naive_of": a.naive_of} if a.naive_of else {}
        params = params_text({**a.params, **extra}) or "defaults"
        base = f" (attack `{a.attack}`)" if a.attack != a.name else ""
        lines.append(f"- **{a.name}**{base} ({norm}): {params}")
        if a.sweep in SWEEPS:
            lines.append(f"  - sweep: {prose('sweep_kinds', kind=a.sweep)}")
        lines += [f"  - {part}" for part in a.composition or []]
    return "## Attacks\n\n" + ("\n".join(lines) if lines else "No attacks.")
