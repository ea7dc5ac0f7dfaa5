"""``harness gate``: fail a pipeline when a model got less robust.

A run is checked against a reference run (``--against``) and against absolute floors
(``--require``). A figure *regressed* when it fell by more than noise: the 95% interval of the
change lies wholly below zero (and McNemar's p < 0.05 when paired), or, with ``--tolerance``,
when it fell by more than that many percentage points. The change is paired image by image
(``harness.verdict.change``) when both runs kept per-image flags over the same test images,
else unpaired (wider). Compared are the figures both runs have:
each model role's clean accuracy and robust accuracy under each attack at each ε.

A floor reads ``METRIC[ATTACK, EPS] OP VALUE`` or ``METRIC[ATTACK, EPS, MODEL] OP VALUE``
(``robust_accuracy[pgd, 8/255] >= 0.40``; ``clean_accuracy >= 0.9``,
``clean_accuracy[baseline] >= 0.9``); without a model it holds for every model of the run. It is
judged on the measured value, shown with its interval.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import asdict, dataclass
from typing import Any

from harness import reproducibility, stats
from harness.errors import HarnessError
from harness.reading import attack_names, eps_values, index, num, roles, test_images
from harness.results import RunResult
from harness.results.epsilons import eps_position
from harness.spec.checks import parse_float
from harness.verdict import change

METRICS = ("clean_accuracy", "robust_accuracy")
OPERATORS = {
    ">=": lambda a, b: a >= b,
    ">": lambda a, b: a > b,
    "<=": lambda a, b: a <= b,
    "<": lambda a, b: a < b,
}
_FLOOR = re.compile(r"^\s*(\w+)\s*(?:\[([^\]]*)\])?\s*(>=|<=|>|<)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Requirement:
    metric: str
    attack: str  # "none" for clean accuracy
    eps: float
    model: str | None  # None: every model of the run
    op: str
    value: float
    text: str  # as the user wrote it


@dataclass(frozen=True)
class Finding:
    """One figure checked: against the reference (``before`` set) or a floor (``required``)."""

    model: str
    attack: str
    eps: float
    metric: str
    now: stats.Interval
    before: stats.Interval | None = None
    change: stats.Interval | None = None
    required: str = ""  # the floor, as written
    failed: bool = False
    paired: bool = False  # the change was judged image by image (McNemar, paired interval)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def parse_requirement(text: str) -> Requirement:
    """A ``--require`` expression; a malformed one is one line naming it."""
    found = _FLOOR.match(text)
    if not found or found.group(1) not in METRICS:
        raise HarnessError(
            f"--require {text!r}: expected METRIC[ATTACK, EPS] OP VALUE with METRIC one of "
            f"{', '.join(METRICS)} and OP one of {', '.join(OPERATORS)} "
            "(e.g. 'robust_accuracy[pgd, 8/255] >= 0.40', 'clean_accuracy >= 0.9')"
        )
    metric, inside, op, value = found.groups()
    parts = [p.strip() for p in (inside or "").split(",") if p.strip()]
    bound = parse_float(value, f"--require {text!r}: the value")
    if not 0.0 <= bound <= 1.0:  # NaN fails this too
        raise HarnessError(
            f"--require {text!r}: the value is an accuracy as a fraction in [0, 1] "
            f"(0.30 for 30%), got {value}"
        )
    if metric == "clean_accuracy":
        if len(parts) > 1:
            raise HarnessError(f"--require {text!r}: clean_accuracy takes [MODEL] at most")
        return Requirement(metric, "none", 0.0, parts[0] if parts else None, op, bound, text)
    if len(parts) not in (2, 3):
        raise HarnessError(f"--require {text!r}: robust_accuracy needs [ATTACK, EPS(, MODEL)]")
    eps = parse_float(parts[1], f"--require {text!r}: ε")
    model = parts[2] if len(parts) == 3 else None
    return Requirement(metric, parts[0], eps, model, op, bound, text)


def against(run: RunResult, reference: RunResult, tolerance: float | None = None) -> list[Finding]:
    """Every figure both runs have, the run's against the reference's: paired image by image
    when both kept per-image flags over the same test images, else unpaired."""
    n, n_ref = int(run.data.n_test or 0), int(reference.data.n_test or 0)
    now, before = index(run.measurements), index(reference.measurements)
    out = []
    for key in _figures(run):
        if key not in before:
            continue
        model, attack, eps, metric = key
        c = change(run, model, reference, model, attack, eps)
        if c is None:
            continue
        if tolerance is None:
            failed = c.significant() and c.difference.value < 0
        else:
            failed = c.difference.value < -tolerance / 100 - 1e-12
        now_i = stats.wilson(stats.count(now[key], n), n)
        before_i = stats.wilson(stats.count(before[key], n_ref), n_ref)
        out.append(
            Finding(model, attack, eps, metric, now_i, before_i, c.difference, "", failed, c.paired)
        )
    return out


def floors(run: RunResult, requirements: list[Requirement]) -> list[Finding]:
    """Each floor on each model it names; a floor on a figure the run lacks is bad input."""
    n, now, out = int(run.data.n_test or 0), index(run.measurements), []
    for r in requirements:
        models = [r.model] if r.model else roles(run)
        for model in models:
            key = _key(run, model, r)
            if key not in now:
                raise HarnessError(f"--require {r.text!r}: {_missing(run, model, r)}")
            value = now[key]
            found = Finding(
                model, r.attack, key[2], r.metric, stats.wilson(stats.count(value, n), n)
            )
            out.append(_judged(found, r, value))
    return out


def hardware_note(run: RunResult, reference: RunResult) -> str:
    found = reproducibility.among([reference.provenance, run.provenance])
    return "different hardware or kernels (" + "; ".join(found) + ")" if found else ""


def training_note(run: RunResult, reference: RunResult) -> str:
    """A sentence when the two runs trained from other seeds or specs: the intervals cover which
    test images were drawn, not how training would vary."""
    if reference.spec.get("card"):
        return ""
    a, b = run.provenance.get("spec_hash"), reference.provenance.get("spec_hash")
    differ = [f"seed ({reference.seed} vs {run.seed})"] if run.seed != reference.seed else []
    differ += [f"spec ({b} vs {a})"] if a != b else []
    if not differ:
        return ""
    return (
        f"the runs differ in {' and '.join(differ)}: the intervals cover the test images, not "
        "training randomness, so a retrained model can move beyond them; --tolerance sets a "
        "margin you accept"
    )


def card_note(reference: RunResult) -> str:
    card = reference.spec.get("card")
    if not card:
        return ""
    return (
        f"against a card: only its headline figures (ε = {num(card['eps'])}), unpaired "
        "(a card keeps no per-image flags)"
    )


def images_note(run: RunResult, reference: RunResult) -> str:
    """A plain sentence when the two runs did not evaluate the same test set."""
    a, b = test_images(run), test_images(reference)
    if a == b:
        return ""
    said = [
        f"{d}, {n} images" + (f", subset seed {s}" if s is not None else "") for d, n, s in (b, a)
    ]
    return (
        f"not paired: the runs evaluated different test images ({said[0]} vs {said[1]}); "
        "each change is judged with the unpaired interval"
    )


def judged(failed: list[Finding], tolerance: float | None) -> str:
    """How the failures were judged, in words ("95% intervals, paired; below a floor")."""
    changes = [f for f in failed if f.change is not None]
    parts = ["below a floor"] if len(changes) < len(failed) else []
    if changes and tolerance is not None:
        parts.insert(0, f"fell by more than {tolerance:g} pp")
    elif changes:
        paired = "paired" if all(f.paired for f in changes) else "unpaired where flags were missing"
        parts.insert(0, f"95% intervals, {paired}")
    return "; ".join(parts)


def table(findings: list[Finding]) -> list[list[str]]:
    """Rows for the failures' one-screen table."""
    rows = []
    for f in findings:
        what = f.required or (f"was {f.before.text()}" if f.before else "")
        change = f.change.pp_text() if f.change else ""
        rows.append([f.model, f.attack, num(f.eps), f.metric, f.now.text(), what, change])
    return rows


