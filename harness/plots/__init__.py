"""Matplotlib figures for the report: ``RunResult`` pieces in, ``Figure`` objects out.

Figures are built on the Agg canvas directly (no ``pyplot``): no global figure registry to leak
into, no backend switch that would disturb an interactive user's session, safe in threads.
Only ``save`` writes to disk.
"""

from harness.plots.canvas import DPI, new_figure, save
from harness.plots.compare import compare_curves, confusion_panels, gradcam_compare
from harness.plots.defences import certified_accuracy, naive_vs_adaptive
from harness.plots.run import (
    attack_confusion,
    attention_shift,
    cdf_points,
    confusion,
    curve_points,
    example_grid,
    gradcam_grid,
    minimal_cdf,
    noise_probe,
    robustness_curve,
)
from harness.plots.weights import esd_panels, weight_histograms

__all__ = [
    "DPI",
    "attack_confusion",
    "attention_shift",
    "cdf_points",
    "certified_accuracy",
    "compare_curves",
    "confusion",
    "confusion_panels",
    "curve_points",
    "esd_panels",
    "example_grid",
    "gradcam_compare",
    "gradcam_grid",
    "minimal_cdf",
    "naive_vs_adaptive",
    "new_figure",
    "noise_probe",
    "robustness_curve",
    "save",
    "weight_histograms",
]
