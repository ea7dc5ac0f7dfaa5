"""Evaluation sanity checks (Carlini et al. 2019, "On Evaluating Adversarial Robustness", §5).

A robustness number is only as good as the attack behind it. These checks look for the usual
signs of a broken evaluation or of gradient masking, each graded PASS / WARN / FAIL with one
line saying which numbers decided it (and, first, that there is a trained model to evaluate):

- ``harness.model_probe.probe_model`` measures a live model once (a few hundred samples): input
  gradients that are all zero or not finite, probabilities instead of logits out,
  non-deterministic outputs, and the accuracy left by an *unbounded* PGD (eps = 1 covers the
  whole [0, 1] pixel range).
- ``harness.probe_checks`` grades the probes (gradients, outputs and randomness as fra31's
  AutoAttack flags them); ``harness.masking`` counts, per sample, what black-box attacks broke
  that every white-box attack left (the reference's "Square improves the evaluation" flag).
- ``checks`` grades those probes together with the run's measurements: clean accuracy clearly
  above chance (an untrained model's robustness numbers mean nothing), iterative attacks at least
  as strong as FGSM, robust accuracy not rising with eps, the unbounded attack reaching chance,
  more iterations or restarts not more robust, black-box attacks not beating white-box ones.
  Which attacks each check compares comes from their declared capabilities
  (``harness.attacks.select``), never from their names.

A check with nothing to compare (no FGSM in the run, no black-box attack, no pair of the same
attack with different effort, no probe for a model) yields no ``Check`` at all.

How a run calls it (``harness.evaluate``)::

    probes[t.role] = probe_model(t.model, clf, x_test, y_test)     # per model
    found = checks(measurements, attack_records, probes, num_classes, breakdowns)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from harness import masking, overfitting
from harness.attacks.base import AttackDef
from harness.attacks.select import black_box, eps_bounded_white_box, iterative_white_box, one_step
from harness.attacks.select import recorded as declared
from harness.probe_checks import (
    DETERMINISM,
    GRADIENTS,
    LOGITS,
    TRAINED,
    UNBOUNDED,
    probe_checks,
)
from harness.probe_checks import pct as _pct
from harness.probe_checks import pp as _pp
from harness.results.checks import FAIL, PASS, SKIP, WARN, Check, ModelProbe
from harness.results.checks import grade as _grade

if TYPE_CHECKING:
    from harness.results import AttackRecord, EnsembleBreakdown, EpochStats, Measurement


__all__ = [  # the check names and statuses tests and callers import from here, and ``checks``
    "BLACK_BOX",
    "BLACK_BOX_SAMPLES",
    "DETERMINISM",
    "EFFORT",
    "FAIL",
    "GRADIENTS",
    "ITERATIVE",
    "LOGITS",
    "MONOTONE",
    "NAMES",
    "OVERFITTING",
    "PASS",
    "SKIP",
    "TRAINED",
    "UNBOUNDED",
    "WARN",
    "checks",
]

# Check names, in the order ``checks`` reports them for each model.
ITERATIVE = "iterative_vs_one_step"
MONOTONE = "monotone_in_eps"
EFFORT = "more_effort_not_more_robust"
BLACK_BOX = "black_box_not_stronger"
OVERFITTING = overfitting.NAME  # FGSM-based training: PGD accuracy collapsing (Wong et al.)
BLACK_BOX_SAMPLES = masking.NAME  # per sample: black-box attacks break nothing white-box left
NAMES = (
    TRAINED,
    ITERATIVE,
    MONOTONE,
    UNBOUNDED,
    EFFORT,
    BLACK_BOX,
    BLACK_BOX_SAMPLES,
    GRADIENTS,
    LOGITS,
    DETERMINISM,
    OVERFITTING,
)

# Tolerances, fractions of the test set (1 pp = 0.01): (largest PASS, largest WARN).
ITERATIVE_TOL = (0.01, 0.03)
MONOTONE_TOL = (0.0, 0.01)  # any rise is suspicious; more than 1 pp is more than noise
EFFORT_TOL = (0.01, 0.03)
BLACK_BOX_TOL = (0.01, 0.05)

# Which attacks each check compares comes from their declared capabilities (AttackDef, see
# harness.attacks.select): iterative white-box vs one-step of the same norm, black-box vs the
# best eps-bounded white-box, and two runs of one attack differing only in its ``effort``.
NOISE_KEYS = {"batch_size", "seed"}  # may differ between two runs of the same attack

# ---------------------------------------------------------------- grading


def checks(
    measurements: Sequence[Measurement],
    attacks: Sequence[AttackRecord],
    probes: dict[str, ModelProbe],
    num_classes: int,
    breaks: Sequence[EnsembleBreakdown] = (),
    histories: Mapping[str, Sequence[EpochStats]] | None = None,
) -> list[Check]:
    """Every applicable check for every model in ``measurements`` or ``probes``, in NAMES order.

    ``attacks``: the run's attack records (``name``, ``attack`` (registered name), ``norm``,
    ``params``); measurements are matched to them by ``name``. ``breaks``: what ordered attacks
    broke per sample (``harness.masking``), graded after the curve-level black-box check.
    ``histories``: each model's training table, graded for catastrophic overfitting when it
    records PGD accuracy per epoch (``harness.overfitting``)."""
    histories = histories or {}
    found = [m.model for m in measurements] + list(probes) + [b.model for b in breaks]
    found += [role for role, history in histories.items() if history]
    models = list(dict.fromkeys(found))
    out: list[Check] = []
    for model in models:
        curves = _curves(measurements, model)
        present = [a for a in attacks if a.name in curves]
        out += probe_checks(model, probes.get(model), num_classes, TRAINED)
        out += _iterative(model, curves, present)
        out += _monotone(model, curves)
        out += probe_checks(model, probes.get(model), num_classes, UNBOUNDED)
        out += _effort(model, curves, present)
        out += _black_box(model, curves, present)
        out += masking.grade([b for b in breaks if b.model == model])
        out += probe_checks(model, probes.get(model), num_classes, GRADIENTS, LOGITS, DETERMINISM)
        out += overfitting.grade(model, histories.get(model, []))
    return out


Curve = dict[float, float]  # eps -> robust accuracy


def _curves(measurements: Sequence[Measurement], model: str) -> dict[str, Curve]:
    """Robust accuracy per attack name for one model (eps 0 included)."""
    curves: dict[str, Curve] = {}
    for m in measurements:
        if m.model == model and m.metric == "robust_accuracy" and m.attack != "none":
            curves.setdefault(m.attack, {})[m.eps] = m.value
    return curves


def _selected(
    attacks: Sequence[AttackRecord], which: Callable[[AttackDef], bool]
) -> list[AttackRecord]:
    """The untargeted attack records whose registered declaration satisfies ``which``."""
    return [a for a in attacks if not a.targeted and (d := declared(a)) is not None and which(d)]


def _effort_keys(record: AttackRecord) -> tuple[str, ...]:
    """The record's attack's declared effort parameters (none if it is no longer registered)."""
    d = declared(record)
    return d.effort if d is not None else ()


def _worst_excess(high: Curve, low: Curve) -> tuple[float, float] | None:
    """(eps, high - low) at the eps > 0 where high exceeds low most; None if no common eps."""
    common = sorted(e for e in high.keys() & low.keys() if e > 0)
    if not common:
        return None
    eps = max(common, key=lambda e: high[e] - low[e])
    return eps, high[eps] - low[eps]


def _compare(
    model: str, name: str, curves: dict[str, Curve], high: str, low: str, tol, hint: str
) -> list[Check]:
    """One check that curve ``high`` stays below curve ``low`` + tolerance at every eps."""
    found = _worst_excess(curves[high], curves[low])
    if found is None:
        return []
    eps, excess = found
    status = _grade(excess, tol)
    why = (
        f"{high} {_pct(curves[high][eps])} vs {low} {_pct(curves[low][eps])} robust at eps "
        f"{eps:g} ({_pp(excess)}; PASS <= {_pp(tol[0])}, WARN <= {_pp(tol[1])})"
    )
    return [Check(name, status, model, why + (f": {hint}" if status != PASS else ""))]


def _iterative(
    model: str, curves: dict[str, Curve], attacks: Sequence[AttackRecord]
) -> list[Check]:
    """Check 1: iterative white-box attacks (PGD, AutoAttack) never leave more accuracy than a
    one-step attack (FGSM) of the same norm."""
    out = []
    for fgsm in _selected(attacks, one_step):
        for it in _selected(attacks, iterative_white_box):
            if it.norm == fgsm.norm:
                hint = "an iterative attack weaker than one step: too few steps or masked gradients"
                out += _compare(model, ITERATIVE, curves, it.name, fgsm.name, ITERATIVE_TOL, hint)
    return out


def _monotone(model: str, curves: dict[str, Curve]) -> list[Check]:
    """Check 2: robust accuracy never rises above its value at a smaller eps."""
    out = []
    for name, curve in curves.items():
        if len(curve) < 2:
            continue
        rise, low, high = _largest_rise(curve)
        status = _grade(rise, MONOTONE_TOL)
        if status == PASS:
            eps = sorted(curve)
            why = (
                f"{name}: never rises over eps {eps[0]:g}..{eps[-1]:g} "
                f"({_pct(curve[eps[0]])} -> {_pct(curve[eps[-1]])})"
            )
        else:
            why = (
                f"{name}: {_pct(curve[high])} robust at eps {high:g} vs {_pct(curve[low])} at "
                f"eps {low:g} ({_pp(rise)}; WARN <= {_pp(MONOTONE_TOL[1])}): a larger ball "
                "contains the smaller one, so the attack is not converging"
            )
        out.append(Check(MONOTONE, status, model, why))
    return out


def _largest_rise(curve: Curve) -> tuple[float, float, float]:
    """(rise, eps_low, eps_high): the largest accuracy gain from a smaller eps to a larger one."""
    eps = sorted(curve)
    best = (-np.inf, eps[0], eps[0])
    for j in range(1, len(eps)):
        low = min(eps[:j], key=curve.__getitem__)
        best = max(best, (curve[eps[j]] - curve[low], low, eps[j]))
    return best


def _effort(model: str, curves: dict[str, Curve], attacks: Sequence[AttackRecord]) -> list[Check]:
    """Check 4: of two runs of one attack, the one with more steps/restarts is not more robust."""
    out = []
    for a, b in itertools.permutations(attacks, 2):
        effort = _effort_keys(a)
        if a.attack == b.attack and _more_effort(a.params, b.params, effort):
            more = ", ".join(_effort_diff(a.params, b.params, effort))
            hint = f"more effort ({more}) should never help the model"
            out += _compare(model, EFFORT, curves, a.name, b.name, EFFORT_TOL, hint)
    return out


def _more_effort(strong: dict[str, Any], weak: dict[str, Any], effort: Sequence[str]) -> bool:
    """True when ``strong`` has >= every ``effort`` parameter of ``weak``, more of one, and the
    rest of the parameters equal (apart from batch size and seed)."""
    keys = (strong.keys() | weak.keys()) - NOISE_KEYS - set(effort)
    if any(strong.get(k) != weak.get(k) for k in keys):
        return False
    pairs = [(strong[k], weak[k]) for k in effort if k in strong and k in weak]
    return all(s >= w for s, w in pairs) and any(s > w for s, w in pairs)


def _effort_diff(strong: dict[str, Any], weak: dict[str, Any], effort: Sequence[str]) -> list[str]:
    return [f"{k} {weak[k]} -> {strong[k]}" for k in effort if strong.get(k) != weak.get(k)]


def _black_box(
    model: str, curves: dict[str, Curve], attacks: Sequence[AttackRecord]
) -> list[Check]:
    """Check 5: black-box attacks (Square, transfer) never leave less accuracy than the best
    eps-bounded white-box attack of the same norm."""
    out = []
    for bb in _selected(attacks, black_box):
        white = [a.name for a in _selected(attacks, eps_bounded_white_box) if a.norm == bb.norm]
        if not white:
            continue
        best = {
            e: min(curves[w][e] for w in white)
            for e in set.intersection(*(set(curves[w]) for w in white))
        }
        label = "best white-box (" + "/".join(white) + ")"
        hint = "a black-box attack beating gradient attacks points to masked gradients"
        out += _compare(
            model, BLACK_BOX, {**curves, label: best}, label, bb.name, BLACK_BOX_TOL, hint
        )
    return out
