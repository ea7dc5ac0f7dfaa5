"""Rebuild a run's models for the app: recorded architecture + recorded weights file.

``rebuild`` is the one place that turns a ``ModelResult`` of a run back into a model; a model
it cannot rebuild (no weights file, an unregistered architecture, weights that do not fit, e.g.
a defence placed in front of the baseline) is listed as unavailable with the one-line reason.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from art.estimators.classification import PyTorchClassifier
from torch import nn

from harness import checkpoints, device, home, zoo
from harness.app.runs import AppRun
from harness.architectures import ARCHITECTURES
from harness.build import ModelRecipe, recipe
from harness.defences import restore
from harness.errors import HarnessError
from harness.estimator import build_classifier
from harness.explain import cam_layer
from harness.models import GIVEN
from harness.results import ModelResult

# What a model's label adds to "role · run name" when that alone is ambiguous (see ``labels``).
LABEL_DETAIL = ("", " ({folder})", " ({path})")


@dataclass(frozen=True)
class AppModel:
    """One model of a run, ready for the page, or the reason it is not."""

    run: AppRun
    role: str
    model: nn.Module | None = None  # [0, 1] pixels in, logits out, eval mode
    classifier: PyTorchClassifier | None = None
    cam_layer: nn.Module | None = None  # the last Conv2d; None: no Grad-CAM for this model
    reason: str = ""  # why ``model`` is None
    # st.cache_resource shares this object across sessions and script threads; a torch module
    # run (backward, Grad-CAM hooks, ART's train(False) and zero_grad) from two threads at once
    # can crash the server, so every computation on ``model`` holds this lock (``exclusive``).
    lock: threading.RLock = field(default_factory=threading.RLock, compare=False, repr=False)

    @property
    def key(self) -> str:
        """Unique among the app's models: run name / run folder / role."""
        return f"{self.run.label}/{self.role}"

    @property
    def available(self) -> bool:
        return self.model is not None

    @contextmanager
    def exclusive(self) -> Iterator[nn.Module]:
        """The model, in eval mode, for this thread alone until the block ends (re-entrant)."""
        assert self.model is not None, self.reason
        with self.lock:
            self.model.eval()  # BatchNorm uses its running statistics and never updates them
            yield self.model


def load_models(run: AppRun) -> list[AppModel]:
    """Every model of ``run``, rebuilt, or with the reason it could not be."""
    out = []
    for m in run.result.models:
        try:
            model = rebuild(run, m).to(device.resolve())  # this machine's best: auto
        except (HarnessError, ValueError, RuntimeError) as exc:  # e.g. a builder that fails
            out.append(AppModel(run, m.role, reason=" ".join(str(exc).split())))
            continue
        clf = build_classifier(model, run.input_shape, len(run.class_names))
        found = cam_layer(model)  # None: no conv layer, no Grad-CAM for this model
        out.append(AppModel(run, m.role, model, clf, found[1] if found else None))
    return out


def rebuild(run: AppRun, m: ModelResult) -> nn.Module:
    """The model ``m`` of ``run`` with its trained weights, in eval mode; ``HarnessError`` if not.

    A hardened model is rebuilt by its defence (``harness.defences.restore``): a trained network,
    or a stage placed in front of the run's baseline, which is rebuilt first. A zoo baseline is
    read again from the zoo's checkpoint the run names (``harness.zoo.load``).
    """
    if m.defence:
        baseline = rebuild(run, run.result.model("baseline"))
        rec = recipe(run.spec.model, m.defence.arch)
        shape, k = run.input_shape, len(run.class_names)
        return restore(
            m.defence,
            lambda: rec.make(shape, k),
            baseline,
            lambda module: _load(module, m),
            shape,
            k,
            run.result.seed,
        )
    if run.spec.model.zoo:  # the zoo's network and the user's checkpoint, as the run read them
        return _zoo_baseline(run)
    if not m.weights:
        if m.training == GIVEN:
            raise HarnessError(
                f"{m.role}: a module given to the Python API, without a builder; pass "
                "builder='file.py:function' to harness.api.benchmark to open it here"
            )
        how = f" ({m.training})" if m.training else ""
        raise HarnessError(f"{m.role}: no weights file recorded{how}")
    model = model_recipe(run, m).make(run.input_shape, len(run.class_names))
    _load(model, m)
    return model.eval()


def _zoo_baseline(run: AppRun) -> nn.Module:
    """The run's zoo model, read again; refused when its checkpoint is not the file the run read
    (the SHA-256 recorded in run.json)."""
    z = zoo.load(run.spec.model, run.input_shape, len(run.class_names))
    recorded = run.result.provenance.get("weights_sha256", {}).get("baseline")
    if recorded and recorded != z.sha256:
        raise HarnessError(
            f"baseline: {z.path} changed since the run (SHA-256 {recorded[:12]}... recorded, "
            f"{z.sha256[:12]}... now)"
        )
    return z.model


def _load(model: nn.Module, m: ModelResult) -> None:
    """``m``'s weights into ``model``. A harness checkpoint holds the wrapped model (normalize.*,
    net.*); a user's, the bare network."""
    if not m.weights:
        raise HarnessError(f"{m.role}: no weights file recorded ({m.training or 'unknown'})")
    checkpoints.load_wrapped(model, weights_path(m.weights), f"{m.role} weights")


def model_recipe(run: AppRun, m: ModelResult) -> ModelRecipe:
    """The recipe the run built ``m`` from: the spec's model, or a registered architecture."""
    base = recipe(run.spec.model)
    if m.arch == base.name:
        return base
    if m.arch not in ARCHITECTURES:
        raise HarnessError(
            f"{m.role}: {m.arch!r} is not a registered architecture; cannot rebuild it"
        )
    return recipe(run.spec.model, m.arch)


def weights_path(recorded: str) -> Path:
    """A recorded weights path; a relative one is tried from here, then from the home
    (``$HARNESS_HOME``)."""
    path = Path(recorded).expanduser()
    if path.is_absolute() or path.is_file():
        return path
    return home.home() / path


def labels(models: Sequence[AppModel]) -> dict[str, AppModel]:
    """Readable, unique names for the page: "role · run name"; the run folder's name is added
    only where two models would share a name, and its whole path where even that does not do."""
    out: dict[str, AppModel] = {}
    for m in models:
        for detail in range(len(LABEL_DETAIL)):
            label = _label(m, detail)
            if sum(_label(o, detail) == label for o in models) == 1:
                break
        out[label] = m  # the same run folder given twice: the same models, one entry
    return out


def _label(m: AppModel, detail: int) -> str:
    run = m.run
    return f"{m.role} · {run.result.name}" + LABEL_DETAIL[detail].format(
        folder=run.path.name, path=run.path
    )
