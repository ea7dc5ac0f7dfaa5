"""What the page shows for one image and one model: prediction, Grad-CAM, attack, smallest flip.

Arrays in, arrays out; no Streamlit here. Images are (C, H, W) float32 in [0, 1]. An image has
no true label in the app, so attacks push away from the model's own clean prediction, and "flip"
means the prediction changes (as the single-image evasion table, ``harness.evasion``).

Every function here may run in several Streamlit script threads at once on the same cached
model: each holds the model's lock (``AppModel.exclusive``) for its whole computation.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from harness import metrics
from harness.app.models import AppModel
from harness.app.runs import AppRun
from harness.attacks import ATTACKS
from harness.attacks.planned import PlannedAttack
from harness.attacks.select import interactive, names
from harness.cams import overlay
from harness.corruptions import backend, generate
from harness.corruptions.catalog import ALL
from harness.errors import HarnessError
from harness.estimator import predict_logits
from harness.evasion import eps_grid
from harness.explain import gradcam
from harness.spec import AttackSpec, EvasionSpec, Spec

# harness.attacks seeds numpy's global generator for each attack (PGD's random start): two
# attacks at once, even on two models, would draw from each other's stream. Taken inside a
# model's lock, never the other way round.
SEEDED = threading.Lock()


@dataclass(frozen=True)
class EpsRange:
    """The ε values of the slider, which the smallest-flip search walks too: 0, step, ..., top."""

    step: float  # the run's evasion eps_step (pixel units)
    top: float  # the larger of the run's evasion eps_max and largest sweep eps, at most 1
    default: float  # the run's Grad-CAM eps (else its middle sweep eps), on the step grid

    def grid(self) -> np.ndarray:
        """step, 2 step, ..., top (the smallest-flip search): the evasion grid up to ``top``."""
        return eps_grid(EvasionSpec(eps_max=self.top, eps_step=self.step))


@dataclass(frozen=True)
class Verdict:
    """A model's view of one image."""

    probs: np.ndarray  # (K,) softmax probabilities
    cam: np.ndarray | None  # (H, W) Grad-CAM of the predicted class in [0, 1]; None: no conv layer

    @property
    def pred(self) -> int:
        return int(self.probs.argmax())


def eps_range(spec: Spec) -> EpsRange:
    """A run's ε range: its evasion step, up to its largest ε (evasion or sweep)."""
    step = float(spec.evasion.eps_step)
    top = max(max(spec.eps), spec.evasion.eps_max)
    steps = min(np.ceil(top / step - 1e-9), np.floor(1 / step + 1e-9))  # on the grid, at most 1
    top = round(float(steps) * step, 10)
    default = spec.gradcam.eps if spec.gradcam.eps is not None else spec.eps[len(spec.eps) // 2]
    return EpsRange(step, top, min(top, round(round(default / step) * step, 10)))


def verdict(m: AppModel, x: np.ndarray) -> Verdict:
    """Prediction and Grad-CAM of model ``m`` on one image x (C, H, W)."""
    with m.exclusive() as model:
        probs = metrics.softmax(predict_logits(model, x[None]))[0]
        pred = np.array([probs.argmax()])
        cam = None if m.cam_layer is None else gradcam(model, x[None], m.cam_layer, pred)[0]
    return Verdict(probs, cam)


def attack_choices() -> tuple[str, ...]:
    """The attacks the page offers: those declared cheap enough to rerun at every slider move
    (``harness.attacks.select.interactive``: white-box L-inf within eps; Square needs thousands
    of queries, AutoAttack is an ensemble, C&W/DeepFool are eps-free)."""
    return names(interactive)


def corruption_choices() -> tuple[str, ...]:
    """The common corruptions the page offers before the attack: all 19 with the optional
    extra installed (``harness.corruptions``), none without it."""
    try:
        backend.require()
    except HarnessError:
        return ()
    return ALL


def corrupted(x: np.ndarray, name: str, severity: int, seed: int) -> np.ndarray:
    """x (C, H, W) under corruption ``name`` at ``severity`` (1-5): the run's generator, seeded
    as image 0 of a run with ``seed``, so the same image always gets the same corruption."""
    return generate.corrupt(x[None], name, severity, seed)[0]


def planned_attack(run: AppRun, name: str) -> PlannedAttack:
    """Attack ``name`` with the run's own parameters when the run used it untargeted, else the
    registered defaults (pixel units)."""
    definition = ATTACKS.get(name, "attack")
    for record in run.result.attacks:
        if record.attack == name and not record.targeted and "source" not in record.params:
            return PlannedAttack(definition, dict(record.params), name)
    return PlannedAttack(definition, definition.resolve(AttackSpec(name)), name)


def attack(
    m: AppModel, planned: PlannedAttack, x: np.ndarray, eps: float, label: int
) -> np.ndarray:
    """x (C, H, W) attacked at ``eps`` against model ``m``, away from class ``label`` (the
    model's clean prediction): a new (C, H, W) array in [0, 1]."""
    assert m.classifier is not None, m.reason
    y = np.array([label], dtype=np.int64)
    with m.exclusive(), SEEDED:
        return planned.craft(m.classifier, x[None], y, float(eps))[0]


def predicted(m: AppModel, x: np.ndarray) -> int:
    """The class model ``m`` predicts for one image x (C, H, W)."""
    with m.exclusive() as model:
        return int(predict_logits(model, x[None])[0].argmax())


def cam_overlay(x: np.ndarray, v: Verdict) -> np.ndarray | None:
    """(H, W, 3) RGB in [0, 1]: the Grad-CAM blended over x; None without a CAM."""
    return None if v.cam is None else overlay(x, v.cam)
