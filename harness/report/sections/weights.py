"""``## Weight analysis (seed 003)``: per layer spectral norms and the ESD's power-law α, the
per-epoch weight histograms and the ESD panels. Moved verbatim from the former
``harness/report.py`` (``section_weights``, ``_weights_table``, ``alpha_reading``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness import plots
from harness.reading import DASH, table
from harness.report.engine import Figures
from harness.report.files import esd_file, weights_file
from harness.results import ModelResult, RunResult


def applies(result: RunResult) -> bool:
    return any(m.weight_analysis is not None for m in result.models)


def markdown(result: RunResult) -> str:
    return section_weights(result.models)


def figures(result: RunResult) -> Figures:
    out: Figures = {}
    for m in result.models:
        wa = m.weight_analysis
        if wa is not None and wa.epochs:
            title = f"{m.role}: weight and bias histograms per epoch"
            out[weights_file(m.role)] = lambda wa=wa, t=title: plots.weight_histograms(wa, t)
        if wa is not None and any(r.get("esd_counts") for r in wa.layers):
            title = f"{m.role}: empirical spectral density per layer"
            out[esd_file(m.role)] = lambda wa=wa, t=title: plots.esd_panels(wa, t)
    return out


WEIGHTS_INTRO = (
    "Per Conv2d / Linear layer. *spectral norm*: the largest singular value of the weight "
    "matrix; for a Conv2d, of the weight reshaped to (out, in·kh·kw), not the operator norm of "
    "the convolution on images (*operator norm*, by power iteration, when given). "
    "*α*: WeightWatcher's power-law exponent (Martin & Mahoney 2019, 2021) of the empirical "
    "spectral density (ESD) of X = WᵀW / N (W with N ≥ M; a Conv2d's kh·kw slices of shape "
    "(out, in) pooled into one ESD), fitted by maximum likelihood on the tail λ ≥ xmin with xmin "
    "minimising the Kolmogorov-Smirnov distance *D* (Clauset et al. 2009); *tail*: eigenvalues "
    "in the tail / all. Rule of thumb: 2 < α < 6 is typical of well-trained layers, α > 6 of "
    "under-trained ones (close to random), α < 2 of very heavy-tailed, possibly over-fitted ones; "
    "a large D means the tail is not much of a power law."
)


def section_weights(models: Sequence[ModelResult]) -> str:
    analysed = [m for m in models if m.weight_analysis is not None]
    if not analysed:
        return ""
    parts = ["## Weight analysis (seed 003)", WEIGHTS_INTRO]
    for m in analysed:
        wa = m.weight_analysis
        assert wa is not None
        parts += [f"### {m.role}", _weights_table(wa.layers), *_fitted_by(wa.layers)]
        if wa.epochs:
            epochs = [e["epoch"] for e in wa.epochs]
            parts.append(
                f"Histograms ({wa.bins} bins) after epochs {', '.join(map(str, epochs))}: "
                f"![{m.role} weight histograms]({weights_file(m.role)})"
            )
        else:
            parts.append("No per-epoch histograms (the model was not trained in this run).")
        if any(r.get("esd_counts") for r in wa.layers):
            parts.append(f"![{m.role} ESD]({esd_file(m.role)})")
    return "\n\n".join(parts)


def _weights_table(rows: Sequence[dict[str, Any]]) -> str:
    with_op = any("operator_norm" in r for r in rows)
    header = ["layer", "shape", "spectral norm", *(["operator norm"] if with_op else [])]
    header += ["α", "xmin", "D", "tail", "reading"]
    out = []
    for r in rows:
        fit = r.get("alpha") is not None
        op = [_g(r.get("operator_norm"))] if with_op else []
        out.append(
            [
                f"`{r['name']}`",
                " × ".join(map(str, r.get("shape", []))),
                _g(r.get("spectral_norm")),
                *op,
                f"{r['alpha']:.2f}" if fit else DASH,
                _g(r.get("xmin")),
                f"{r['D']:.3f}" if fit else DASH,
                f"{r.get('n_tail', 0)} / {r.get('n_evals', 0)}",
                alpha_reading(r.get("alpha")) if fit else r.get("note") or DASH,
            ]
        )
    return table(header, out)


def _fitted_by(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Which implementation fitted α, xmin and D (none in runs older than the ``fit`` field)."""
    fits = sorted({r["fit"] for r in rows if r.get("fit")})
    names = [FIT_NAMES.get(f, f"`{f}`") for f in fits]
    return [f"α, xmin and D fitted by {' and '.join(names)}."] if names else []


FIT_NAMES = {"harness": "the harness (WeightWatcher's method, WeightWatcher not installed)"}


def alpha_reading(alpha: float | None) -> str:
    """WeightWatcher's rule of thumb (the same as ``harness.weights.reading``)."""
    if alpha is None or not math.isfinite(alpha):
        return "no fit"
    if alpha < 2:
        return "very heavy-tailed (possibly over-fitted)"
    if alpha <= 6:
        return "typical of a well-trained layer"
    return "under-trained (close to random)"


def _g(v: float | None) -> str:
    return DASH if v is None else f"{v:.4g}"
