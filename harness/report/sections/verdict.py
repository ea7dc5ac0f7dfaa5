"""``## Verdict``: the report's first screen. Per model, clean accuracy, robust accuracy under
each attack and the per-sample worst case at the headline ε, each with its 95% interval, and
the sanity tally; each hardened model's change against the baseline with its interval; the
caveats beside the numbers they qualify; the robustness curve."""

from __future__ import annotations

from harness import stats
from harness.reading import DASH, WORST_CASE, attack_title, baseline_role, num, table
from harness.report.sections.sanity import not_run
from harness.report.sections.sweep import CURVE_PNG
from harness.report.templates import prose
from harness.results import PASS, RunResult, summary
from harness.verdict import Verdict, change, verdict


def markdown(result: RunResult) -> str:
    v = verdict(result)
    gains, paired = _gains(result, v)
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
        gains=gains,
        paired=paired,
        upper_bound=v.upper_bound,
        untrusted=v.untrusted,
        curve=CURVE_PNG,
        skipped=not_run(result),
        sanity=summary(result.sanity) if result.sanity else "",
    )


def _order(result: RunResult) -> list[str]:
    return [a.name for a in result.attacks] + [WORST_CASE]


def _cell(interval: stats.Interval | None) -> str:
    return DASH if interval is None else interval.text()


def _tally(counts: dict[str, int]) -> str:
    shown = [f"{v} {k}" for k, v in counts.items() if v or k == PASS]
    return ", ".join(shown) if sum(counts.values()) else "not run"


def _gains(result: RunResult, v: Verdict) -> tuple[list[str], bool]:
    """Each hardened model against the baseline on its strongest headline figure (the worst
    case, else its lowest attack): the change, its interval, and whether it is beyond noise;
    and whether every change was paired (per-image flags kept)."""
    base = baseline_role(result)
    if base is None or v.eps is None:
        return [], True
    out, all_paired = [], True
    for m in v.models:
        if m.role == base or m.lowest is None:
            continue
        name = m.lowest[0]
        c = change(result, m.role, result, base, name, v.eps)
        if c is None:
            continue
        all_paired &= c.paired
        word = "beyond noise" if c.significant() else "within noise: not a measured change"
        test = f"; McNemar p = {c.p_value:.2g}" if c.p_value is not None else ""
        out.append(
            f"{m.role} vs baseline, {attack_title(name)}: {c.difference.pp_text()}, {word}{test}"
        )
    return out, all_paired
