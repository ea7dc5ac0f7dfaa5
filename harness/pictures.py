"""The pictures of a run: example grids, the Grad-CAM panel and the attention shift.

All are made on a few test images (one per class first, ``pick_per_class``) at one eps: the
spec's ``gradcam.eps``, else the middle of its sweep. Their adversarial images are the sweep's
own (``AttackOutcome.images``: exactly those it counted, at no extra cost) where the sweep kept
them for these images at that eps; only an eps outside the sweep is crafted afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from art.estimators.classification import PyTorchClassifier
from torch import nn

from harness.attacks.planned import PlannedAttack
from harness.datasets import Dataset
from harness.explain import attention_shift, cam_layer, gradcam_raw, scaled
from harness.provenance import timed
from harness.results import AttentionRow, ExampleGrid, GradcamPanel
from harness.spec import Spec
from harness.sweep import AttackOutcome

if TYPE_CHECKING:
    from harness.models import Trained

Classifiers = dict[str, PyTorchClassifier]  # model role -> its classifier
Swept = dict[tuple[str, str], AttackOutcome]  # (model role, attack name) -> its sweep's outcome


@dataclass(frozen=True)
class Shown:
    """What the Grad-CAM pictures show: test images ``picks``, perturbed by ``attack``."""

    spec: Spec
    data: Dataset
    attack: PlannedAttack
    picks: list[int]  # indices into the test set
    swept: Swept = field(default_factory=dict)  # the sweeps, with their images of ``picks``


def adversarial(
    swept: Swept,
    role: str,
    planned: PlannedAttack,
    clf: PyTorchClassifier,
    picks: Sequence[int],
    eps: float,
    data: Dataset,
) -> np.ndarray:
    """Adversarial versions of test images ``picks`` against model ``role`` at ``eps``: the
    sweep's own where it kept them (x itself for an image it did not attack: misclassified
    clean), else crafted by ``planned`` (an eps outside the sweep)."""
    o = swept.get((role, planned.name))
    if o is not None and o.images is not None and list(o.kept) == list(picks) and eps in o.eps:
        return o.images[o.eps.index(eps)]
    at = list(picks)
    return planned.craft(clf, data.x_test[at], data.y_test[at], eps, planned.keys(np.array(at)))


def show_eps(spec: Spec) -> float:
    """The eps of the pictures (Grad-CAM, example grids): gradcam.eps, else the middle of the sweep."""
    return spec.gradcam.eps if spec.gradcam.eps is not None else spec.eps[len(spec.eps) // 2]


def examples(
    spec: Spec,
    data: Dataset,
    role: str,
    clf: PyTorchClassifier,
    attacks: Sequence[PlannedAttack],
    picks: list[int],
    swept: Swept | None = None,
) -> list[ExampleGrid]:
    """Clean vs adversarial images of each attack on model ``role``, at the pictures' eps
    (the sweep's images, ``adversarial``)."""
    if not picks:
        return []
    eps, names = show_eps(spec), data.class_names
    x, y = data.x_test[picks], data.y_test[picks]
    clean_pred = clf.predict(x).argmax(1)
    grids = []
    for p in attacks:
        x_adv = adversarial(swept or {}, role, p, clf, picks, eps, data)
        adv_pred = clf.predict(x_adv).argmax(1)
        grids.append(
            ExampleGrid(
                p.name,
                eps,
                role,
                list(picks),
                x,
                x_adv,
                [names[i] for i in y],
                [names[i] for i in clean_pred],
                [names[i] for i in adv_pred],
            )
        )
    return grids


def gradcam_panel(
    shown: Shown, trained: Sequence[Trained], classifiers: Classifiers
) -> GradcamPanel | None:
    """Grad-CAM of every model with a conv layer, on clean and adversarial images (None: none)."""
    spec, data, planned, picks = shown.spec, shown.data, shown.attack, shown.picks
    if not picks:
        return None
    eps = show_eps(spec)
    x, y = data.x_test[picks], data.y_test[picks]
    names = data.class_names
    panel = GradcamPanel(
        eps, planned.name, list(picks), [names[i] for i in y], x, {}, {}, {}, {}, {}
    )
    for t in trained:
        if (found := cam_layer(t.model)) is None:
            continue  # no conv layer (e.g. a user's MLP): nothing for Grad-CAM to look at
        with timed("gradcam", t.role, samples=len(picks)):
            x_adv = adversarial(shown.swept, t.role, planned, classifiers[t.role], picks, eps, data)
            _panel_row(panel, t, classifiers[t.role], found[1], x_adv, names)
    return panel if panel.adversarial else None


def _panel_row(
    panel: GradcamPanel,
    t: Trained,
    clf: PyTorchClassifier,
    layer: nn.Module,
    x_adv: np.ndarray,
    names: Sequence[str],
) -> None:
    """Model ``t``'s adversarial images ``x_adv``, CAMs and predictions, clean and adversarial,
    into ``panel``."""
    x = panel.clean
    panel.adversarial[t.role] = x_adv
    for images, cams, preds in (
        (x, panel.cams_clean, panel.preds_clean),
        (x_adv, panel.cams_adv, panel.preds_adv),
    ):
        pred = clf.predict(images).argmax(1)
        # ``gradcam``'s maps (pytorch-grad-cam's scaling of the raw map), without its backward
        # pass into every parameter: a quarter of its time on a ResNet-18
        cams[t.role] = scaled(gradcam_raw(t.model, images, layer, pred), images.shape[2:])
        preds[t.role] = [names[i] for i in pred]


def attention(
    shown: Shown, trained: Sequence[Trained], classifiers: Classifiers
) -> list[AttentionRow]:
    """Grad-CAM shift per model and eps of the sweep, on the Grad-CAM images."""
    spec, data, planned, picks = shown.spec, shown.data, shown.attack, shown.picks
    if not picks:
        return []
    x = data.x_test[picks]
    rows: list[AttentionRow] = []
    for t in trained:
        if (found := cam_layer(t.model)) is None:
            continue  # no conv layer: nothing for Grad-CAM to look at
        clf = classifiers[t.role]
        with timed("attention", t.role, samples=len(picks)):
            rows += attention_shift(
                t.model, x, found[1], spec.eps,
                lambda e, clf=clf, role=t.role: adversarial(
                    shown.swept, role, planned, clf, picks, e, data
                ),
                model_name=t.role, attack=planned.name,
            )  # fmt: skip
    return rows
