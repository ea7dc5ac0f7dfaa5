"""Report sections for the Improve phase: the defence comparison, naive vs adaptive attacks on
defences placed in front of the baseline, and randomized smoothing's certificates.

Pure functions of a ``RunResult``; ``harness.report`` puts the sections and figures in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from matplotlib.figure import Figure

from harness import plots
from harness.reading import (
    DASH,
    WORST_CASE,
    attack_names,
    clean_accuracy,
    eps_values,
    index,
    num,
    params_text,
    pct,
    pp,
    roles,
    table,
)
from harness.results import ModelResult, RunResult

NAIVE_PNG = "naive_vs_adaptive.png"
CERTIFIED_PNG = "certified_accuracy.png"


def naive_twins(result: RunResult) -> dict[str, str]:
    """Naive attack name -> the adaptive attack it repeats on the baseline."""
    return {str(a["name"]): str(a["naive_of"]) for a in result.attacks if a.get("naive_of")}


def panels(result: RunResult) -> list[tuple[str, str, str]]:
    """(model, adaptive attack, naive attack) for every model attacked both ways."""
    measured = {(m.model, m.attack) for m in result.measurements}
    return [
        (model, attack, naive)
        for model in roles(result)
        for naive, attack in naive_twins(result).items()
        if (model, naive) in measured and (model, attack) in measured
    ]


def figures(result: RunResult) -> dict[str, Callable[[], Figure]]:
    out: dict[str, Callable[[], Figure]] = {}
    if found := panels(result):
        clean = {r: clean_accuracy(result, r) for r in roles(result)}
        out[NAIVE_PNG] = lambda: plots.naive_vs_adaptive(result.measurements, found, clean)
    if result.certified:
        out[CERTIFIED_PNG] = lambda: plots.certified_accuracy(result.certified)
    return out


def _main_attacks(result: RunResult) -> list[str]:
    """Untargeted attacks of the spec (not the naive twins, not the worst case)."""
    targeted = {str(a["name"]) for a in result.attacks if a.get("params", {}).get("targeted")}
    skip = targeted | set(naive_twins(result)) | {WORST_CASE}
    return [a for a in attack_names(result) if a not in skip]


def training_seconds(m: ModelResult) -> float | None:
    return sum(h.seconds for h in m.history) if m.history else None


def section_defences(result: RunResult) -> str:
    """One row per model: clean accuracy, robust accuracy per attack and eps, certified accuracy,
    training time."""
    if len(result.models) < 2:
        return ""
    idx = index(result.measurements)
    columns = [
        (a, e) for a in _main_attacks(result) for e in eps_values(result.measurements, a) if e > 0
    ]
    radii = sorted({r for c in result.certified for r in c.radii})
    certified = {
        c.model: dict(zip(c.radii, c.certified_accuracy, strict=True)) for c in result.certified
    }
    header = ["model", "defence", "clean accuracy"]
    header += [f"{a} ε={num(e)}" for a, e in columns]
    header += [f"certified r={num(r)}" for r in radii] + ["training time"]
    rows = []
    for m in result.models:
        row = [m.role, _defence_text(m.defence), pct(m.clean_accuracy)]
        row += [pct(idx.get((m.role, a, e, "robust_accuracy"))) for a, e in columns]
        row += [pct(certified.get(m.role, {}).get(r)) for r in radii]
        seconds = training_seconds(m)
        row.append(DASH if seconds is None else f"{seconds:,.1f} s")
        rows.append(row)
    notes = [
        "Robust accuracy over all test samples under each attack (white-box, through the whole "
        "model, including any defence in front of it: BPDA for non-differentiable steps, "
        "EoT for randomized ones)."
    ]
    if radii:
        notes.append(
            "*certified r*: share of the certified test images whose smoothed prediction is "
            "correct and certified at L2 radius ≥ r (abstentions count as wrong)."
        )
    notes.append(
        "*training time*: the defence's own training (the per-epoch table's seconds; a "
        "defence placed in front of the baseline without training of its own shows —)."
    )
    return "\n\n".join(["## Defence comparison", table(header, rows), " ".join(notes)])


def _defence_text(d: dict[str, Any]) -> str:
    if not d:
        return "none (baseline)"
    text = params_text(d.get("params", {}))
    return f"{d['name']} ({text})" if text else str(d["name"])


NAIVE_INTRO = (
    "A defence placed in front of the baseline (a purifier, an input transformation) is "
    "attacked twice. The **naive** attacker does not know it is there: the adversarial "
    "examples are crafted on the undefended baseline, then fed through the defence. The "
    "**adaptive** attacker attacks the whole pipeline: gradients through the autoencoder, "
    "BPDA (identity gradient) through non-differentiable steps. Only the adaptive number "
    "measures the defence; the gap is how much the naive evaluation would overstate it."
)


def section_naive(result: RunResult) -> str:
    found = panels(result)
    if not found:
        return ""
    idx = index(result.measurements)
    rows, verdicts = [], []
    for model, attack, naive in found:
        points = []  # (eps, naive, adaptive, naive - adaptive)
        for e in eps_values(result.measurements, attack):
            if e == 0:
                continue
            a = idx.get((model, attack, e, "robust_accuracy"))
            n = idx.get((model, naive, e, "robust_accuracy"))
            b = idx.get(("baseline", attack, e, "robust_accuracy"))
            gap = None if a is None or n is None else n - a
            rows.append([model, attack, num(e), pct(b), pct(n), pct(a), pp(gap)])
            if gap is not None:
                points.append((e, n, a, gap))
        if points:
            verdicts.append(_verdict(model, attack, points))
    header = [
        "model",
        "attack",
        "ε",
        "baseline (no defence)",
        "naive (crafted on the baseline)",
        "adaptive (through the defence)",
        "naive − adaptive",
    ]
    return "\n\n".join(
        [
            "## Naive vs adaptive attacks",
            NAIVE_INTRO,
            "\n".join(verdicts),
            table(header, rows),
            f"![Naive vs adaptive robust accuracy]({NAIVE_PNG})",
        ]
    )


AGREE = 0.005  # naive and adaptive within half a percentage point: the same number


def _verdict(model: str, attack: str, points: list[tuple[float, float, float, float]]) -> str:
    """The largest overstatement of the naive evaluation, and any eps where the naive attack
    is the stronger one (then the adaptive attack misses the defence, e.g. a poor BPDA)."""
    e, n, a, gap = max(points, key=lambda p: p[3])
    head = f"- **{model}, {attack}**: "
    parts = []
    if gap > AGREE:
        parts.append(
            f"at ε = {num(e)} the naive attack leaves {pct(n)}, the adaptive attack {pct(a)}: "
            f"the naive evaluation overstates the defence by {pp(gap)}."
        )
    e, n, a, gap = min(points, key=lambda p: p[3])
    if gap < -AGREE:
        parts.append(
            f"at ε = {num(e)} the naive attack ({pct(n)}) is stronger than the adaptive one "
            f"({pct(a)}) by {-100 * gap:.2f} pp: the adaptive attack's gradient misses this defence "
            "(BPDA's identity is a poor stand-in for it), so its robust accuracy overstates "
            "robustness; the per-sample worst case over both (`worst_case`) is the honest number."
        )
    return head + (
        " ".join(parts) or f"naive and adaptive agree within {100 * AGREE:g} pp at every ε."
    )


def section_certified(result: RunResult) -> str:
    if not result.certified:
        return ""
    radii = sorted({r for c in result.certified for r in c.radii})
    by_model = {
        c.model: dict(zip(c.radii, c.certified_accuracy, strict=True)) for c in result.certified
    }
    curve_table = table(
        ["L2 radius", *by_model],
        [[num(r), *(pct(v.get(r)) for v in by_model.values())] for r in radii],
    )
    summary = table(
        [
            "model",
            "σ",
            "images",
            "n₀ (select)",
            "n (certify)",
            "α",
            "smoothed accuracy",
            "abstained",
            "median radius",
            "largest certifiable radius",
            "time",
        ],
        [
            [
                c.model,
                num(c.sigma),
                f"{c.n_images:,}",
                f"{c.n_select:,}",
                f"{c.n:,}",
                num(c.alpha),
                pct(c.smoothed_accuracy),
                pct(c.abstain_rate),
                DASH if c.median_radius != c.median_radius else f"{c.median_radius:.3f}",
                DASH if c.max_radius != c.max_radius else f"{c.max_radius:.3f}",
                f"{c.seconds:,.1f} s",
            ]
            for c in result.certified
        ],
    )
    intro = (
        "Randomized smoothing (Cohen et al. 2019, ART's `PyTorchRandomizedSmoothing`): the "
        "smoothed classifier predicts the class the base model outputs most often under "
        "Gaussian noise of std σ; from n noisy samples a Clopper-Pearson lower bound p on that "
        "class's probability (failure probability α) certifies every L2 perturbation of radius "
        "< σ·Φ⁻¹(p). When p < 1/2 it abstains, which counts as wrong. *certified accuracy at r*: "
        "correct and certified at radius ≥ r, over the certified images (a stratified random "
        "subset of the test set, drawn with the run's seed). No certificate exceeds "
        "σ·Φ⁻¹(α^(1/n)), reached when all n noisy samples agree: a radius beyond it certifies "
        "nothing, whatever the model (*largest certifiable radius*; raise n to reach further). "
        "The empirical sweep above attacks the same smoothed classifier (mean softmax over "
        "noise draws, EoT)."
    )
    return "\n\n".join(
        [
            "## Certified robustness (randomized smoothing)",
            intro,
            curve_table,
            summary,
            f"![Certified accuracy vs L2 radius]({CERTIFIED_PNG})",
        ]
    )
