"""``## Confusion matrices``: every entry's clean confusion matrix, in one figure."""

from __future__ import annotations

from matplotlib.figure import Figure

from harness import plots
from harness.reading import class_names, clean_accuracy
from harness.report.engine import Figures
from harness.report.leaderboard import Comparison, entries
from harness.report.templates import prose

CONFUSION_PNG = "confusion.png"


def markdown(c: Comparison) -> str:
    return prose("comparison/confusion", image=CONFUSION_PNG)


def figures(c: Comparison) -> Figures:
    return {CONFUSION_PNG: lambda: confusion_figure(c)}


def confusion_figure(c: Comparison) -> Figure:
    panels = []
    for e in entries(c.runs):
        model = next((m for m in e.run.result.models if m.role == e.role), None)
        if model is not None and model.confusion:
            clean = clean_accuracy(e.run.result, e.role)
            panels.append((f"{e.label}\nclean accuracy {clean:.2%}", model.confusion))
    return plots.confusion_panels(panels, class_names(c.runs[0].result))
