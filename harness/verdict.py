"""The answer a run gives, with its uncertainty: per model, clean accuracy and robust accuracy at
one headline ε (each attack, the per-sample worst case), each with its 95% interval, the sanity
tally, and the caveats that qualify them. Read by the report's verdict, the card and the gate.

The headline ε is chosen by the first rule that applies (``headline_eps``):
1. the spec's ``headline:``;
2. the training ε of the first defence that declares one, when swept;
3. the dataset's conventional ε (``harness.datasets.base.conventional_eps``), when swept;
4. the middle of the sweep's nonzero ε.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness import stats
from harness.errors import HarnessError
from harness.reading import (
    WORST_CASE,
    attack_names,
    clean_accuracy,
    eps_values,
    index,
    num,
    roles,
    test_images,
)
from harness.results import FAIL, STATUSES, RunResult
from harness.results.epsilons import eps_position
from harness.results.flags import CLEAN, find
from harness.stats import Interval


@dataclass(frozen=True)
class ModelVerdict:
    role: str
    clean: Interval
    robust: dict[str, Interval]  # attack -> robust accuracy at the headline ε (all samples)
    worst: Interval | None  # the per-sample worst case over the untargeted attacks
    sanity: dict[str, int]  # PASS / WARN / FAIL -> count

    @property
    def lowest(self) -> tuple[str, Interval] | None:
        """The strongest evidence: the worst case when there is one, else the lowest attack."""
        if self.worst is not None:
            return WORST_CASE, self.worst
        if not self.robust:
            return None
        return min(self.robust.items(), key=lambda kv: kv[1].value)


@dataclass(frozen=True)
class Verdict:
    n: int  # test images every figure is counted over
    eps: float | None  # the headline ε (None: the run swept no ε > 0)
    rule: str  # which rule chose it, in words
    models: list[ModelVerdict]
    upper_bound: str = ""  # why the robust accuracies are upper bounds, when they are
    untrusted: list[str] = field(default_factory=list)  # roles with a sanity FAIL


def verdict(result: RunResult) -> Verdict:
    """The verdict of a run read back (or just made)."""
    n = int(result.data.n_test or 0)
    eps, rule = headline_eps(result)
    models = [_model(result, role, eps, n) for role in roles(result)]
    untrusted = [m.role for m in models if m.sanity.get(FAIL)]
    return Verdict(n, eps, rule, models, upper_bound(result), untrusted)


def summary_lines(result: RunResult) -> list[str]:
    """The verdict in a few plain lines (a terminal, a notebook): per model clean accuracy,
    robust accuracy per attack and the worst case at the headline ε with 95% intervals, and the
    sanity tally; then why the numbers are upper bounds or not to be trusted, when they are."""
    v = verdict(result)
    where = "no ε > 0 swept" if v.eps is None else f"ε = {num(v.eps)} ({v.rule})"
    lines = [f"robust accuracy at {where}; {v.n} test images, 95% intervals:"]
    arch = {m.role: m.arch for m in result.models}
    w_role = max((len(m.role) for m in v.models), default=0)
    w_arch = max((len(arch.get(m.role, "")) for m in v.models), default=0)
    for m in v.models:
        cells = [f"clean {m.clean.text()}"]
        cells += [f"{a} {i.text()}" for a, i in m.robust.items()]
        cells += (
            [f"worst case {m.worst.text()}"] if m.worst is not None and len(m.robust) > 1 else []
        )
        tally = ", ".join(f"{k} {s}" for s, k in m.sanity.items() if k)
        cells += [f"sanity {tally or 'not run'}"]
        name = f"{m.role:<{w_role}}  {arch.get(m.role, ''):<{w_arch}}"
        lines.append(f"  {name}  " + "  ".join(cells))
    if v.untrusted:
        lines.append(f"  not trustworthy: a sanity check FAILed for {', '.join(v.untrusted)}")
    if v.upper_bound:
        lines.append(f"  note: {v.upper_bound}")
    return lines


def swept(result: RunResult) -> list[float]:
    """Every nonzero ε some attack was run at, ascending."""
    found = {e for a in attack_names(result) for e in eps_values(result.measurements, a)}
    return sorted(e for e in found if e > 0)


def headline_eps(result: RunResult) -> tuple[float | None, str]:
    """The headline ε and the rule that chose it (module docstring)."""
    grid = swept(result)
    if not grid:
        return None, "no ε > 0 was swept"
    given = result.spec.get("headline")
    if given is not None:
        return _nearest(grid, given), "the spec's `headline:`"
    for d in (m.defence for m in result.models if m.defence is not None):
        trained = d.params.get("eps")
        if isinstance(trained, int | float) and (e := _on(grid, trained)) is not None:
            return e, f"the training ε of defence `{d.label}`, {d.name}"
    conventional = _conventional(result.data.name)
    if conventional is not None and (e := _on(grid, conventional)) is not None:
        return e, f"the conventional ε for {result.data.name}"
    return grid[(len(grid) - 1) // 2], "the middle of the sweep"


def upper_bound(result: RunResult) -> str:
    """Why robust accuracy here can only overstate robustness ("" when an iterative attack or
    an ensemble was run)."""
    untargeted = [a for a in result.attacks if not a.targeted and not a.naive_of]
    if not untargeted:
        return ""
    if all(a.sweep == "one_step" for a in untargeted):
        names = ", ".join(sorted({a.attack for a in untargeted}))
        return (
            f"only one-step attacks ({names}) were run: the robust accuracies are upper bounds; "
            "an iterative attack (PGD) or AutoAttack finds more adversarial examples"
        )
    if len(untargeted) == 1 and untargeted[0].composition is None:
        return (
            f"a single attack ({untargeted[0].attack}) was run: its robust accuracy is an "
            "upper bound; AutoAttack is the standard check"
        )
    return ""


@dataclass(frozen=True)
class Change:
    """Model A's figure minus model B's, with its 95% interval; paired (McNemar's p) when both
    kept per-image flags over the same images, else unpaired (p is None)."""

    difference: Interval
    paired: bool
    p_value: float | None = None

    def significant(self) -> bool:
        p_ok = self.p_value is None or self.p_value < 0.05
        return self.difference.excludes_zero() and p_ok


def change(
    a: RunResult, a_role: str, b: RunResult, b_role: str, attack: str, eps: float
) -> Change | None:
    """A's accuracy (``attack`` "none": clean) minus B's at ``eps``; None when either lacks it."""
    metric = "clean_accuracy" if attack == CLEAN else "robust_accuracy"
    at = 0.0 if attack == CLEAN else eps
    va, vb = (
        index(r.measurements).get((role, attack, at, metric))
        for r, role in ((a, a_role), (b, b_role))
    )
    if va is None or vb is None:
        return None
    fa, fb = find(a.flags, a_role, attack, eps), find(b.flags, b_role, attack, eps)
    same = test_images(a) == test_images(b)
    if same and fa is not None and fb is not None and len(fa) == len(fb):
        p = stats.paired_flags(fa, fb)
        return Change(p.difference, True, p.p_value)
    na, nb = int(a.data.n_test or 0), int(b.data.n_test or 0)
    diff = stats.unpaired(stats.count(va, na), na, stats.count(vb, nb), nb)
    return Change(diff, False)


def _model(result: RunResult, role: str, eps: float | None, n: int) -> ModelVerdict:
    idx = index(result.measurements)
    clean = stats.share(clean_accuracy(result, role), n)
    robust: dict[str, Interval] = {}
    worst = None
    for attack in attack_names(result):
        value = None if eps is None else idx.get((role, attack, eps, "robust_accuracy"))
        if value is None:
            continue
        interval = stats.share(value, n)
        if attack == WORST_CASE:
            worst = interval
        else:
            robust[attack] = interval
    tally = dict.fromkeys(STATUSES, 0)
    for c in result.sanity:
        if c.model == role:
            tally[c.status] = tally.get(c.status, 0) + 1
    return ModelVerdict(role, clean, robust, worst, tally)


def _on(grid: list[float], eps: float) -> float | None:
    """The swept ε equal to ``eps`` (to rounding), else None."""
    i = eps_position(grid, eps)
    return None if i is None else grid[i]


def _nearest(grid: list[float], eps: float) -> float:
    return min(grid, key=lambda e: abs(e - eps))


def _conventional(name: str) -> float | None:
    from harness.datasets import DATASETS

    try:
        loader = DATASETS.get(name)
    except HarnessError:  # a dataset this version does not know (a run from elsewhere)
        return None
    return getattr(loader, "conventional_eps", None)
