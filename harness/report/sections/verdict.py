"""``## Verdict``: the report's first screen. Per model, clean accuracy, robust accuracy under
each attack and the per-sample worst case at the headline ε, each with its 95% interval, and
the sanity tally; each hardened model's change against the baseline with its interval; the
caveats beside the numbers they qualify; the robustness curve."""

from __future__ import annotations

from harness import stats
from harness.reading import DASH, WORST_CASE, attack_title, num, table
from harness.report.sections.sanity import not_run
from harness.report.sections.sweep import CURVE_PNG
from harness.report.templates import prose
from harness.results import RunResult
from harness.verdict import Verdict, verdict


def markdown(result: RunResult) -> str:
    v = verdict(result)
    attacks = sorted({a for m in v.models for a in m.robust}, key=list(_order(result)).index)
    header = ["model", "clean accuracy", *(attack_title(a) for a in attacks)]
    has_worst = any(m.worst is not None for m in v.models)
    header += ["worst case (per sample)"] * has_worst + ["sanity checks"]
    rows = []
    for m in v.models:
        cells = [m.role, m.clean.text(), *(_cell(m.robust.get(a)) for a in attacks)]
        cells += [_cell(m.worst)] * has_worst + [_tally(m.sanity)]
        rows.append(cells)
    return prose(
        "verdict",
        eps=num(v.eps) if v.eps is not None else None,
        rule=v.rule,
        n=v.n,
        level=stats.LEVEL,
        table=table(header, rows),
        gains=_gains(v),
        upper_bound=v.upper_bound,
        untrusted=v.untrusted,
        curve=CURVE_PNG,
        skipped=not_run(result),
    )


def _order(result: RunResult) -> list[str]:
    return [a.name for a in result.attacks] + [WORST_CASE]


def _cell(interval: stats.Interval | None) -> str:
    return DASH if interval is None else interval.text()


def _tally(counts: dict[str, int]) -> str:
    shown = [f"{v} {k}" for k, v in counts.items() if v or k == "PASS"]
    return ", ".join(shown) if sum(counts.values()) else "not run"


def _gains(v: Verdict) -> list[str]:
    """Each hardened model against the baseline on its lowest headline figure: the change and
    its interval. The images are the same, but per-image flags are not kept in the run folder, so
    the interval is the unpaired one (wider than the paired one would be)."""
    by_role = {m.role: m for m in v.models}
    base = by_role.get("baseline")
    if base is None or base.lowest is None:
        return []
    out = []
    for m in v.models:
        if m is base or m.lowest is None:
            continue
        name, _ = m.lowest
        theirs = m.robust.get(name) if name != WORST_CASE else m.worst
        ref = base.robust.get(name) if name != WORST_CASE else base.worst
        if theirs is None or ref is None:
            continue
        k1, k2 = stats.count(theirs.value, v.n), stats.count(ref.value, v.n)
        diff = stats.unpaired(k1, v.n, k2, v.n)
        word = "beyond noise" if diff.excludes_zero() else "within noise: not a measured change"
        out.append(f"{m.role} vs baseline, {attack_title(name)}: {diff.pp_text()}, {word}")
    return out
