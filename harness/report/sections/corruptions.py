"""``## Common corruptions``: accuracy under Hendrycks & Dietterich's corruptions, mCE, heatmaps."""

from __future__ import annotations

from harness.corruptions.scales import Scale, named
from harness.plots import corruptions as plots
from harness.reading import interval, pct_ci, table
from harness.report.engine import Figures
from harness.report.files import (
    CORRUPTION_FAMILIES_PNG,
    CORRUPTION_GRADCAM_PNG,
    corruption_heatmap_file,
)
from harness.report.templates import prose
from harness.results import RunResult
from harness.results.corruption import (
    CorruptionCams,
    CorruptionSummary,
    accuracy_grid,
    mean_interval,
    summarize,
    summarize_named,
)
from harness.results.paired import PairedChange, paired_changes

SUMMARY_HEADER = ["model", "clean accuracy", "mean corruption accuracy", "mCE", "relative mCE"]


def applies(result: RunResult) -> bool:
    return bool(result.corruptions)


def reference(result: RunResult) -> str:
    """The model errors are relative to: the baseline (its mCE is 100), else the first model."""
    models = list(dict.fromkeys(r.model for r in result.corruptions))
    return "baseline" if "baseline" in models else models[0]


def summaries(result: RunResult) -> list[CorruptionSummary]:
    clean = {m.role: m.clean_accuracy for m in result.models}
    return summarize(result.corruptions, clean, reference(result))


def markdown(result: RunResult) -> str:
    ref, rows, named = reference(result), result.corruptions, result.corruption_reference
    models = list(dict.fromkeys(r.model for r in rows))
    others = [m for m in models if m != ref]
    changes = {m: {c.corruption: c for c in paired_changes(rows, ref, m)} for m in others}
    return prose(
        "corruptions",
        summary=_summary_table(result),
        per_model=[(m, _grid_table(result, m), corruption_heatmap_file(m)) for m in models],
        change=_change_table(result, ref, others, changes),
        paired=any(changes.values()),
        reference=ref,
        named=named,
        source=rows[0].source,
        scale=parameters(result),
        n=rows[0].n,
        families_image=CORRUPTION_FAMILIES_PNG,
        cams=_cams(result),
        cams_image=CORRUPTION_GRADCAM_PNG,
    )


def parameters(result: RunResult) -> Scale | None:
    """Whose severity parameters generated the sets (None: read from files, or a result from
    before the choice existed)."""
    used = next((r.parameters for r in result.corruptions if r.parameters), "")
    return named(used) if used else None


def _cams(result: RunResult) -> CorruptionCams | None:
    """The corrupted Grad-CAM images, when the run made them beside a Grad-CAM panel."""
    cams = result.corruption_cams
    return cams if cams is not None and cams.cams and result.gradcam is not None else None


def _summary_table(result: RunResult) -> str:
    """One row per model; with a named reference, its mCE and relative mCE against it too."""
    named = result.corruption_reference
    header = SUMMARY_HEADER
    rows = [_summary_row(result, s) for s in summaries(result)]
    if named is not None:
        clean = {m.role: m.clean_accuracy for m in result.models}
        theirs = summarize_named(result.corruptions, clean, named)
        header = [*header, f"mCE vs {named.name}", f"relative mCE vs {named.name}"]
        rows = [
            [*r, _percent(t.mce), _percent(t.relative_mce)]
            for r, t in zip(rows, theirs, strict=True)
        ]
    return table(header, rows)


def _summary_row(result: RunResult, s: CorruptionSummary) -> list[str]:
    return [
        s.model,
        pct_ci(s.clean_accuracy, result.data.n_test),
        interval(mean_interval(result.corruptions, s.model)),
        _percent(s.mce),
        _percent(s.relative_mce),
    ]


def _percent(v: float) -> str:
    return "—" if v != v else f"{v:.1f}"


def _grid_table(result: RunResult, model: str) -> str:
    names, severities, grid = accuracy_grid(result.corruptions, model)
    n = {(r.corruption, r.severity): r.n for r in result.corruptions if r.model == model}
    header = ["corruption", *(f"severity {s}" for s in severities)]
    rows = [
        [c, *(pct_ci(v, n.get((c, s))) for v, s in zip(grid[i], severities, strict=True))]
        for i, c in enumerate(names)
    ]
    return table(header, rows)


def _change_table(
    result: RunResult, ref: str, others: list[str], changes: dict[str, dict[str, PairedChange]]
) -> str:
    """Per corruption: the reference's mean accuracy and each other model's change (points),
    with its paired interval, the images it fixed and broke and McNemar's p when per-image
    results were kept."""
    if not others:
        return ""
    rows_ = result.corruptions
    names = dict.fromkeys(r.corruption for r in rows_ if r.model == ref)
    base = {c: mean_interval(rows_, ref, c) for c in names}
    header = ["corruption", ref, *(f"{m} − {ref}" for m in others)]
    rows = [
        [
            c,
            interval(a),
            *(
                _change(mean_interval(rows_, m, c).value - a.value, changes[m].get(c))
                for m in others
            ),
        ]
        for c, a in base.items()
    ]
    return table(header, rows)


def _change(delta: float, paired: PairedChange | None) -> str:
    if paired is None:
        return "—" if delta != delta else f"{100 * delta:+.1f} pp"
    text = paired.difference.pp_text()
    return f"{text} (+{paired.fixed} / −{paired.broken}, p {_p(paired.p_value)})"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def figures(result: RunResult) -> Figures:
    models = list(dict.fromkeys(r.model for r in result.corruptions))
    out: Figures = {
        corruption_heatmap_file(m): (lambda m=m: plots.heatmap(result.corruptions, m))
        for m in models
    }
    out[CORRUPTION_FAMILIES_PNG] = lambda: plots.families(result.corruptions)
    if (cams := _cams(result)) is not None:
        panel = result.gradcam
        out[CORRUPTION_GRADCAM_PNG] = lambda: plots.corruption_cams(panel, cams)
    return out
