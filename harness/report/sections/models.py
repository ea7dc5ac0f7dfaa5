"""``## Models``: each model's role, architecture, size, how it was obtained, its defence."""

from __future__ import annotations

from harness.reading import DASH, params_text, table
from harness.results import RunResult

HEADER = ["role", "architecture", "parameters", "obtained", "weights", "defence", "Grad-CAM layer"]


def markdown(result: RunResult) -> str:
    rows = [
        (
            m.role,
            f"`{m.arch}`",
            f"{m.n_params:,}",
            m.training or DASH,
            f"`{m.weights}`" if m.weights else DASH,
            params_text(m.defence.to_dict()) if m.defence else DASH,
            f"`{m.gradcam_layer}`" if m.gradcam_layer else DASH,
        )
        for m in result.models
    ]
    return "## Models\n\n" + table(HEADER, rows)
