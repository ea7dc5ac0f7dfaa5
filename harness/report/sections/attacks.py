"""``## Attacks``: each attack's norm, parameters, sweep strategy and composition."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from harness.reading import DASH, NORMS, params_text
from harness.report.templates import prose
from harness.results import RunResult

SWEEPS = ("one_step", "nested", "project_once", "independent")  # described in sweep_kinds
SHOWN_APART = ("name", "norm", "params", "sweep", "composition", "attack")


def markdown(result: RunResult) -> str:
    return render(result.attacks)


def render(attacks: Sequence[dict[str, Any]]) -> str:
    """The list of attacks as recorded in ``RunResult.attacks`` (also a grid's)."""
    lines = []
    for a in attacks:
        norm = NORMS.get(str(a.get("norm")), str(a.get("norm", DASH)))
        extra = {k: v for k, v in a.items() if k not in SHOWN_APART}
        params = params_text({**a.get("params", {}), **extra}) or "defaults"
        base = f" (attack `{a['attack']}`)" if a.get("attack") not in (None, a.get("name")) else ""
        lines.append(f"- **{a.get('name')}**{base} ({norm}): {params}")
        if a.get("sweep") in SWEEPS:
            lines.append(f"  - sweep: {prose('sweep_kinds', kind=a['sweep'])}")
        lines += [f"  - {part}" for part in a.get("composition", [])]
    return "## Attacks\n\n" + ("\n".join(lines) if lines else "No attacks.")