HEADER = ["model", "attack", "ε", "metric", "now", "reference / floor", "change"]


def _figures(run: RunResult) -> list[tuple[str, str, float, str]]:
    keys = [(m, "none", 0.0, "clean_accuracy") for m in roles(run)]
    for attack in attack_names(run):
        for eps in eps_values(run.measurements, attack):
            keys += [(m, attack, eps, "robust_accuracy") for m in roles(run) if eps > 0]
    return keys


def _key(run: RunResult, model: str, r: Requirement) -> tuple[str, str, float, str]:
    """The measurement ``r`` names for ``model`` (ε matched to the swept value)."""
    if r.metric == "clean_accuracy":
        return model, "none", 0.0, "clean_accuracy"
    swept = eps_values(run.measurements, r.attack)
    i = eps_position(swept, r.eps)
    eps = r.eps if i is None else swept[i]
    return model, r.attack, eps, r.metric


def _missing(run: RunResult, model: str, r: Requirement) -> str:
    if model not in roles(run):
        return f"the run has no model {model!r} (it has {', '.join(roles(run))})"
    if r.attack not in attack_names(run):
        return f"the run has no attack {r.attack!r} (it has {', '.join(attack_names(run))})"
    swept = ", ".join(num(e) for e in eps_values(run.measurements, r.attack))
    return f"{r.attack} was not run at ε = {num(r.eps)} (swept: {swept})"


def _judged(found: Finding, r: Requirement, value: float) -> Finding:
    ok = OPERATORS[r.op](value, r.value)
    return dataclasses.replace(found, required=f"{r.op} {num(r.value)}", failed=not ok)
