"""``## Weight analysis``: per layer spectral norms and the ESD's power-law α, the
per-epoch weight histograms and the ESD panels; the words are ``templates/weights.md.j2``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from harness import plots
from harness.reading import DASH, table
from harness.report.engine import Figures
from harness.report.files import esd_file, weights_file
from harness.report.templates import prose
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


def section_weights(models: Sequence[ModelResult]) -> str:
    analysed = [m for m in models if m.weight_analysis is not None]
    return prose("weights", models=[_model(m) for m in analysed]) if analysed else ""


def _model(m: ModelResult) -> dict[str, Any]:
    """What the template says about one analysed model."""
    wa = m.weight_analysis
    assert wa is not None
    return {
        "role": m.role,
        "table": _weights_table(wa.layers),
        "cropped": sorted(
            {
                "x".join(map(str, r["operator_norm_input"][1:]))
                for r in wa.layers
                if r.get("operator_norm_input")
            }
        ),
        "fits": sorted({r["fit"] for r in wa.layers if r.get("fit")}),  # none in older runs
        "bins": wa.bins,
        "epochs": [e["epoch"] for e in wa.epochs],
        "histograms": weights_file(m.role),
        "esd": esd_file(m.role) if any(r.get("esd_counts") for r in wa.layers) else "",
    }


def _weights_table(rows: Sequence[dict[str, Any]]) -> str:
    with_op = any("operator_norm" in r for r in rows)
    header = ["layer", "shape", "spectral norm", *(["operator norm"] if with_op else [])]
    header += ["α", "xmin", "D", "tail", "reading"]
    out = []
    for r in rows:
        fit = r.get("alpha") is not None
        op = [_operator_norm(r)] if with_op else []
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


def _operator_norm(row: dict[str, Any]) -> str:
    """The stored norm; "≥" when it was computed on a crop of the layer's input (a lower bound,
    ``harness.weights.bounded_input``)."""
    cut = row.get("operator_norm_input")
    return f"≥ {_g(row.get('operator_norm'))}" if cut else _g(row.get("operator_norm"))


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
