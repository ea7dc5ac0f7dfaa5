"""Grad-CAM under the corruption that hurts most: where each model looks on a corrupted copy
of the Grad-CAM panel's images, to set beside where it looks on the clean and adversarial ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from art.estimators.classification import PyTorchClassifier

from harness.corruptions import generate
from harness.corruptions.scales import AUTO
from harness.explain import cam_layer, gradcam
from harness.provenance import timed
from harness.results import GradcamPanel
from harness.results.corruption import CorruptionAccuracy, CorruptionCams, worst_corruption

if TYPE_CHECKING:
    from harness.models import Trained


def corruption_cams(
    panel: GradcamPanel | None,
    rows: Sequence[CorruptionAccuracy],
    trained: Sequence[Trained],
    classifiers: dict[str, PyTorchClassifier],
    class_names: Sequence[str],
    seed: int,
) -> CorruptionCams | None:
    """Each panel model's CAM on the panel's images under the worst corruption (None without a
    panel or corruption results). The images are corrupted as the evaluation corrupted them:
    image ``i`` of the test set with its own seed (``generate.corrupt`` on index ``i``) and the
    parameters the rows record (sets read from files: ``auto``'s, by the image side)."""
    worst = worst_corruption(rows)
    if panel is None or worst is None:
        return None
    name, severity = worst
    parameters = next((r.parameters for r in rows if r.parameters), AUTO)
    images = generate.corrupt(panel.clean, name, severity, seed, panel.indices, parameters)
    out = CorruptionCams(name, severity, list(panel.indices), images)
    for t in trained:
        if t.role not in panel.cams_clean or (found := cam_layer(t.model)) is None:
            continue
        with timed("corruption_gradcam", t.role, samples=len(images)):
            pred = classifiers[t.role].predict(images).argmax(1)
            out.cams[t.role] = gradcam(t.model, images, found[1], pred)
        out.preds[t.role] = [class_names[i] for i in pred]
    return out
